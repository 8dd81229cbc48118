"""Shared fixtures: small seeded datasets built in memory, and the real digits."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.data import ImageDataset, load_dataset


def make_image_dataset(shape=(1, 8, 8), n_train=96, n_test=32, n_classes=3, seed=0) -> ImageDataset:
    """Images of ``n_classes`` noisy bars (one orientation per class) in [0, 1]: learnable, tiny, labelled."""
    rng = np.random.default_rng(seed)
    c, h, w = shape

    def images(n):
        labels = rng.integers(0, n_classes, n)
        x = rng.uniform(0, 0.2, (n, c, h, w)).astype(np.float32)
        for i, label in enumerate(labels):
            offset = int(label) * max(1, h // n_classes)
            x[i, :, offset:offset + max(1, h // (2 * n_classes)), :] = 0.9
        return x, labels

    x_train, y_train = images(n_train)
    x_test, y_test = images(n_test)
    return ImageDataset("synthetic", x_train, y_train, x_test, y_test,
                        tuple(f"bar{i}" for i in range(n_classes)), "tests")


@pytest.fixture
def tiny_dataset():
    return make_image_dataset()


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")
