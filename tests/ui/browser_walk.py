"""Helpers for the browser walk (``test_browser.py``): waiting for the app to settle, whole-page
screenshots at both projector sizes, what the URL, the sidebar and the page say about the session's
model, what a chart or a control looks like on screen, and the files a user would upload."""
from __future__ import annotations

import io
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
from PIL import Image

from explorer.data import write_idx

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
PROJECTOR = {"width": 1024, "height": 768}   # the walk runs at this size
WIDE = {"width": 1280, "height": 720}        # every picture is also taken at this one
EXCEPTION = '[data-testid="stException"]'
MAIN, SIDEBAR = '[data-testid="stMain"]', '[data-testid="stSidebar"]'
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


# --- waiting and looking ----------------------------------------------------------------------

def settle(page, timeout: float = 60) -> None:
    """Wait until the script is not running, no element is stale and every chart and image is drawn,
    twice in a row 0.3 s apart (a rerun can start right after the first one ends)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached",
                           timeout=timeout * 1000)
    quiet = """() => document.querySelectorAll('[data-stale="true"]').length === 0
        && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))
        && [...document.images].every(image => image.complete)"""
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 2:
        assert time.monotonic() < deadline, "the app never settled"
        calm = 0 if running(page) or not page.evaluate(quiet) else calm + 1
        time.sleep(0.3)


def running(page) -> bool:
    return page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state") != "notRunning"


def check(page, name: str, wide: bool = False) -> None:
    """Settle, take the pictures (at 1280x720 too when ``wide``), and fail on any exception the page shows."""
    settle(page)
    print(f"{time.strftime('%H:%M:%S')} {name}: settled")
    shoot(page, name, wide)
    errors = page.locator(EXCEPTION)
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()[:500]}"


def shoot(page, name: str, wide: bool = False) -> None:
    """The whole page at 1024x768 (``<name>.png``), and when ``wide`` at 1280x720 (``<name>-1280.png``).
    The main area scrolls inside its own container, so the window is made as tall as its content for
    each picture, then put back to the projector's size."""
    for size, suffix in ((PROJECTOR, ""), (WIDE, "-1280"))[:2 if wide else 1]:
        page.set_viewport_size(size)
        time.sleep(0.2)  # let the layout and the charts take the new width
        height = page.evaluate(f"document.querySelector('{MAIN}').scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 6000))})
        time.sleep(0.3)
        page.screenshot(path=str(SHOTS / f"{name}{suffix}.png"))
    page.set_viewport_size(PROJECTOR)
    time.sleep(0.4)  # charts redraw at the old width before anything is clicked


def main_text(page) -> str:
    return page.locator(MAIN).inner_text()


def sidebar_text(page) -> str:
    return page.locator(SIDEBAR).inner_text()


def title(page) -> str:
    return page.locator(f"{MAIN} h1").first.inner_text()


def stays_idle(page, seconds: float) -> bool:
    """Whether no script run (of the app or a fragment) starts within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if running(page):
            return False
        time.sleep(0.05)
    return True


# --- the session's model, as each place names it ------------------------------------------------

@dataclass(frozen=True)
class Named:
    dataset: str | None
    variant: str | None
    code: str | None   # None: no model loaded


def in_url(page) -> Named:
    params = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    return Named(params.get("dataset"), params.get("variant"), params.get("code"))


def in_sidebar(page) -> Named:
    """The Dataset box's value and the model summary under it ("Model: vae · code 16", or "No `vae`
    model is loaded for …")."""
    dataset = page.locator(f'{SIDEBAR} [data-testid="stSelectbox"] input').first.input_value()
    text = sidebar_text(page)
    loaded = re.search(r"Model: (\S+) · code (\d+)", text)
    if loaded:
        return Named(dataset, loaded[1], loaded[2])
    empty = re.search(r"No (\S+) model is loaded for (\S+):", text)
    assert empty, f"the sidebar names no model: {text[-400:]}"
    assert empty[2] == dataset, (empty[2], dataset)
    return Named(dataset, empty[1], None)


def assert_named_alike(page, expected: Named) -> None:
    """The URL and the sidebar both name ``expected``."""
    assert in_url(page) == expected, (in_url(page), expected, page.url)
    assert in_sidebar(page) == expected, (in_sidebar(page), expected)


# --- charts and controls -------------------------------------------------------------------------

CHARTS = r"""() => {
    const hits = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    const boxes = (root, selector) => [...root.querySelectorAll(selector)]
        .filter(e => e.textContent.trim()).map(e => e.getBoundingClientRect());
    return [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]')]
        .filter(c => c.offsetParent !== null).map(c => {
            const frame = c.getBoundingClientRect();
            const axisTitles = [...c.querySelectorAll('g')].filter(g => /^g-[xy]\d*title$/.test(g.getAttribute('class')));
            const legend = boxes(c, '.legend .legendtext');
            const axisText = boxes(c, '.xtick text, .ytick text').concat(axisTitles.map(g => g.getBoundingClientRect()));
            const notes = boxes(c, '.annotation-text');
            const barText = boxes(c, '.bartext, .textpoint text');
            return {
                title: [...c.querySelectorAll('.gtitle, .annotation-text')].map(t => t.textContent.trim()).join(' | '),
                axes: axisTitles.filter(g => g.textContent.trim()).length,
                xTitle: axisTitles.map(g => g.textContent.trim()).find(Boolean) || '',
                scrolls: [...c.querySelectorAll('.legend rect.scrollbar')].some(r => +r.getAttribute('height') > 0),
                legendOnAxis: legend.some(a => axisText.some(b => hits(a, b))),
                noteOnBar: notes.some(a => barText.some(b => hits(a, b))),
                titleCut: boxes(c, '.gtitle').some(t => t.left < frame.left - 1 || t.right > frame.right + 1),
                width: Math.round(frame.width)};
        });
}"""


def charts(page) -> list[dict]:
    """Each visible chart of the page body: its titles (chart and subplots), how many axis titles (every
    subplot's: ``g-xtitle``, ``g-x2title``, …), whether its legend scrolls or covers axis labels, whether
    an annotation covers a bar's label, and whether its title runs past the chart's edge (plotly cuts it)."""
    return page.evaluate(CHARTS)


def overflowing(page) -> list[str]:
    """Texts of the visible controls of the page body whose right edge is past the window's. A slider's
    range input sits in a visually hidden 1 px box (react-aria) and starts at the thumb, so at the slider's
    far right it reaches past the window unseen: such inputs are left out."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] button, '
        + '[data-testid="stMain"] input, [data-testid="stMain"] [data-baseweb="select"]')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0
                     && e.parentElement.getBoundingClientRect().width > 1
                     && e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => (e.innerText || e.getAttribute('aria-label') || e.tagName).slice(0, 40))""")


def truncated(page) -> list[str]:
    """Texts of the page body cut short with an ellipsis (a label too wide for its column)."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] *')]
        .filter(e => e.offsetParent !== null && e.textContent.trim() && e.scrollWidth > e.clientWidth + 1
                     && getComputedStyle(e).textOverflow === 'ellipsis')
        .map(e => e.textContent.trim().slice(0, 60))""")


def at_size(page, size: dict, look):
    """``look(page)`` with the window at ``size``; the window is then put back to the projector's size."""
    page.set_viewport_size(size)
    time.sleep(0.6)  # the layout and the charts take the new width
    try:
        return look(page)
    finally:
        page.set_viewport_size(PROJECTOR)
        time.sleep(0.4)


# --- files a user uploads --------------------------------------------------------------------------

def three_digit_classes(n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """``n`` of scikit-learn's 8x8 digits of the classes 0, 1 and 2, as floats in [0, 1], and their labels."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    keep = np.flatnonzero(digits.target < 3)[:n]
    return (digits.images[keep] / 16.0).astype(np.float32), digits.target[keep]


def write_npz(folder: Path, x: np.ndarray, y: np.ndarray) -> list[Path]:
    path = folder / "digits-012.npz"
    np.savez(path, x=x, y=y)
    return [path]


def write_image_zip(folder: Path, x: np.ndarray, y: np.ndarray) -> list[Path]:
    """PNG images under one folder per class, zipped."""
    path = folder / "digits-012.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i, (image, label) in enumerate(zip(x, y)):
            png = io.BytesIO()
            Image.fromarray((image * 255).round().astype(np.uint8)).save(png, format="PNG")
            archive.writestr(f"digits/{label}/{i:03d}.png", png.getvalue())
    return [path]


def write_idx_pair(folder: Path, x: np.ndarray, y: np.ndarray) -> list[Path]:
    """The images and labels under their official names (no extension to go by)."""
    images, labels = (folder / name for name in IDX_NAMES)
    write_idx(images, (x * 255).round().astype(np.uint8))
    write_idx(labels, y.astype(np.uint8))
    return [images, labels]
