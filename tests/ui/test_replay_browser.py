"""Replay and step mode in the browser (issue 16, acceptance 2): the shipped digits deep_ae-2's replay
slider moved across epochs changes the map and the epoch's error on screen; step mode clicked a few times
changes the map and the batch counter. Pictured at 1024x768 and 1440x900 in ``screenshots/replay-*.png``
and ``screenshots/step-*.png``. Slow-marked: tests/ui/test_replay_page.py checks the same in AppTest."""
from __future__ import annotations

import re

import pytest

from tests.ui.browser_walk import MAIN, PROJECTOR, SHOTS, settle
from tests.ui.test_browser import browser, server  # noqa: F401  (the fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDE = {"width": 1440, "height": 900}
# Each drawn map: its title and its first trace's first x positions (what moves when the map changes).
MAPS = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(p => ({
    title: ((p.layout.title && p.layout.title.text) || '').replace(/<[^>]+>/g, ''),
    x: Array.from(p._fullData[0].x).slice(0, 20)}))"""


@pytest.fixture(scope="module")
def page(browser, server):  # noqa: F811  (test_browser's fixtures: a missing chromium skips before a server starts)
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{server}/model?dataset=digits&variant=deep_ae&code=2")
    settle(page)
    yield page
    context.close()


def drawn_map(page, title: str) -> dict:
    """The one drawn map whose title starts with ``title``."""
    found = [m for m in page.evaluate(MAPS) if m["title"].startswith(title)]
    assert len(found) == 1, page.evaluate(MAPS)
    return found[0]


def picture(page, name: str, locator) -> None:
    """The window scrolled to put ``locator`` at its top, at 1024x768 and at 1440x900, as a class sees it."""
    for size, suffix in ((PROJECTOR, ""), (WIDE, "-1440")):
        page.set_viewport_size(size)
        page.wait_for_timeout(600)
        locator.evaluate("e => e.scrollIntoView({block: 'start'})")
        settle(page)
        page.screenshot(path=str(SHOTS / f"{name}{suffix}.png"))
    page.set_viewport_size(PROJECTOR)
    page.wait_for_timeout(400)


def test_the_replay_slider_changes_the_map(page):
    last = drawn_map(page, "Epoch ")  # the epoch whose weights the model kept
    total = re.match(r"Epoch (\d+) of (\d+) · test error \d+\.\d\d<br>the weights kept$", last["title"]).group(2)
    thumb = page.locator(f'{MAIN} [data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    thumb.press("Home")
    settle(page)
    first = drawn_map(page, "Epoch ")
    assert first["title"].startswith(f"Epoch 0 of {total}") and first["title"].endswith("before training")
    assert first["x"] != last["x"]
    for _ in range(5):
        thumb.press("ArrowRight")
    settle(page)
    fifth = drawn_map(page, "Epoch ")
    assert fifth["title"].startswith(f"Epoch 5 of {total}") and fifth["x"] not in (first["x"], last["x"])
    assert re.search(rf"Epoch \(of {total}\)\s+5\s+Test error\s+\d+\.\d\d", page.locator(MAIN).inner_text())
    picture(page, "replay-epoch-5", page.locator(MAIN).get_by_text("How the map organised itself", exact=False))


def test_step_mode_changes_the_map_and_the_batch_counter(page):
    page.get_by_role("tab", name="Step through training", exact=True).click()
    page.locator(MAIN).get_by_role("button", name="Start step mode", exact=True).click()
    settle(page)
    status = page.locator(f'{MAIN} h4').filter(has_text=re.compile(r"^Epoch \d+ · batch"))
    assert re.match(r"Epoch 1 · batch 0 of \d+ · 0 updates so far$", status.inner_text())
    start = drawn_map(page, "After 0 updates")
    for clicks in (1, 2, 3):
        page.locator(MAIN).get_by_role("button", name="Step 1 batch", exact=True).click()
        settle(page)
        assert re.match(rf"Epoch 1 · batch {clicks} of \d+ · {clicks} updates? so far · last batch: recon \d",
                        status.inner_text())
    stepped = drawn_map(page, "After 3 updates")
    assert stepped["x"] != start["x"]
    picture(page, "step-3-updates", page.get_by_role("tab", name="Step through training", exact=True))
