"""Shared fixtures: small seeded datasets built in memory, and the real digits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from explorer.data import DataError, ImageDataset, load_dataset, load_user_data
from explorer.registry import build, make_config
from explorer.training import Callback, Trainer, seed_everything


def tiny_config(variant: str, latent_dim: int | None = None, epochs: int = 1, **changes):
    """``variant``'s defaults shrunk for a test: ``epochs`` epochs and one epoch per greedy pretraining
    stage; ``changes`` (e.g. batch_size) apply where the variant has such a field."""
    config = make_config(variant, latent_dim=latent_dim)
    fields = {spec.name for spec in config.field_specs()}
    shrunk = {name: epochs if name == "epochs" else 1 for name in fields if name.endswith("epochs")}
    return config.replace(**shrunk, **{name: value for name, value in changes.items() if name in fields})


def squared_error(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Squared error summed over each image's pixels, averaged over the images (``x_hat`` broadcasts)."""
    return float(np.square(np.asarray(x) - x_hat).reshape(len(x), -1).sum(1).mean())


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


class ChangedParameters(Callback):
    """For each training epoch, its stage and the names of the model's parameters it changed:
    what greedy layer-wise tests check."""

    def on_train_start(self, trainer):
        self.before, self.epochs = self._snapshot(trainer), []

    def on_epoch_end(self, trainer, record):
        now = self._snapshot(trainer)
        self.epochs.append((record["stage"], {name for name, value in now.items()
                                              if not torch.equal(value, self.before[name])}))
        self.before = now

    @staticmethod
    def _snapshot(trainer) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in trainer.model.named_parameters()}


@pytest.fixture
def tiny_dataset():
    return make_image_dataset()


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """torch and numpy's BLAS on one thread for the whole suite: its models are small, so a second
    thread mostly waits. On a shared 2-core machine two threads waiting for each other were measured
    ~8x slower for small nets (dbn_ae: 135 s against 17 s) and ~100x for scikit-learn's
    LogisticRegression on digits (13.5 s against 0.11 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


def refused(path, *expected, **kwargs) -> str:
    """The one-line DataError message for loading user data at ``path``, checked to name it and ``expected``."""
    with pytest.raises(DataError) as error:
        load_user_data(path, **kwargs)
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    for text in expected:
        assert text in message
    return message


def greedy_stage_changes(variant: str, **config) -> tuple:
    """The seeded model of ``variant`` trained on the bars with ``config``, and which parameters each
    epoch changed (:class:`ChangedParameters`): what the greedy layer-wise tests check."""
    dataset = make_image_dataset()
    seed_everything(0)
    model = build(variant, make_config(variant, **config), input_shape=dataset.input_shape)
    changes = ChangedParameters()
    Trainer(model, device="cpu", seed=0, callbacks=[changes]).fit(dataset)
    return model, changes
