"""Reconstruction error as an anomaly score: the worst-reconstructed images, a threshold, and the
held-out-class test (train without one class, then ask how well the error singles that class out).

An autoencoder reconstructs what it was trained on; images unlike the training set come back worse.
Training on all classes but one and scoring the test set by reconstruction error turns that into a
detector whose quality is one number, the ROC AUC of the held-out class, set against PCA fitted on
the same training images (the linear detector of the same code size).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.data import ImageDataset
from explorer.errors import ConfigError, DataError
from explorer.variants.pca import pca_baseline

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

HOLDOUT_SEPARATOR = "-without-"


def without_class(dataset: ImageDataset, label: int) -> ImageDataset:
    """``dataset`` with class ``label`` removed from the train split; the test split is unchanged.

    Named ``<name>-without-<label>``; its fingerprint differs from the full dataset's, so cached
    PCA baselines and checkpoints of the two never mix.
    """
    if dataset.y_train is None:
        raise DataError(f"{dataset.name} has no labels, so there is no class to hold out")
    if not 0 <= label < dataset.n_classes:
        raise ConfigError(f"class {label} is not one of 0..{dataset.n_classes - 1}")
    keep = dataset.y_train != label
    if not keep.any():
        raise DataError(f"{dataset.name}: every training image is of class {label}")
    return ImageDataset(f"{dataset.name}{HOLDOUT_SEPARATOR}{label}", dataset.x_train[keep], dataset.y_train[keep],
                        dataset.x_test, dataset.y_test, dataset.class_names,
                        f"{dataset.source} (class {dataset.class_names[label]!r} removed from the train split)")


def held_out_class(dataset: ImageDataset, fingerprint: str) -> int | None:
    """The class whose removal from ``dataset``'s train split gives data of ``fingerprint``, if any
    (how an uploaded checkpoint says which class it never saw)."""
    if dataset.y_train is None:
        return None
    for label in range(dataset.n_classes):
        if (dataset.y_train == label).any() and without_class(dataset, label).fingerprint == fingerprint:
            return label
    return None


def worst(errors: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest errors, largest first."""
    n = min(n, len(errors))
    top = np.argpartition(-errors, n - 1)[:n] if n else np.zeros(0, np.int64)
    return top[np.argsort(-errors[top], kind="stable")]


@dataclass(frozen=True)
class ThresholdSummary:
    """What a threshold flags: how many, which (largest error first), and per class counts."""
    threshold: float
    flagged: np.ndarray              # indices, largest error first
    per_class: dict[int, int]        # label -> flagged count (empty when unlabelled)

    @property
    def count(self) -> int:
        return len(self.flagged)


def above_threshold(errors: np.ndarray, threshold: float, labels: np.ndarray | None = None) -> ThresholdSummary:
    flagged = np.flatnonzero(errors > threshold)
    flagged = flagged[np.argsort(-errors[flagged], kind="stable")]
    per_class = {} if labels is None else {int(c): int(n) for c, n in zip(*np.unique(labels[flagged], return_counts=True))}
    return ThresholdSummary(float(threshold), flagged, per_class)


@dataclass(frozen=True)
class HoldoutResult:
    """The held-out class as the anomaly: ROC AUC of the model's and PCA's reconstruction errors."""
    label: int
    model_auc: float
    pca_auc: float
    model_errors: np.ndarray   # (N_test,)
    pca_errors: np.ndarray     # (N_test,)
    is_anomaly: np.ndarray     # (N_test,) bool


def holdout_auc(model: "Autoencoder", dataset: ImageDataset, label: int) -> HoldoutResult:
    """Score every test image by reconstruction error under ``model`` (trained without ``label``)
    and under PCA of the same size fitted on the same reduced train split; AUC of class ``label``."""
    from sklearn.metrics import roc_auc_score
    reduced = without_class(dataset, label)
    is_anomaly = dataset.y_test == label
    if is_anomaly.all() or not is_anomaly.any():
        raise DataError(f"the test split needs images of class {label} and of other classes")
    model_errors = model.reconstruction_errors(dataset.x_test, dataset.y_test)
    pca_errors = pca_baseline(reduced, model.latent_dim).reconstruction_errors(dataset.x_test)
    return HoldoutResult(label, float(roc_auc_score(is_anomaly, model_errors)),
                         float(roc_auc_score(is_anomaly, pca_errors)), model_errors, pca_errors, is_anomaly)
