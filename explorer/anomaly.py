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

from explorer.baselines import pca_baseline
from explorer.data import ImageDataset
from explorer.errors import ConfigError, DataError

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

HOLDOUT_SEPARATOR = "-without-"
DEFAULT_FLAGGED = 0.05  # the threshold starts by flagging this fraction of the test images


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


def default_threshold(errors: np.ndarray) -> float:
    """Where the threshold starts: the error above which the worst :data:`DEFAULT_FLAGGED` of the images lie."""
    return float(np.quantile(errors, 1 - DEFAULT_FLAGGED))


@dataclass(frozen=True)
class ThresholdSummary:
    """What a threshold flags: how many of how many, which (largest error first), and per class counts."""
    threshold: float
    flagged: np.ndarray              # indices, largest error first
    per_class: dict[int, int]        # label -> flagged count (empty when unlabelled)
    out_of: int                      # images scored

    @property
    def count(self) -> int:
        return len(self.flagged)

    @property
    def fraction(self) -> float:
        return self.count / self.out_of if self.out_of else 0.0


def above_threshold(errors: np.ndarray, threshold: float, labels: np.ndarray | None = None) -> ThresholdSummary:
    flagged = np.flatnonzero(errors > threshold)
    flagged = flagged[np.argsort(-errors[flagged], kind="stable")]
    per_class = {} if labels is None else {int(c): int(n) for c, n in zip(*np.unique(labels[flagged], return_counts=True))}
    return ThresholdSummary(float(threshold), flagged, per_class, len(errors))


@dataclass(frozen=True)
class Roc:
    """A receiver operating characteristic: the false and true positive rates of every threshold
    (highest first, after the point (0, 0)), and the area under the curve."""
    fpr: np.ndarray          # (T,)
    tpr: np.ndarray          # (T,)
    thresholds: np.ndarray   # (T,) the first is +inf: nothing flagged
    auc: float


def roc(is_anomaly: np.ndarray, scores: np.ndarray) -> Roc:
    """The ROC of ``scores`` (N,) as a detector of ``is_anomaly`` (N,) bool: one point per distinct
    score, highest first (Fawcett, An introduction to ROC analysis, Pattern Recognition Letters 2006,
    Algorithm 2), less the points inside a straight vertical or horizontal run, which change neither
    the line nor the area (as scikit-learn's ``roc_curve``, whose points these are). The area by the
    trapezoidal rule is the probability that an anomaly scores above a normal image, ties counted
    half (Hanley & McNeil, Radiology 1982)."""
    is_anomaly, scores = np.asarray(is_anomaly, bool), np.asarray(scores, np.float64)
    if is_anomaly.all() or not is_anomaly.any():
        raise DataError("an ROC needs both anomalies and normal images")
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, is_anomaly = scores[order], is_anomaly[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # where a distinct score ends
    true_positives = np.cumsum(is_anomaly)[last_of_each]
    false_positives = last_of_each + 1 - true_positives
    keep = np.r_[True, (np.diff(false_positives, 2) != 0) | (np.diff(true_positives, 2) != 0), True] \
        if len(last_of_each) > 2 else np.ones(len(last_of_each), bool)
    true_positives = np.r_[0, true_positives[keep]]
    false_positives = np.r_[0, false_positives[keep]]
    fpr, tpr = false_positives / false_positives[-1], true_positives / true_positives[-1]
    return Roc(fpr, tpr, np.r_[np.inf, scores[last_of_each][keep]], float(np.trapezoid(tpr, fpr)))


@dataclass(frozen=True)
class HoldoutResult:
    """The held-out class as the anomaly: ROCs of the model's and PCA's reconstruction errors."""
    label: int
    model_roc: Roc
    pca_roc: Roc
    model_errors: np.ndarray   # (N_test,)
    pca_errors: np.ndarray     # (N_test,)
    is_anomaly: np.ndarray     # (N_test,) bool

    @property
    def model_auc(self) -> float:
        return self.model_roc.auc

    @property
    def pca_auc(self) -> float:
        return self.pca_roc.auc


def holdout_auc(model: "Autoencoder", dataset: ImageDataset, label: int) -> HoldoutResult:
    """Score every test image by reconstruction error under ``model`` (trained without ``label``)
    and under PCA of the same size fitted on the same reduced train split; ROC of class ``label``."""
    reduced = without_class(dataset, label)
    is_anomaly = dataset.y_test == label
    if is_anomaly.all() or not is_anomaly.any():
        raise DataError(f"the test split needs images of class {label} and of other classes")
    model_errors = model.reconstruction_errors(dataset.x_test, dataset.y_test)
    pca_errors = pca_baseline(reduced, model.latent_dim).reconstruction_errors(dataset.x_test)
    return HoldoutResult(label, roc(is_anomaly, model_errors), roc(is_anomaly, pca_errors), model_errors,
                         pca_errors, is_anomaly)


def notice(summary: ThresholdSummary, class_names: list[str] | None) -> str:
    """The Anomaly page's "What to notice", from the threshold's summary as the page shows it."""
    text = (f"At the threshold {summary.threshold:.2f}, {summary.count} of {summary.out_of} test images "
            f"({100 * summary.fraction:.1f}%) reconstruct worse and are flagged.")
    if summary.per_class and class_names is not None:
        label, n = max(summary.per_class.items(), key=lambda item: (item[1], -item[0]))
        text += (f" The most flagged class is {class_names[label]}, {n} of them ({n / summary.count:.0%}): the "
                 "images the model copies worst are those least like what it learned from.")
    return text + " Reconstruction error is an anomaly score that needs no labels."
