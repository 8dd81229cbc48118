"""The Search page over an index folder, driven by AppTest (quick; the browser test is -m slow):
results with file names, ✓/✗ and distances, a neighbour's button as the next query, and one error
line for a folder that is not an index."""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from explorer.retrieval.build import build
from tests.retrieval_files import saved_model, write_pngs
from tests.ui.conftest import APP

RESULT = re.compile(r"(\d{6})  \n(?::(?:green|red)\[)?([✓✗]) (\w)\]?  \n(\d+\.\d+)")


@pytest.fixture(scope="module")
def index_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    write_pngs(root / "photos", 60)
    build(saved_model(root / "model"), str(root / "photos"), root / "index", progress=False)
    return root / "index"


def opened(folder) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run().switch_page("explorer/ui/pages/search.py").run()
    at.radio(key="search.where").set_value("an index folder").run()
    return at.text_input(key="search.index_folder").set_value(str(folder)).run()


def results(at: AppTest) -> list[tuple[str, str, str, str]]:
    return [found.groups() for caption in at.caption if (found := RESULT.fullmatch(caption.value))]


def test_an_index_folder_is_searched_from_the_page(index_folder):
    at = opened(index_folder)
    assert not at.exception and not at.error
    found = results(at)
    assert len(found) == 8 and all(mark in "✓✗" and label in "abc" for _, mark, label, _ in found)
    assert "000000" not in [name for name, *_ in found]  # the query, item 0, is left out
    at.button(key="search.index.use.2").click().run()
    assert at.number_input(key="search.index_row").value == int(found[2][0]) // 3 + 20 * (int(found[2][0]) % 3)


def test_a_folder_that_is_no_index_gets_one_error(tmp_path):
    at = opened(tmp_path)
    assert not at.exception and len(at.error) == 1 and "no index folder there" in at.error[0].value
