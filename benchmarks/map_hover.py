"""The Latent page's maps in a browser (Playwright): where a map's points are on screen, hovering one and
reading the hover image the page shows (:mod:`explorer.ui.hover`), and the rings of a selection. Shared
by the hover benchmark (:mod:`benchmarks.map_interaction`) and the browser test
(``tests/ui/test_map_hover_browser.py``)."""
from __future__ import annotations

import base64
import io
import time

import numpy as np

from explorer.ui.hover import MAP_META

TIP = '[data-testid="map-hover-image"]'

# Per map chart (page order): its title, its point count and the ``n`` of its points that stand furthest
# apart on screen (among ~500 spread over it, at least ``margin`` px inside the plot area): window x, y,
# test index and the px to the nearest other point.
POINTS_JS = r"""([meta, n, margin]) => {
    const maps = [...document.querySelectorAll('.js-plotly-plot')].filter(c => c.layout && c.layout.meta === meta);
    return maps.map(chart => {
        chart.scrollIntoView({block: 'center'});
        const box = chart.getBoundingClientRect(), xa = chart._fullLayout.xaxis, ya = chart._fullLayout.yaxis;
        const all = [];
        for (const trace of chart._fullData) {
            if (!trace.customdata || trace.name === 'selected') continue;
            for (let i = 0; i < trace.x.length; i++) {
                all.push([box.left + xa._offset + xa.l2p(trace.x[i]), box.top + ya._offset + ya.l2p(trace.y[i]),
                          Number(trace.customdata[i])]);
            }
        }
        const inside = ([x, y]) => x > box.left + xa._offset + margin && x < box.left + xa._offset + xa._length - margin
            && y > box.top + ya._offset + margin && y < box.top + ya._offset + ya._length - margin;
        const candidates = [];
        for (let i = 0; i < all.length; i += Math.max(1, Math.floor(all.length / 500))) {
            if (!inside(all[i])) continue;
            const [x, y] = all[i];
            let nearest = Infinity;
            all.forEach(([u, v], j) => { if (j !== i) nearest = Math.min(nearest, (u - x) ** 2 + (v - y) ** 2); });
            candidates.push([Math.sqrt(nearest), all[i]]);
        }
        candidates.sort((a, b) => b[0] - a[0]);
        const apart = candidates.slice(0, n).map(([gap, point]) => [...point, gap]);
        return {title: chart.layout.title.text || '', points: apart, count: all.length};
    });
}"""

# What the hover box shows, and when: the index and class it names, the point plotly hovers, the box, and
# performance.now() of the mouse move that led to it and of the frame after it was drawn.
TIP_JS = r"""(sel) => {
    const tip = document.querySelector(sel), state = window.__explorerHover || {};
    if (!tip || tip.style.display === 'none' || !tip.dataset.index) return null;
    const r = tip.getBoundingClientRect(), canvas = tip.querySelector('canvas');
    const hovered = [...document.querySelectorAll('.js-plotly-plot')]
        .map(c => c._hoverdata && c._hoverdata[0] && c._hoverdata[0].customdata).find(v => v !== undefined);
    return {index: Number(tip.dataset.index), label: tip.dataset.label, plotly: hovered === undefined ? null : Number(hovered), left: r.left, top: r.top, right: r.right,
            bottom: r.bottom, image: canvas.toDataURL('image/png'), imageSide: canvas.width,
            painted: state.paintedAt || 0, moved: window.__mapMoveAt || 0};
}"""

MOVE_CLOCK_JS = """() => { if (!window.__mapMoveClock) { window.__mapMoveClock = true;
    document.addEventListener('mousemove', () => { window.__mapMoveAt = performance.now(); }, true); } }"""


def map_points(page, n: int = 5, margin: float = 8.0) -> list[dict]:
    page.wait_for_function(f"() => [...document.querySelectorAll('.js-plotly-plot')].filter(c => c.layout "
                           f"&& c.layout.meta === '{MAP_META}').length === 3")
    return page.evaluate(POINTS_JS, [MAP_META, n, margin])


def hover(page, x: float, y: float, timeout_s: float = 10.0) -> dict:
    """Move the pointer off the maps, then onto (x, y); wait for the hover box to name the point under
    the pointer. Returns what :data:`TIP_JS` reads, with ``wall_ms``: from the move sent to the box seen
    by Playwright's poll, and ``ms``: from the page's mouse event to the frame after the box was drawn."""
    page.evaluate(MOVE_CLOCK_JS)
    page.mouse.move(2, 2)
    page.wait_for_function(f"() => !document.querySelector('{TIP}') || "
                           f"document.querySelector('{TIP}').style.display === 'none'")
    page.evaluate("() => { if (window.__explorerHover) window.__explorerHover.paintedAt = 0; }")
    started = time.perf_counter()
    page.mouse.move(x, y)
    deadline = started + timeout_s
    while True:
        seen = page.evaluate(TIP_JS, TIP)
        if seen is not None and seen["painted"] > 0:
            break
        if time.perf_counter() > deadline:
            raise AssertionError(f"no hover image at ({x:.0f}, {y:.0f})")
        page.wait_for_timeout(2)
    seen["wall_ms"] = (time.perf_counter() - started) * 1e3
    seen["ms"] = seen["painted"] - seen["moved"]
    return seen


def shown_image(seen: dict, side: int) -> np.ndarray:
    """The hover box's canvas as (side, side) grey floats in [0, 1], shrunk back to the image's pixels."""
    from PIL import Image
    picture = Image.open(io.BytesIO(base64.b64decode(seen["image"].split(",", 1)[1]))).convert("L")
    scale = picture.width // side
    return np.asarray(picture, np.float32)[scale // 2::scale, scale // 2::scale][:side, :side] / 255


RINGED_JS = """(meta) => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(c => c.layout && c.layout.meta === meta)
    .map(c => { const t = (c._fullData || []).find(t => t.name === 'selected');
                return t ? [...t.customdata].map(Number) : []; })"""


def ringed(page) -> list[list[int]]:
    """Per map chart, the test indices of its "selected" trace (none: [])."""
    return page.evaluate(RINGED_JS, MAP_META)


# The page's own clock for an action: performance.now() of the last mouse release or click, and of the
# first animation frame on which ``done(arg)`` holds with the script idle (window.__mapDoneAt).
ACTION_CLOCK_JS = """() => { if (!window.__mapActClock) { window.__mapActClock = true;
    for (const kind of ['mouseup', 'click']) {
        document.addEventListener(kind, () => { window.__mapActAt = performance.now(); }, true); } }
    window.__mapDoneAt = 0; }"""
IDLE_JS = "document.querySelector('[data-testid=\"stApp\"]').dataset.testScriptState === 'notRunning'"


def time_action(page, act, done_js: str, arg, timeout_s: float = 180.0) -> float:
    """ms, on the page's clock, from the mouse release or click that ``act()`` ends with to the first frame
    where ``done_js`` (a JS function of ``arg``) holds and the script is idle."""
    page.evaluate(ACTION_CLOCK_JS)
    act()
    page.wait_for_function(f"""(arg) => {{ const done = ({done_js})(arg) && {IDLE_JS};
        if (done && !window.__mapDoneAt) window.__mapDoneAt = performance.now(); return done; }}""",
                           arg=arg, polling="raf", timeout=timeout_s * 1e3)
    return page.evaluate("window.__mapDoneAt - window.__mapActAt")


def rings_changed_js() -> str:
    """``done_js`` for a selection: the same non-empty rings on every map, not the ones of ``arg`` (JSON)."""
    return f"""(before) => {{ const rings = ({RINGED_JS})('{MAP_META}');
        return rings.length > 0 && rings[0].length > 0 && JSON.stringify(rings[0]) !== before
            && rings.every(r => JSON.stringify(r) === JSON.stringify(rings[0])); }}"""


def first_title_js() -> str:
    """``done_js`` for a switch: the first map's title holds ``arg``."""
    return f"""(text) => {{ const chart = [...document.querySelectorAll('.js-plotly-plot')]
        .find(c => c.layout && c.layout.meta === '{MAP_META}');
        return !!chart && (chart.layout.title.text || '').includes(text); }}"""
