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
