"""Anomaly scoring: holding a class out of the train split, thresholds, the ROC and the held-out AUC."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import anomaly
from explorer.baselines import pca_baseline
from explorer.errors import DataError
from tests.conftest import make_image_dataset


def test_without_class_drops_it_from_train_only(tiny_dataset):
    reduced = anomaly.without_class(tiny_dataset, 1)
    assert reduced.name == "synthetic-without-1"
    assert not (reduced.y_train == 1).any()
    assert len(reduced.x_train) == int((tiny_dataset.y_train != 1).sum())
    assert reduced.x_test is tiny_dataset.x_test or np.array_equal(reduced.x_test, tiny_dataset.x_test)
    assert reduced.fingerprint != tiny_dataset.fingerprint
    assert anomaly.held_out_class(tiny_dataset, reduced.fingerprint) == 1
    assert anomaly.held_out_class(tiny_dataset, tiny_dataset.fingerprint) is None


def test_without_class_needs_labels(tiny_dataset):
    from explorer.data import ImageDataset
    unlabelled = ImageDataset("u", tiny_dataset.x_train, None, tiny_dataset.x_test, None, (), "tests")
    with pytest.raises(DataError, match="no labels"):
        anomaly.without_class(unlabelled, 0)


def test_worst_and_threshold():
    errors = np.array([0.5, 3.0, 1.0, 9.0, 2.0])
    labels = np.array([0, 1, 1, 0, 2])
    assert anomaly.worst(errors, 3).tolist() == [3, 1, 4]
    summary = anomaly.above_threshold(errors, 1.5, labels)
    assert summary.flagged.tolist() == [3, 1, 4] and summary.count == 3
    assert summary.per_class == {0: 1, 1: 1, 2: 1}
    assert anomaly.above_threshold(errors, 10.0, labels).count == 0
    assert summary.out_of == 5 and summary.fraction == pytest.approx(0.6)
    spread = np.arange(1000.0)
    assert anomaly.above_threshold(spread, anomaly.default_threshold(spread)).count == 50  # the worst 5%


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_is_scikit_learns_curve_and_area(seed):
    from sklearn.metrics import roc_auc_score, roc_curve
    rng = np.random.default_rng(seed)
    is_anomaly = rng.random(300) < 0.2
    for scores in (rng.normal(is_anomaly.astype(float), 1.0),               # distinct scores
                   np.round(rng.normal(is_anomaly * 1.5, 1.0), 1),           # many ties
                   rng.integers(0, 3, 300).astype(float)):                   # three values
        curve = anomaly.roc(is_anomaly, scores)
        fpr, tpr, thresholds = roc_curve(is_anomaly, scores)
        np.testing.assert_allclose(curve.fpr, fpr)
        np.testing.assert_allclose(curve.tpr, tpr)
        np.testing.assert_allclose(curve.thresholds, thresholds)
        assert curve.auc == pytest.approx(roc_auc_score(is_anomaly, scores))


def test_roc_of_a_perfect_a_useless_and_an_impossible_detector():
    labels = np.array([False, False, True, True])
    perfect = anomaly.roc(labels, np.array([0.1, 0.2, 0.8, 0.9]))
    assert perfect.auc == 1.0 and perfect.fpr.tolist() == [0, 0, 0, 1] and perfect.tpr.tolist() == [0, 0.5, 1, 1]
    flat = anomaly.roc(labels, np.ones(4))
    assert flat.auc == 0.5 and flat.fpr.tolist() == [0, 1] and flat.thresholds[0] == np.inf
    with pytest.raises(DataError, match="both"):
        anomaly.roc(np.zeros(4, bool), np.arange(4.0))


def test_a_class_never_seen_in_training_is_reconstructed_worst():
    dataset = make_image_dataset(n_train=150, n_test=60, seed=3)
    model = pca_baseline(anomaly.without_class(dataset, 2), 2)
    result = anomaly.holdout_auc(model, dataset, 2)
    # PCA fitted without bar 2 has no axis for it: that bar alone is reconstructed badly.
    assert result.model_auc == pytest.approx(result.pca_auc) and result.pca_auc > 0.95
    assert result.is_anomaly.sum() == (dataset.y_test == 2).sum()
    assert result.model_errors[result.is_anomaly].mean() > 3 * result.model_errors[~result.is_anomaly].mean()
