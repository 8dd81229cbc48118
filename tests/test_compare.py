"""The rows of the Compare page's reconstruction grid."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import compare
from explorer.baselines import pca_baseline
from tests.conftest import squared_error


def test_examples_take_the_classes_in_turn(tiny_dataset):
    picked = compare.pick_examples(tiny_dataset.y_test, 6, seed=0)
    assert tiny_dataset.y_test[picked].tolist() == [0, 1, 2, 0, 1, 2]
    assert compare.pick_examples(None, 4, n_test=10).tolist() == [0, 3, 6, 9]


def test_rows_are_the_originals_then_pca_then_each_model(tiny_dataset):
    indices = np.array([0, 5, 7])
    other = pca_baseline(tiny_dataset, 2)
    rows = compare.reconstruction_rows([("two axes", other)], tiny_dataset, indices, include_pca_at=1)
    assert [label for label, _, _ in rows] == ["original", "PCA-1", "two axes"]
    assert np.array_equal(rows[0][1], tiny_dataset.x_test[indices])
    x = tiny_dataset.x_test[indices]
    expected = squared_error(x, np.clip(other.reconstruct_array(x), 0, 1))
    assert rows[2][2] == pytest.approx(expected) and rows[1][2] > rows[2][2]
