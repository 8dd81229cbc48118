"""Retrieval without the page: the index, one query's marked neighbours, test precision for every k."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import metrics, search
from explorer.errors import ConfigError
from explorer.registry import build, make_config
from explorer.search import CodeIndex


def points(n=60, dim=5, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def brute_force(index_points, query, metric):
    if metric == "cosine":
        unit = index_points / np.linalg.norm(index_points, axis=1, keepdims=True)
        return 1 - unit @ (query / np.linalg.norm(query))
    return np.linalg.norm(index_points - query, axis=1)


@pytest.mark.parametrize("metric", search.METRICS)
def test_the_index_finds_the_brute_force_neighbours_and_skips_the_excluded_row(metric):
    codes = points()
    index = CodeIndex(metric).fit(codes)
    indices, distances = index.query(codes[:4], 5)
    for row in range(4):
        expected = brute_force(codes, codes[row], metric)
        assert indices[row].tolist() == np.argsort(expected)[:5].tolist()
        np.testing.assert_allclose(distances[row], np.sort(expected)[:5], atol=1e-4)
    assert (indices[:, 0] == np.arange(4)).all()                        # each finds itself first
    six, _ = index.query(codes[:4], 6)
    skipped, _ = index.query(codes[:4], 5, exclude=np.array([0, 1, -1, 3]))
    assert skipped[[0, 1, 3]].tolist() == six[[0, 1, 3], 1:].tolist()   # the next five after itself
    assert skipped[2].tolist() == indices[2].tolist()                   # -1: nothing skipped
    with pytest.raises(ConfigError, match="before fit"):
        CodeIndex().query(codes, 1)


def test_a_query_of_pixels_marks_each_neighbour_against_its_class():
    x = points(n=40, dim=12).reshape(40, 3, 2, 2)
    labels = np.arange(40) % 4
    index = CodeIndex().fit(x.reshape(40, -1))
    found = search.nearest(index, x[7], 6, labels=labels, label=3, exclude=7)
    expected = np.argsort(np.linalg.norm(x.reshape(40, -1) - x[7].reshape(-1), axis=1))[1:7]
    assert found.indices.tolist() == expected.tolist() and 7 not in found.indices
    assert found.matches.tolist() == (labels[expected] == 3).tolist()
    assert found.precision == pytest.approx((labels[expected] == 3).mean())
    assert found.seconds >= 0
    assert search.nearest(index, x[7], 6).matches is None and search.nearest(index, x[7], 6).precision is None


def test_a_query_by_code_is_encoded_by_the_model_with_its_class(tiny_dataset):
    torch.manual_seed(0)
    cvae = build("cvae", make_config("cvae", latent_dim=3), input_shape=tiny_dataset.input_shape, n_classes=3)
    train_codes = cvae.encode_array(tiny_dataset.x_train, tiny_dataset.y_train)
    index = CodeIndex().fit(train_codes)
    image, label = tiny_dataset.x_test[0], int(tiny_dataset.y_test[0])
    found = search.nearest(index, image, 5, cvae, label, tiny_dataset.y_train)
    code = cvae.encode_array(image[None], np.array([label]))
    expected = np.argsort(np.linalg.norm(train_codes - code, axis=1))[:5]
    assert found.indices.tolist() == expected.tolist()
    assert found.matches.tolist() == (tiny_dataset.y_train[expected] == label).tolist()
    other = search.nearest(index, image, 5, cvae, (label + 1) % 3, tiny_dataset.y_train)
    assert not np.allclose(other.distances, found.distances)    # the class is part of the code


def test_label_matches_and_precision_for_every_k_equal_precision_at_k():
    rng = np.random.default_rng(1)
    index_codes, queries = points(200, 4, seed=2), points(50, 4, seed=3)
    index_labels, query_labels = rng.integers(0, 3, 200), rng.integers(0, 3, 50)
    neighbours = np.array([[0, 1], [2, 0]])
    assert search.label_matches(neighbours, np.array([1, 0, 1]), np.array([1, 0])).tolist() == \
        [[True, False], [False, False]]
    for metric in search.METRICS:
        curve = search.precision_by_k(CodeIndex(metric).fit(index_codes), index_labels, queries, query_labels, 8)
        assert curve.shape == (8,)
        for k in range(1, 9):
            assert curve[k - 1] == pytest.approx(
                metrics.precision_at_k(index_codes, index_labels, queries, query_labels, k, metric))
    sampled = search.precision_by_k(CodeIndex().fit(index_codes), index_labels, queries, query_labels, 4, 20)
    picked = metrics.map_subsample(50, 20)
    assert sampled[3] == pytest.approx(
        metrics.precision_at_k(index_codes, index_labels, queries[picked], query_labels[picked], 4))


def test_distances_read_in_fixed_point():
    assert search.distance_text(np.array([2.1e-05, 0.5, 1.25]), "cosine") == ["0.000", "0.500", "1.250"]
    assert search.distance_text(np.array([3.21, 0.004]), "euclidean") == ["3.21", "0.00"]
    assert search.distance_text(np.array([123.4, 98.76]), "euclidean") == ["123", "99"]
    assert search.distance_text(np.array([0.0123, 0.0456]), "euclidean") == ["0.0123", "0.0456"]
    assert search.distance_text(np.array([0.0, 0.0]), "euclidean") == ["0.000", "0.000"]
    assert all("e" not in text for text in search.distance_text(np.array([1e-9, 2e-9]), "euclidean"))


def test_cosine_distance_is_refused_below_three_dimensions_with_the_reason():
    assert "one angle" in search.refusal("cosine", 2) and "a sign" in search.refusal("cosine", 1)
    assert search.refusal("cosine", 3) is None
    assert search.refusal("euclidean", 1) is None and search.refusal("euclidean", 2) is None


def test_shipped_test_precisions_are_used_only_for_the_data_they_were_measured_on(tmp_path):
    import json

    from explorer.gallery import PIXEL_SEARCH, shipped_test_precision
    folder = tmp_path / "mine" / "ae-8"
    folder.mkdir(parents=True)
    (folder / "card.json").write_text(json.dumps({"metrics": {"fingerprint": "abc", "test_precision": {
        "euclidean": [0.9] * 16}}}))
    (tmp_path / "mine" / PIXEL_SEARCH).write_text(json.dumps({"fingerprint": "abc", "test_precision": {
        "cosine": [0.5] * 16}}))
    assert shipped_test_precision("pretrained:mine/ae-8", "abc", "euclidean", tmp_path) == [0.9] * 16
    assert shipped_test_precision("pretrained:mine/ae-8", "other data", "euclidean", tmp_path) is None
    assert shipped_test_precision("pretrained:mine/ae-8", "abc", "cosine", tmp_path) is None
    assert shipped_test_precision("pixels:mine", "abc", "cosine", tmp_path) == [0.5] * 16
    assert shipped_test_precision("pixels:mine", "xyz", "cosine", tmp_path) is None
    assert shipped_test_precision("trained-here-123", "abc", "cosine", tmp_path) is None
