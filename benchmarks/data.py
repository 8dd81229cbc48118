"""The data and models the benchmarks share: Fashion-MNIST (or a synthetic stand-in for --quick)
and the three architectures of the issue, built at the sizes of a run."""
from __future__ import annotations

import numpy as np

from benchmarks.common import Sizes
from explorer.data import ImageDataset, load_dataset
from explorer.registry import build, make_config
from explorer.training import seed_everything

LATENT = {"deep_ae": 30, "vae": 16, "conv_ae": 30}   # deep_ae 784-1000-500-250-30, vae 784-512-16
PLAIN_BATCH, PLAIN_LR = 128, 1e-3                   # pytorch/examples' batch and Adam rate


def synthetic(n_train: int, n_test: int, seed: int = 0) -> ImageDataset:
    """28x28 images of one bright bar (row set by the class) on faint noise, 10 classes."""
    rng = np.random.default_rng(seed)

    def images(n):
        labels = rng.integers(0, 10, n)
        x = rng.uniform(0, 0.2, (n, 1, 28, 28)).astype(np.float32)
        for i, label in enumerate(labels):
            x[i, :, 2 * label + 4:2 * label + 7, 3:25] = 0.9
        return x, labels

    (x_train, y_train), (x_test, y_test) = images(n_train), images(n_test)
    return ImageDataset("synthetic", x_train, y_train, x_test, y_test, tuple(map(str, range(10))), "benchmarks")


def dataset(sizes: Sizes) -> ImageDataset:
    if sizes.dataset == "synthetic":
        return synthetic(sizes.n_train or 512, sizes.n_test or 128)
    full = load_dataset(sizes.dataset)
    if sizes.n_train is None and sizes.n_test is None:
        return full
    return ImageDataset(full.name, full.x_train[:sizes.n_train], full.y_train[:sizes.n_train],
                        full.x_test[:sizes.n_test], full.y_test[:sizes.n_test], full.class_names, full.source)


def subset(data: ImageDataset, n_train: int | None) -> ImageDataset:
    """The first ``n_train`` training images (all of them for None), the whole test split."""
    if n_train is None or n_train >= len(data.x_train):
        return data
    y_train = data.y_train[:n_train] if data.y_train is not None else None
    return ImageDataset(data.name, data.x_train[:n_train], y_train, data.x_test, data.y_test,
                        data.class_names, data.source)


def config(variant: str, sizes: Sizes, *, epochs: int, batch_size: int = PLAIN_BATCH, lr: float = PLAIN_LR):
    """The variant's config at this run's sizes; one architecture for both sides of a comparison."""
    shape = {"deep_ae": {"hidden": sizes.deep_hidden}, "vae": {"hidden": sizes.vae_hidden},
             "conv_ae": {"channels": sizes.conv_channels}}[variant]
    return make_config(variant, latent_dim=LATENT[variant], epochs=epochs, batch_size=batch_size, lr=lr, **shape)


def model(variant: str, data: ImageDataset, cfg, seed: int = 0):
    """A freshly initialised model; the same seed gives both sides identical starting weights."""
    seed_everything(seed)
    return build(variant, cfg, input_shape=data.input_shape, n_classes=data.n_classes)


def tuned(sizes: Sizes) -> tuple[int, float]:
    """The Trainer's larger batch and its learning rate, scaled by sqrt(batch ratio) (Adam)."""
    return sizes.tuned_batch, PLAIN_LR * (sizes.tuned_batch / PLAIN_BATCH) ** 0.5
