"""The Search page on an index folder, in headless Chromium (Debian's /usr/bin/chromium): the folder
named in a text box, a query from the collection, then (-m slow) a neighbour's button and an upload;
results with thumbnails, file names, distances and ✓/✗ marks. Pictures at 1024x768 and 1440 wide in
screenshots/. The quick test (default suite) searches a tiny index of 60 images built in a second with
the exact FAISS engine; the module's two tests share one server."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.data import load_dataset
from explorer.retrieval.build import build
from tests.retrieval_files import saved_model, write_pngs
from tests.ui.browser_walk import MAIN, ROOT, SHOTS, at_size, check, main_text, settle
from tests.ui.test_browser import browser, context, page, server, upload  # noqa: F401  (fixtures, shared server)

pytestmark = pytest.mark.browser
MODEL = ROOT / "pretrained" / "digits" / "deep_ae-8"
WIDE_1440 = {"width": 1440, "height": 1300}  # as tall as the page: the main area scrolls inside its own box
UPLOAD_CAPTION = re.compile(r"(\d{6})\n(\d)\n(\d+\.\d+)")
CAPTION = re.compile(r"(\d{6})\n([✓✗]) (\w)\n(\d+\.\d+)")  # name (no suffix), mark, class, distance


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    """60 seeded 8x8 PNGs in class folders a, b, c, indexed with a small untrained model (FAISS Flat)."""
    root = tmp_path_factory.mktemp("tiny")
    write_pngs(root / "photos", 60)
    build(saved_model(root / "model"), str(root / "photos"), root / "index", engine="faiss-flat", progress=False)
    return root / "index"


def open_index_folder(page, server: str, folder: Path, shot: str) -> str:
    """The Search page switched to ``folder``, settled and pictured at 1024x768 (``shot``.png); its text."""
    page.goto(f"{server}/search")
    # clicked as soon as it shows: the click reruns the page, which stops the first run's search of the
    # default model's training images (12 s of a fresh server's 20 on 2 busy cores) at its next element
    page.locator(MAIN).get_by_text("an index folder", exact=True).click()
    settle(page)
    page.get_by_label("Index folder (a path on the server)").fill(str(folder))
    page.keyboard.press("Enter")
    check(page, shot)
    return main_text(page)


def test_the_search_page_shows_an_index_folders_nearest_items(page, server, tiny_index):
    text = open_index_folder(page, server, tiny_index, "search-tiny-index")
    assert "60 images from" in text and "deep_ae (4-D codes)" in text and "engine flat" in text, text[:600]
    found = CAPTION.findall(text)
    assert len(found) == 8, text[:1500]  # k = 8 by default: file name, mark, class, distance under each
    assert "000000" not in [name for name, *_ in found]  # the query (item 0) is left out
    for name, mark, label, _ in found:  # image i is in class "abc"[i % 3]; the query's class is a
        assert label == "abc"[int(name) % 3] and mark == ("✓" if label == "a" else "✗"), (name, mark, label)
    distances = [float(distance) for *_, distance in found]
    assert distances == sorted(distances) and distances[0] > 0, distances
    assert page.locator(f'{MAIN} [data-testid="stImage"] img').count() >= 9  # the query and 8 thumbnails
    at_size(page, WIDE_1440, lambda p: p.screenshot(path=str(SHOTS / "search-tiny-index-1440.png")))


@pytest.fixture(scope="module")
def index_folder(tmp_path_factory):
    """300 digits written as 8x8 PNGs in class folders 0..9, indexed with the shipped deep_ae-8."""
    root = tmp_path_factory.mktemp("index")
    digits = load_dataset("digits")
    for i in range(300):
        path = root / "photos" / str(int(digits.y_train[i])) / f"{i:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(digits.x_train[i, 0] * 255).astype(np.uint8)).save(path)
    build(MODEL, str(root / "photos"), root / "index", progress=False)
    return root


def captions(page) -> list[tuple[str, str, str, str]]:
    return CAPTION.findall(main_text(page))


@pytest.mark.slow  # a 300-image build with the shipped model, a neighbour's button and an upload: a minute more
def test_the_search_page_searches_an_index_folder(page, server, index_folder):
    text = open_index_folder(page, server, index_folder / "index", "search-index")
    assert "300 images from" in text and "deep_ae (8-D codes)" in text and "engine exact" in text, text[:600]
    found = captions(page)
    assert len(found) == 8, text[:1500]  # k = 8 by default: file name, mark, class, distance under each
    assert all(distance != "0.000" for *_, distance in found)  # the query itself is left out
    assert sum(mark == "✓" for _, mark, _, _ in found) >= 6  # digits' code neighbours mostly share the class
    at_size(page, WIDE_1440, lambda p: p.screenshot(path=str(SHOTS / "search-index-1440.png")))

    first = found[0][0]
    settle(page)
    buttons = page.locator(f'{MAIN} [data-testid="stButton"] button')
    buttons.first.click()  # search with the nearest item
    settle(page)
    assert first in main_text(page).split("Nearest in the index")[0], "the query became that item"

    page.locator(MAIN).get_by_text("upload", exact=True).click()
    settle(page)
    upload(page, "An image", [next((index_folder / "photos" / "3").iterdir())])
    check(page, "search-index-upload")
    classes = UPLOAD_CAPTION.findall(main_text(page))  # the upload's class is unknown: no marks
    assert len(classes) == 8 and "Nearest in the index" in main_text(page)
    assert sum(label == "3" for _, label, _ in classes) >= 5, classes
