"""The Latent page's linked selection and hover images, through AppTest: indices typed in the box (or
written there by a chart selection) ring the same test images on all three maps and dim the rest, after
every rerun; the hover component gets a sprite whose cells are the maps' images (the browser side:
test_map_hover_browser.py)."""
from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace

import numpy as np
from PIL import Image

from explorer.plots import SELECTION_DIMMED
from explorer.ui import hover, latent_panels
from tests.ui.test_latent_page import values

PAGE = "latent"


def figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def ringed(figure: dict) -> tuple[list[int], np.ndarray]:
    """The test indices and (M, 2) positions of a map's "selected" trace (none: empty)."""
    ring = [t for t in figure["data"] if t.get("name") == "selected"]
    if not ring:
        return [], np.empty((0, 2))
    return values(ring[0]["customdata"]).astype(int).tolist(), np.column_stack([values(ring[0]["x"]),
                                                                               values(ring[0]["y"])])


def position_of(figure: dict, index: int) -> np.ndarray:
    for trace in figure["data"]:
        if trace.get("name") != "selected" and "customdata" in trace:
            found = np.flatnonzero(values(trace["customdata"]).astype(int) == index)
            if len(found):
                return np.array([values(trace["x"])[found[0]], values(trace["y"])[found[0]]])
    raise AssertionError(f"test image {index} is not on {figure['layout']['title']['text']}")


def test_typed_indices_are_ringed_on_all_three_maps_and_the_rest_dimmed(open_page, small_models):
    at = open_page(small_models["vae"], PAGE)
    assert all(ringed(f)[0] == [] for f in figures(at))
    assert {t["type"] for f in figures(at) for t in f["data"]} == {"scattergl"}  # every point drawn with WebGL
    assert all(t["marker"].get("opacity") == 0.8 for f in figures(at) for t in f["data"])
    at.text_input(key="latent.indices").set_value("42, 7, 300, 99999").run()  # 99999: no such test image
    assert not at.exception
    for _ in range(2):  # the same after a rerun that changes nothing
        maps = figures(at)
        assert len(maps) == 3
        for figure in maps:
            indices, positions = ringed(figure)
            assert indices == [7, 42, 300], figure["layout"]["title"]["text"]
            np.testing.assert_allclose(positions, [position_of(figure, i) for i in indices], atol=1e-6)
            assert {t["type"] for t in figure["data"]} == {"scattergl"}
            others = [t for t in figure["data"] if t.get("name") != "selected"]
            assert all(t["marker"]["opacity"] == SELECTION_DIMMED for t in others)
        at.run()
    at.text_input(key="latent.indices").set_value("").run()
    assert all(ringed(f)[0] == [] for f in figures(at))


def test_a_chart_selection_lands_once_per_image_in_the_box(monkeypatch):
    """A box over a ringed point catches it twice (its class's trace and the ring on top): listed once."""
    points = [{"x": 0, "y": 0, "customdata": 42}, {"x": 1, "y": 1, "customdata": 5},
              {"x": 0, "y": 0, "customdata": 42}]
    state = {"chart": SimpleNamespace(selection=SimpleNamespace(points=points))}
    monkeypatch.setattr(latent_panels, "st", SimpleNamespace(session_state=state))
    latent_panels._on_select("chart", decodes=False)
    assert state["latent.indices"] == "42, 5"


def test_the_hover_component_gets_the_maps_images_as_one_sprite(open_page, small_models, digits):
    at = open_page(small_models["ae"], PAGE)
    components = at.get("bidi_component")
    assert len(components) == 1
    data = json.loads(components[0].proto.json)
    assert data["meta"] == hover.MAP_META
    assert all(f["layout"]["meta"] == hover.MAP_META for f in figures(at))  # the charts it attaches to
    assert data["indices"] == list(range(len(digits.x_test)))  # all 360 digits are on the maps
    assert data["labels"] == digits.y_test.tolist() and data["classes"] == list(digits.class_names)
    assert data["scale"] * data["cell_height"] == 144  # 8 px digits shown 18x: 144 px on screen
    sprite = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["sprite"].split(",", 1)[1]))), np.float32) / 255
    for cell in (0, 200, 359):
        row, column = divmod(cell, data["columns"])
        image = sprite[row * 8:(row + 1) * 8, column * 8:(column + 1) * 8]
        np.testing.assert_allclose(image, digits.x_test[data["indices"][cell], 0], atol=0.5 / 15 + 1e-6)
