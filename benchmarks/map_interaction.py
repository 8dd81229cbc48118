"""Issue 16 item 3: the Latent page's three maps with every Fashion-MNIST test image (10,000 points, WebGL),
hovered, selected and switched, on the shipped ``vae`` (16-D codes, so its code map can be PCA or UMAP).

- On the server, through AppTest (the script's rerun, as :mod:`benchmarks.interaction` times it): a
  selection written into the indices box (what a chart selection's callback does, then the rerun that
  rings it on all three maps), the code map PCA <-> UMAP and the points 2,000 <-> 10,000, each once
  fitted (the fits are untimed: once per server); a rerun that changes nothing as the floor.
- In the browser (Playwright, headless Chromium on this machine): hovering has no server rerun (the
  image comes from the sprite in the page, :mod:`explorer.ui.hover`), so it is timed there, from the
  page's mouse event to the frame after the hover image was drawn, and from Playwright's move to its
  poll seeing it; a lasso selection (from the mouse released to the same new rings drawn on all three
  maps) and the PCA <-> UMAP switch (from the click to the new map drawn), each with the script idle, on
  the page's clock, with the websocket bytes each one brought. Chromium here
  draws WebGL in software (no GPU), on the same 2 cores as the server.

``python -m benchmarks.map_interaction`` runs it alone; ``python -m benchmarks`` adds its rows to
section 3 (``--quick`` skips it).
"""
from __future__ import annotations

import functools
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Row, Sizes, percentiles

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "explorer/ui/pages/latent.py"
SECTION = "3 latency"
DATASET, VARIANT, CODE, POINTS = "fashion-mnist", "vae", 16, 10_000
REPEATS = 12        # timed reruns per server-side interaction
HOVERS = 30
BROWSER_REPEATS = 8  # lasso selections and switches in the browser
SELECTED = 200      # test images in a selection written into the box
LASSO_HALF = 30     # px: a lasso is a square twice this wide around a point, inside the plot area


def _query(points: int = POINTS) -> dict[str, str]:
    return {"dataset": DATASET, "variant": VARIANT, "code": str(CODE), "points": str(points)}


def server_reruns(repeats: int = REPEATS) -> dict:
    """p50 / p95 of each interaction's AppTest rerun at 10,000 points, and what the page sends per rerun."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=1800)
    at.query_params.update(_query())
    at.run()
    started = time.perf_counter()
    _run(at.switch_page(PAGE))
    out = {"first_load_s": time.perf_counter() - started}
    radio, points = (lambda: at.radio(key="latent.code_method")), (lambda: at.select_slider(key="latent.n_points"))
    started = time.perf_counter()
    for change in (lambda: radio().set_value("umap"), lambda: points().set_value(2000),
                   lambda: radio().set_value("pca"), lambda: points().set_value(POINTS)):
        change()
        _run(at)  # every map of both kinds and both sizes fitted once, untimed beyond this
    out["fits_s"] = time.perf_counter() - started
    rng = np.random.default_rng(0)
    selections = [", ".join(map(str, rng.choice(POINTS, SELECTED, replace=False))) for _ in range(repeats)]
    steps = {
        "rerun, nothing changed": lambda i: None,
        f"select {SELECTED} images (box written, rings drawn on all three maps)":
            lambda i: at.text_input(key="latent.indices").input(selections[i]),
        "switch the code map PCA <-> UMAP": lambda i: radio().set_value(("umap", "pca")[i % 2]),
        "switch the points 10,000 <-> 2,000": lambda i: points().set_value((2000, POINTS)[i % 2]),
    }
    for name, act in steps.items():
        times = []
        for i in range(repeats + repeats % 2):  # switches end where they began: 10,000 points, PCA
            act(i)
            started = time.perf_counter()
            _run(at)
            times.append(time.perf_counter() - started)
        out[name] = percentiles(times)
    out["spec_bytes"] = [len(chart.proto.spec) for chart in at.get("plotly_chart")]
    out["component_bytes"] = sum(len(c.proto.json) + len(c.proto.js_content) for c in at.get("bidi_component"))
    return out


def _run(at) -> None:
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value[:150])


def browser_figures(hovers: int = HOVERS, repeats: int = BROWSER_REPEATS) -> dict:
    """Hover, lasso and switch timed in headless Chromium on a server of its own."""
    from playwright.sync_api import sync_playwright

    from benchmarks import map_hover
    from benchmarks.coldstart import CHROMIUM, CHROMIUM_ARGS, _free_port, stop
    from benchmarks.firstuse import _server, settle
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log, sync_playwright() as playwright:
        server = _server(port, log)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
            received: list[int] = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/latent?" + "&".join(f"{k}={v}" for k, v in _query().items()))
            out = {"first_load_s": settle(page, started, "Latent space", 1800)[0], "first_load_bytes": sum(received)}
            out.update(_hovers(page, hovers))
            centres = map_hover.map_points(page, n=math.ceil(repeats / 3), margin=LASSO_HALF + 10)
            out["lasso"] = _timed(page, received, repeats, lambda i: (
                functools.partial(_lasso, page, centres[i % 3]["points"][i // 3]), map_hover.rings_changed_js(),
                json.dumps(map_hover.ringed(page)[0], separators=(",", ":"))))
            radio = page.locator('[data-testid="stMain"]').get_by_role("radiogroup")
            methods = ("UMAP", "PCA")

            def switch(i: int) -> tuple:
                return (radio.get_by_text(methods[i % 2], exact=True).click, map_hover.first_title_js(),
                        f"{methods[i % 2]} of the codes")
            _timed(page, received, 2, switch)  # the UMAP map of the codes fitted, untimed
            out["switch"] = _timed(page, received, repeats, switch)
            return out
        finally:
            browser.close()
            stop(server, None)


def _hovers(page, hovers: int) -> dict:
    """``hovers`` points hovered, taking the three maps in turn: latency on the page's clock and Playwright's."""
    from benchmarks import map_hover
    charts = map_hover.map_points(page, n=math.ceil(hovers / 3))
    seen = [map_hover.hover(page, *charts[i % 3]["points"][i // 3][:2]) for i in range(hovers)]
    return {"counts": [c["count"] for c in charts], "hover_ms": percentiles([s["ms"] / 1e3 for s in seen]),
            "hover_wall_ms": percentiles([s["wall_ms"] / 1e3 for s in seen]),
            "hover_right": sum(s["index"] == s["plotly"] for s in seen)}


def _timed(page, received: list[int], repeats: int, interaction) -> dict:
    """p50 / p95 on the page's clock (:func:`benchmarks.map_hover.time_action`) of ``interaction(i)``:
    (the action, ending in a click or the mouse released; JS that says it is drawn; its argument), and
    the median websocket bytes each brought."""
    from benchmarks import map_hover
    times, sizes = [], []
    for i in range(repeats):
        act, done_js, arg = interaction(i)
        before = sum(received)
        times.append(map_hover.time_action(page, act, done_js, arg) / 1e3)
        time.sleep(0.5)  # what is still arriving counts for this action's bytes
        sizes.append(sum(received) - before)
    return {**percentiles(times), "bytes": float(np.median(sizes))}


def _lasso(page, point: list[float], half: float = LASSO_HALF) -> None:
    """A square lasso of 2 * ``half`` px drawn around a point (the maps' drag mode is the lasso), from its
    lower left corner: a press at the top of a chart can land on plotly's toolbar."""
    x, y = point[0], point[1]
    page.mouse.move(x - half, y + half)
    page.mouse.down()
    for u, v in ((x + half, y + half), (x + half, y - half), (x - half, y - half), (x - half, y + half)):
        page.mouse.move(u, v, steps=4)
    page.mouse.up()


def rows(sizes: Sizes, results: dict) -> list[Row]:
    if sizes.quick:
        return [Row(SECTION, f"{DATASET} {VARIANT}-{CODE} maps of {POINTS:,} points: hover, select, switch",
                    "skipped (--quick)")]
    found = {"server": server_reruns(), "browser": browser_figures()}
    results["map_interaction"] = found
    return describe(found)


def describe(found: dict) -> list[Row]:
    server, browser = found["server"], found["browser"]
    name = f"{DATASET} {VARIANT}-{CODE} maps of {POINTS:,} points"
    out = [Row(SECTION, f"{name}: hover (browser only, no rerun)",
               f"p50 {browser['hover_ms']['p50_ms']:.0f} ms, p95 {browser['hover_ms']['p95_ms']:.0f} ms",
               f"page's mouse event to the frame after the image was drawn, {browser['hover_ms']['calls']} hovers, "
               f"{browser['hover_right']} showed the point plotly hovers; Playwright move to its poll seeing it "
               f"p50 {browser['hover_wall_ms']['p50_ms']:.0f} / p95 {browser['hover_wall_ms']['p95_ms']:.0f} ms",
               browser)]
    for what, stats in server.items():
        if isinstance(stats, dict):
            out.append(Row(SECTION, f"{name}: {what} (AppTest rerun)",
                           f"p50 {stats['p50_ms']:.0f} ms, p95 {stats['p95_ms']:.0f} ms",
                           f"{stats['calls']} reruns; first load {server['first_load_s']:.1f} s, fits "
                           f"{server['fits_s']:.1f} s; figures {', '.join(f'{b / 1e3:.0f}' for b in server['spec_bytes'])}"
                           f" kB, hover data {server['component_bytes'] / 1e6:.2f} MB", stats))
    for what, key in (("lasso select on a map", "lasso"), ("code map PCA <-> UMAP", "switch")):
        stats = browser[key]
        out.append(Row(SECTION, f"{name}: {what} (browser, to the page idle)",
                       f"p50 {stats['p50_ms']:.0f} ms, p95 {stats['p95_ms']:.0f} ms",
                       f"{stats['calls']} times; median {stats['bytes'] / 1e3:.0f} kB over the websocket; first "
                       f"load {browser['first_load_s']:.1f} s, {browser['first_load_bytes'] / 1e6:.1f} MB", stats))
    return out


def main() -> None:
    """``python -m benchmarks.map_interaction``: the rows, then every number as JSON."""
    import json
    found = {"server": server_reruns(), "browser": browser_figures()}
    for row in describe(found):
        print(f"[{row.section}] {row.name}: {row.value}  ({row.detail})", flush=True)
    print(json.dumps(found, default=str))


if __name__ == "__main__":
    main()
