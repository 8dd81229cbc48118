"""Stand-ins for data the recipes were never tuned on, built from what every machine has.

:mod:`explorer.recipes` picks settings by the data's shape and size. These sets check that rule on
data it was not measured on (issue: "defaults that generalize"): a smaller Fashion-MNIST, handwriting
at 28x28 (digits upsampled, strokes far thicker and blurrier than MNIST's), and Fashion-MNIST with its
polarity inverted and its images shifted (bright backgrounds: most pixels near 1, not 0).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from explorer.data.dataset import ImageDataset

SUBSET_TRAIN, SUBSET_TEST = 8000, 2000
SHIFT = 3  # pixels right and down; what leaves the frame is lost, what enters is background


def subset(dataset: ImageDataset, n_train: int, n_test: int, seed: int, name: str) -> ImageDataset:
    """A seeded random ``n_train``/``n_test`` pick of ``dataset``'s own train and test splits (never mixed)."""
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(len(dataset.x_train), min(n_train, len(dataset.x_train)), replace=False))
    test = np.sort(rng.choice(len(dataset.x_test), min(n_test, len(dataset.x_test)), replace=False))
    labels = dataset.y_train is not None
    return ImageDataset(name, dataset.x_train[train], dataset.y_train[train] if labels else None,
                        dataset.x_test[test], dataset.y_test[test] if labels else None, dataset.class_names,
                        f"{dataset.source} ({n_train}/{n_test} subset, seed {seed})")


def upsampled(dataset: ImageDataset, size: int, name: str) -> ImageDataset:
    """``dataset`` resized to ``size`` x ``size`` (bilinear, antialiased), values kept in [0, 1]."""
    def resize(x: np.ndarray) -> np.ndarray:
        big = torch.nn.functional.interpolate(torch.from_numpy(np.array(x)), size=(size, size), mode="bilinear",
                                              align_corners=False, antialias=True)
        return big.clamp_(0, 1).numpy()
    return ImageDataset(name, resize(dataset.x_train), dataset.y_train, resize(dataset.x_test), dataset.y_test,
                        dataset.class_names, f"{dataset.source} upsampled to {size}x{size}")


def inverted_shifted(dataset: ImageDataset, name: str) -> ImageDataset:
    """1 - x, moved :data:`SHIFT` pixels right and down (the background that enters is white, like the rest)."""
    def transform(x: np.ndarray) -> np.ndarray:
        out = np.ones_like(x)
        out[..., SHIFT:, SHIFT:] = 1.0 - x[..., :-SHIFT, :-SHIFT]
        return out
    return ImageDataset(name, transform(dataset.x_train), dataset.y_train, transform(dataset.x_test),
                        dataset.y_test, dataset.class_names, f"{dataset.source} inverted, shifted by {SHIFT} px")


def _named(name: str, data_dir) -> ImageDataset:
    from explorer.data import load_dataset  # the registry imports this package: loaded on first use
    return load_dataset(name, data_dir)


# The code size each is judged at: its source's gallery size. Upsampling is linear, so digits-28 lies in
# a 64-dimensional subspace where PCA-30 leaves little (0.80 per image against deep_ae-30's 2.42 after
# 233 epochs on 1,293 images): a code of 30 tests nothing there that a code of 8 does not.
CODE_SIZES = {"fashion-8k": 30, "digits-28": 8, "fashion-8k-inverted": 30}

# name -> builder(data_dir); each seeds its own picks, so a name always gives the same images.
STANDINS: dict[str, Callable[..., ImageDataset]] = {
    "fashion-8k": lambda data_dir=None: subset(_named("fashion-mnist", data_dir), SUBSET_TRAIN, SUBSET_TEST, 8,
                                              "fashion-8k"),
    "digits-28": lambda data_dir=None: upsampled(_named("digits", data_dir), 28, "digits-28"),
    "fashion-8k-inverted": lambda data_dir=None: inverted_shifted(
        subset(_named("fashion-mnist", data_dir), SUBSET_TRAIN, SUBSET_TEST, 9, "fashion-8k-inverted"),
        "fashion-8k-inverted"),
}
