"""The Latent page, driven through its plain widgets: three scored maps, selected images and their codes,
a new image placed by each map's fitted projector, decoding a point of a 2-D code space, exports."""
from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer import metrics
from explorer.projection import PCAProjector
from explorer.ui import latent_panels
from explorer.ui.latent_panels import parse_indices

PAGE = "latent"


def scores(at: AppTest) -> list[dict[str, float]]:
    """The bold scores under each map, in page order."""
    found = []
    for md in at.markdown:
        if "5-NN accuracy" in md.value:
            found.append({name: float(value) for name, value in
                          re.findall(r"(5-NN accuracy|trustworthiness|silhouette) \*\*([-\d.]+)\*\*", md.value)})
    return found


def chart(at: AppTest, title_start: str) -> dict:
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(f for f in figures if f["layout"]["title"]["text"].startswith(title_start))


def image_captions(at: AppTest) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def values(array) -> np.ndarray:
    """A plotly JSON array: a list, or {"dtype", "bdata"} base64 (plotly >= 6)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), np.dtype(array["dtype"]))
    return np.asarray(array, float)


def trace_xy(figure: dict, name: str) -> np.ndarray:
    trace = next(t for t in figure["data"] if t.get("name") == name)
    return np.array([values(trace["x"])[0], values(trace["y"])[0]])


@pytest.mark.parametrize("variant", ["ae", "vae", "cvae"])
def test_three_maps_with_their_scores(open_page, variant, small_models, digits):
    at = open_page(small_models[variant], PAGE)
    assert not at.exception and not at.error
    found = scores(at)
    assert len(found) == 3 and len(at.get("plotly_chart")) == 3
    pixels = digits.x_test.reshape(len(digits.x_test), -1)  # all 360 test images are on the maps
    pca_points = PCAProjector().fit_transform(pixels)
    assert found[1]["5-NN accuracy"] == pytest.approx(metrics.knn_accuracy_2d(pca_points, digits.y_test), abs=1e-3)
    assert found[1]["trustworthiness"] == pytest.approx(metrics.trustworthiness_2d(pixels, pca_points), abs=1e-3)
    assert found[2]["5-NN accuracy"] > 0.85  # UMAP separates the digits
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[0] == ("codes" if small_models[variant].model.latent_dim == 2 else "PCA of the codes")
    legend = {t["name"] for t in chart(at, "PCA of the pixels")["data"]}
    assert set(digits.class_names) <= legend


def test_umap_of_the_codes_and_the_new_image_placed_by_transform(open_page, small_models, digits):
    model = small_models["vae"]
    at = open_page(model, PAGE)
    at.radio(key="latent.code_method").set_value("umap").run()
    at.selectbox(key="latent.new_source").set_value("training image").run()
    at.number_input(key="latent.new_index").set_value(5).run()
    assert not at.exception and not at.error
    pixels = digits.x_test.reshape(len(digits.x_test), -1)
    expected = PCAProjector().fit(pixels).transform(digits.x_train[5].reshape(1, -1))[0]
    np.testing.assert_allclose(trace_xy(chart(at, "PCA of the pixels"), "new image"), expected, atol=1e-4)
    umap_map = chart(at, "UMAP of the codes")
    placed = trace_xy(umap_map, "new image")
    points = np.concatenate([np.column_stack([values(t["x"]), values(t["y"])]) for t in umap_map["data"]
                             if t.get("name") != "new image"])
    assert len(points) == len(digits.x_test)
    # a weighted mean of the embeddings of its neighbours: inside the map, never a refit
    assert (points.min(0) <= placed).all() and (placed <= points.max(0)).all()
    assert any("training image 5" in caption for caption in image_captions(at))


def test_selected_indices_show_images_and_their_codes(open_page, small_models, digits):
    model = small_models["ae"]
    at = open_page(model, PAGE)
    at.text_input(key="latent.indices").set_value("7, 3 x 99999").run()
    assert not at.exception
    assert any("x, 99999" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert list(table["test index"]) == [7, 3]
    expected = model.model.encode_array(digits.x_test[[7, 3]])
    np.testing.assert_allclose(table[["z0", "z1"]].to_numpy(), expected, atol=1e-5)
    assert any(caption.startswith("2 selected") for caption in image_captions(at))


def test_decoding_a_point_of_a_2d_code(open_page, small_models):
    at = open_page(small_models["ae"], PAGE)
    at.number_input(key="latent.decode_x").set_value(0.25).run()
    at.number_input(key="latent.decode_y").set_value(-0.5).run()
    assert not at.exception
    np.testing.assert_allclose(trace_xy(chart(at, "codes"), "decoded point"), [0.25, -0.5])
    assert any(caption.startswith("decoded (0.250, -0.500)") for caption in image_captions(at))


def test_decoding_asks_a_cvae_for_the_class_and_refuses_more_than_two_dims(open_page, small_models):
    at = open_page(small_models["cvae"], PAGE)
    at.selectbox(key="latent.decode_class").set_value(4).run()
    assert not at.exception and not at.error
    at = open_page(small_models["vae"], PAGE)
    assert any("needs a 2-D code" in i.value for i in at.info)


def test_exports_are_offered_and_indices_are_parsed(open_page, small_models):
    at = open_page(small_models["ae"], PAGE)  # the files' contents: tests/test_exports.py
    assert {b.label for b in at.get("download_button")} >= {"Codes (.csv)", "Codes (.npz)"}
    assert parse_indices("1,2 2 x 40", 10) == ([1, 2], ["x", "40"])


def test_a_chart_selection_fills_the_plain_widgets(monkeypatch):
    """Click, box or lasso on a map -> the indices box; one point of a 2-D code map -> the decode inputs.
    (AppTest cannot send plotly events; the browser test does.)"""
    points = [{"x": 0.5, "y": -1.0, "customdata": 42, "curve_number": 3},
              {"x": 9.0, "y": 9.0, "curve_number": 10}]  # the star of a new image: no customdata
    state = {"chart": SimpleNamespace(selection=SimpleNamespace(points=points))}
    monkeypatch.setattr(latent_panels, "st", SimpleNamespace(session_state=state))
    latent_panels._on_select("chart", decodes=True)
    assert state["latent.indices"] == "42" and "latent.decode_x" not in state   # two points: no decode
    points.pop()
    latent_panels._on_select("chart", decodes=True)
    assert (state["latent.decode_x"], state["latent.decode_y"]) == (0.5, -1.0)
    points[:] = [{"x": 1, "y": 2, "customdata": [7]}, {"x": 3, "y": 4, "customdata": [9]}]
    latent_panels._on_select("chart", decodes=False)
    assert state["latent.indices"] == "7, 9"


def test_a_shipped_projection_is_drawn_instead_of_a_fit(open_page, small_models, digits, tmp_path, monkeypatch):
    from explorer import maps
    from explorer.projection import save_projection, shipped_name
    pixels = digits.x_test.reshape(len(digits.x_test), -1)
    shipped = PCAProjector().fit(pixels)
    shipped.embedding_ = -shipped.embedding_  # recognisably not what a fit here would draw
    (tmp_path / "digits").mkdir()
    save_projection(shipped, tmp_path / "digits" / shipped_name("pixels", "pca", len(pixels)))
    monkeypatch.setattr(maps, "PRETRAINED_ROOT", tmp_path)
    at = open_page(small_models["ae"], PAGE)
    assert not at.exception
    assert any(md.value.startswith("fitted before shipping, loaded in") for md in at.markdown)
    figure = chart(at, "PCA of the pixels")
    first = next(t for t in figure["data"] if t["name"] == digits.class_names[0])
    index = int(values(first["customdata"])[0])
    assert values(first["x"])[0] == pytest.approx(-PCAProjector().fit(pixels).embedding_[index, 0], abs=1e-5)
