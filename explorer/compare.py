"""Every variant side by side: the same test images reconstructed by each model and by PCA of the
same code size, one row per method, in the manner of Hinton & Salakhutdinov (2006), Fig. 2.

The table of numbers next to it is :func:`explorer.report.report_row` / ``markdown_table``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np
import torch

from explorer.baselines import pca_baseline
from explorer.losses import squared_error_per_image

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder


def pick_examples(labels: np.ndarray | None, n: int, seed: int = 0, n_test: int | None = None) -> np.ndarray:
    """``n`` test indices, one class after another where there are labels (0, 1, 2, …, as in the
    paper's figure), else spread evenly; sorted for a fixed, reproducible row."""
    if labels is None:
        return np.linspace(0, n_test - 1, min(n, n_test)).round().astype(int)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    picked = [rng.choice(np.flatnonzero(labels == classes[i % len(classes)])) for i in range(n)]
    return np.array(picked, dtype=int)


def reconstruction_rows(models: Iterable[tuple[str, "Autoencoder"]], dataset: "ImageDataset",
                        indices: np.ndarray, include_pca_at: int | None = None
                        ) -> list[tuple[str, np.ndarray, float]]:
    """[(label, images (n, C, H, W), mean squared error per image)]: the originals first, then PCA
    with ``include_pca_at`` components if given, then each model in the given order."""
    x = dataset.x_test[indices]
    y = dataset.y_test[indices] if dataset.y_test is not None else None
    rows = [("original", x, 0.0)]
    methods = list(models)
    if include_pca_at is not None:
        methods.insert(0, (f"PCA-{include_pca_at}", pca_baseline(dataset, include_pca_at)))
    for label, model in methods:
        x_hat = np.clip(model.reconstruct_array(x, y), 0, 1)
        rows.append((label, x_hat, float(squared_error_per_image(torch.from_numpy(x_hat), torch.from_numpy(x)).mean())))
    return rows


def notice(rows: list[tuple[str, np.ndarray, float]], k: int) -> str:
    """The Compare page's "What to notice", from the rows it shows (:func:`reconstruction_rows` with PCA):
    how many models beat PCA at the same code size on these images, and the best."""
    pca_label = f"PCA-{k}"
    errors = {label: error for label, _, error in rows if label != "original"}
    pca = errors.pop(pca_label)
    if not errors:
        return f"On these {len(rows[0][1])} test images PCA-{k}'s error is {pca:.2f}: pick models to compare with it."
    best = min(errors, key=errors.get)
    beating = sum(error < pca for error in errors.values())
    return (f"On these {len(rows[0][1])} test images, {beating} of {len(errors)} models reconstruct better than "
            f"PCA with the same {k} numbers per image (error {pca:.2f}); the best is {best} at {errors[best]:.2f} "
            f"({errors[best] / pca:.2f}x PCA). A nonlinear code can keep more of an image than the best linear "
            "projection of that size (Hinton & Salakhutdinov 2006).")
