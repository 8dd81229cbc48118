"""The Latent page's maps without the page: which maps, a shipped file or a fit, scores, placing a new image."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import maps, metrics
from explorer.projection import PCAProjector, from_state, save_projection, shipped_name
from explorer.registry import build, make_config


def test_codes_of_up_to_two_dimensions_are_mapped_as_they_are():
    assert maps.code_methods(1) == maps.code_methods(2) == ("raw",)
    assert maps.code_methods(3) == ("pca", "umap")


def test_three_maps_of_the_shown_images_with_their_shipped_files(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(maps, "PRETRAINED_ROOT", tmp_path)
    shown = maps.shown_images(tiny_dataset, 20)
    assert len(shown.indices) == 20 and shown.indices.tolist() == metrics.map_subsample(32, 20).tolist()
    assert shown.labels.tolist() == tiny_dataset.y_test[shown.indices].tolist() and shown.pixels.shape == (20, 64)
    (tmp_path / "synthetic").mkdir()
    shipped = tmp_path / "synthetic" / shipped_name("pixels", "pca", 20)
    save_projection(PCAProjector().fit(shown.pixels), shipped)
    codes = np.zeros((20, 2), np.float32)
    specs = maps.map_specs("session:ae", tiny_dataset, shown, codes, "raw")
    assert [(s.title, s.source, s.method) for s in specs] == [
        ("codes", "codes", "raw"), ("PCA of the pixels", "pixels", "pca"), ("UMAP of the pixels", "pixels", "umap")]
    assert [s.shipped for s in specs] == [None, shipped, None]
    assert specs[0].inputs is codes and specs[1].inputs_key == f"{tiny_dataset.fingerprint}/20"


def test_a_shipped_map_is_used_only_for_the_points_it_maps(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32)
    shipped = PCAProjector().fit(x)
    shipped.embedding_ = -shipped.embedding_  # recognisably not a fit here
    path = tmp_path / "map.npz"
    save_projection(shipped, path)
    state = maps.map_state("pca", x, path)
    assert str(state["origin"]) == "shipped"
    np.testing.assert_array_equal(state["embedding"], shipped.embedding_)
    fitted = maps.map_state("pca", x[:20], path)  # another number of points: fitted here
    assert str(fitted["origin"]) == "fitted here"
    np.testing.assert_allclose(fitted["embedding"], PCAProjector().fit(x[:20]).embedding_, atol=1e-5)
    path.write_bytes(b"not a zip")
    assert str(maps.map_state("pca", x, path)["origin"]) == "fitted here"
    assert str(maps.map_state("raw", x[:, :2])["origin"]) == "fitted here"


def test_a_map_says_where_it_comes_from(tmp_path):
    x = np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32)
    spec = maps.MapSpec("codes", "codes", "raw", x, "m/12", None)
    raw = maps.Map.from_state(spec, maps.map_state("raw", x), waited_seconds=9.0)
    np.testing.assert_array_equal(raw.points, x)
    assert raw.provenance() == "the codes themselves" and raw.fit_seconds == 0.0
    pca_spec = maps.MapSpec("PCA of the pixels", "pixels", "pca", x, "d/12", None)
    fitted = maps.Map.from_state(pca_spec, maps.map_state("pca", x), waited_seconds=9.0)
    assert fitted.provenance().startswith("fitted here in") and fitted.fit_seconds < 9.0
    save_projection(PCAProjector().fit(x), tmp_path / "map.npz")
    loaded = maps.Map.from_state(pca_spec, maps.map_state("pca", x, tmp_path / "map.npz"), waited_seconds=0.25)
    assert loaded.provenance() == "fitted before shipping, loaded in 0.25 s"
    assert len({raw.key, fitted.key}) == 2
    assert maps.fit_estimate(10_000, compiled=True) == (12, 12)
    assert maps.fit_estimate(10_000, compiled=False) == (12, 12 + maps.UMAP_COMPILE_SECONDS)


def test_a_new_image_lands_by_its_code_on_code_maps_and_by_its_pixels_on_pixel_maps(tiny_dataset):
    torch.manual_seed(0)
    model = build("ae", make_config("ae", latent_dim=2), input_shape=tiny_dataset.input_shape)
    codes = model.encode_array(tiny_dataset.x_test)
    pixels = tiny_dataset.x_test.reshape(len(tiny_dataset.x_test), -1)
    specs = [maps.MapSpec("codes", "codes", "raw", codes, "c", None),
             maps.MapSpec("PCA of the pixels", "pixels", "pca", pixels, "p", None)]
    all_maps = [maps.Map.from_state(s, maps.map_state(s.method, s.inputs), 0.0) for s in specs]
    image = tiny_dataset.x_train[3]
    placed = maps.place(model, image, None, all_maps, lambda m: from_state(m.state, m.inputs))
    np.testing.assert_allclose(placed[0], model.encode_array(image[None])[0], atol=1e-6)
    np.testing.assert_allclose(placed[1], PCAProjector().fit(pixels).transform(image.reshape(1, -1))[0], atol=1e-5)


def test_map_quality_and_the_decode_inputs():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 30)
    points = np.array([[0, 0], [10, 0]])[labels] + rng.normal(0, 1, (60, 2))
    scores = maps.map_quality(points, labels, points)
    assert scores["knn_accuracy"] == 1.0 and scores["trustworthiness"] > 0.9 and scores["silhouette"] > 0.7
    assert set(maps.map_quality(points, None, points)) == {"trustworthiness"}
    start, step = maps.decode_start(np.column_stack([np.linspace(0, 100, 101), np.zeros(101)]))
    assert start.tolist() == pytest.approx([50, 0]) and step == pytest.approx(98 / maps.DECODE_STEPS)


def test_a_selection_is_the_same_rows_on_every_map_and_ringed_on_top(tiny_dataset):
    from explorer.plots import SELECTION_DIMMED, latent_scatter, with_selection
    shown = maps.shown_images(tiny_dataset, 20)
    picked = [int(shown.indices[3]), int(shown.indices[11]), 10_000]  # the last is not on the map
    rows = maps.selected_rows(shown, picked)
    assert rows.tolist() == [3, 11]
    points = np.arange(40, dtype=np.float32).reshape(20, 2)
    base = latent_scatter(points, shown.labels, [], legend=False)
    for trace in base.data:
        trace.customdata = shown.indices[np.asarray(trace.customdata, int)]
    base.add_scatter(x=[0], y=[0], name="new image")  # a mark: not a point of the map, never dimmed
    n_traces = len(base.data)
    figure = with_selection(base, points, shown.labels, rows, shown.indices)
    assert len(figure.data) == n_traces + 1 and len(base.data) == n_traces  # the cached base is untouched
    assert all(t.marker.opacity == SELECTION_DIMMED for t in figure.data[:n_traces - 1])
    assert figure.data[n_traces - 1].marker.opacity is None and base.data[0].marker.opacity == 0.8
    ring = figure.data[-1]
    assert ring.name == "selected" and ring.type == "scattergl" and ring.marker.line.color == "black"
    np.testing.assert_array_equal(np.column_stack([ring.x, ring.y]), points[[3, 11]])
    assert list(ring.customdata) == picked[:2]
    labels = shown.labels[[3, 11]]
    from explorer.plots import CLASS_COLOURS
    assert list(ring.marker.color) == [CLASS_COLOURS[k] for k in labels]  # each in its class's colour
    assert with_selection(base, points, shown.labels, rows[:0], shown.indices) is base  # nothing selected
