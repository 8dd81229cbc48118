"""The Latent page's hover images and linked selection in the browser (Playwright on Debian's chromium):
hovering a point of each map shows that test image, 144 px wide, with its class, beside the pointer and
not over it; indices typed in the box are ringed on all three maps, and hovering still works after that
rerun redrew them. Pictured in ``screenshots/map-hover*.png`` at 1024x768 and 1440x900.

All ``-m slow`` (a server of its own: about 40 s for digits; the default suite checks the figures and the
component's data through AppTest, test_map_selection_page.py): digits (360 points, shipped maps), then
Fashion-MNIST at 500 and 10,000 points (the 10,000-point UMAPs are fitted on the way: minutes here)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import map_hover
from explorer.data import load_dataset
from tests.ui.browser_walk import MAIN, PROJECTOR, SHOTS, settle
from tests.ui.test_browser import FASHION, browser, server  # noqa: F401  (the fixtures; skips without playwright)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDE = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def tab(request):
    """(a Chromium tab at 1024x768, the URL of the server): test_browser's browser and server fixtures."""
    chromium = request.getfixturevalue("browser")  # skips when chromium is missing, before a server starts
    page = chromium.new_context(viewport=PROJECTOR).new_page()
    page.set_default_timeout(180_000)
    SHOTS.mkdir(exist_ok=True)
    yield page, request.getfixturevalue("server")
    page.context.close()


def hover_each_map(page, dataset, shot: str | None = None) -> None:
    """Hover the point that stands furthest apart on each map: the box names the test image plotly hovers
    (that very point where no other lies within 7 px) and its class, shows its pixels, and covers neither
    the pointer nor the point."""
    for chart in map_hover.map_points(page, n=1):
        x, y, index, gap = chart["points"][0]
        seen = map_hover.hover(page, x, y)
        assert seen["index"] == seen["plotly"], chart["title"]
        assert gap < 7 or seen["index"] == index, chart["title"]
        index = seen["index"]
        assert seen["label"] == dataset.class_names[dataset.y_test[index]]
        side = dataset.x_test.shape[-1]
        assert seen["imageSide"] >= 112, "too small for a projector"
        np.testing.assert_allclose(map_hover.shown_image(seen, side), dataset.x_test[index, 0], atol=0.5 / 15 + 0.01)
        assert not (seen["left"] - 4 <= x <= seen["right"] + 4 and seen["top"] - 4 <= y <= seen["bottom"] + 4), \
            "the hover image covers the pointer"
        assert seen["left"] >= 0 and seen["top"] >= 0 and seen["right"] <= page.viewport_size["width"]
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}.png"))


def type_selection(page, text: str) -> None:
    page.locator(MAIN).get_by_role("tab", name="Selected images").click()
    box = page.get_by_label("Selected test images (indices; chart selections land here)")
    box.fill(text)
    box.press("Enter")
    settle(page, 120)


def test_hover_shows_the_image_and_a_typed_selection_is_ringed_on_all_three_maps(tab):
    page, url = tab
    digits = load_dataset("digits")
    page.goto(f"{url}/latent?dataset=digits&variant=deep_ae&code=2")
    settle(page, 120)
    hover_each_map(page, digits, "map-hover")
    assert map_hover.ringed(page) == [[], [], []]
    type_selection(page, "300, 5, 17")
    assert map_hover.ringed(page) == [[5, 17, 300]] * 3
    hover_each_map(page, digits)  # the redrawn charts still show hover images
    page.set_viewport_size(WIDE)
    settle(page)
    hover_each_map(page, digits, "map-hover-1440")
    page.set_viewport_size(PROJECTOR)


@pytest.mark.skipif(not FASHION, reason="Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)")
@pytest.mark.parametrize("n_points", [500, 10_000])
def test_fashion_maps_at_500_and_10000_points(tab, n_points):
    page, url = tab
    fashion = load_dataset("fashion-mnist")
    page.goto(f"{url}/latent?dataset=fashion-mnist&variant=vae&code=16&points={n_points}")
    settle(page, 600)
    charts = map_hover.map_points(page, n=1)
    assert [c["count"] for c in charts] == [n_points] * 3
    hover_each_map(page, fashion, f"map-hover-fashion-{n_points}")
    type_selection(page, "0, 1, 2, 9999")
    shown = {0, 1, 2, 9999} if n_points == 10_000 else None
    for ring in map_hover.ringed(page):
        assert shown is None or set(ring) == shown
        assert ring == map_hover.ringed(page)[0]  # the same images on every map
    hover_each_map(page, fashion)
