"""Step mode: k steps are the first k batches of train() with the same seed, bitwise (CPU, MLPs), across an
epoch's end too; an epoch per click only on small data; staged and closed-form variants say why not."""
from __future__ import annotations

import pytest
import torch

from explorer import stepping
from explorer.errors import ConfigError
from explorer.stepping import Stepper
from explorer.training import Callback, train
from tests.conftest import make_image_dataset, tiny_config


class WeightsAfter(Callback):
    """The model's weights after the ``k``-th batch of a whole run, which then stops."""

    def __init__(self, k: int):
        self.k, self.seen, self.weights = k, 0, None

    def on_batch_end(self, trainer, progress):
        self.seen += 1
        if self.seen == self.k:
            self.weights = {name: value.detach().clone() for name, value in trainer.model.state_dict().items()}
            trainer.request_stop()


@pytest.fixture(scope="module")
def bars():
    return make_image_dataset(n_train=120, n_test=40)  # 96 rows fit, 24 validate: 3 batches of 32 an epoch


@pytest.mark.parametrize("variant, k", [("deep_ae", 2), ("deep_ae", 5), ("vae", 5), ("aae", 4), ("rbm", 4)])
def test_k_steps_are_the_first_k_batches_of_train(bars, variant, k):
    """Across the epoch's end (k > 3) too: the next epoch's order comes from the same seeded generator. The
    VAE draws its noise from torch's generator, the AAE steps three optimizers, the RBM samples its chain."""
    config = tiny_config(variant, latent_dim=2, epochs=3, batch_size=32)
    whole = WeightsAfter(k)
    train(bars, config, device="cpu", seed=7, callbacks=[whole])
    stepper = Stepper(bars, config, seed=7)
    for _ in range(k):
        stepper.step_batch()
    stepped = stepper.model.state_dict()
    assert stepper.n_batches == 3 and stepper.updates == k and stepper.epoch == 1 + k // 3
    assert all(torch.equal(stepped[name], value) for name, value in whole.weights.items())


def test_an_epoch_step_records_what_the_trainer_records(bars):
    config = tiny_config("deep_ae", latent_dim=2, epochs=1, batch_size=32)
    whole = train(bars, config, device="cpu", seed=1)
    stepper = Stepper(bars, config, seed=1)
    stepper.step_batch()
    stepper.step_epoch()  # the rest of epoch 1
    assert stepper.updates == 3 and stepper.batch == 0 and stepper.epoch == 2
    for name in ("stage", "epoch", "recon", "val_sq_err", "test_sq_err"):
        assert stepper.history[0][name] == whole.history[0][name], name
    stepper.step_epoch()
    assert stepper.updates == 6 and [r["epoch"] for r in stepper.history] == [1, 2]


def test_status_map_and_reconstructions_follow_the_steps(bars):
    stepper = Stepper(bars, tiny_config("deep_ae", latent_dim=2, batch_size=32), seed=0)
    before, (images, reconstructions) = stepper.map_positions(), stepper.reconstructions()
    assert before.shape == (40, 2) and images.shape == reconstructions.shape == (4, 1, 8, 8)
    stepper.step_batches(2)
    assert stepper.status().startswith("Epoch 1 · batch 2 of 3 · 2 updates so far · last batch: recon ")
    assert not torch.equal(torch.from_numpy(before), torch.from_numpy(stepper.map_positions()))


def test_a_click_is_bounded(bars, monkeypatch):
    stepper = Stepper(bars, tiny_config("deep_ae", latent_dim=2, epochs=50, batch_size=8), seed=0)
    stepper.step_batches(1000)
    assert stepper.updates == stepping.MAX_BATCHES_PER_CLICK == 20
    monkeypatch.setattr(stepping, "MAX_EPOCH_STEP_IMAGES", 50)
    with pytest.raises(ConfigError, match="an epoch here is 96 images, too long to train on a click"):
        stepper.step_epoch()


@pytest.mark.parametrize("variant, expected", [("stacked_ae", "trains greedily, one layer at a time"),
                                               ("dbn_ae", "trains greedily, one layer at a time"),
                                               ("pca", "is fitted in closed form")])
def test_what_cannot_be_stepped_says_why_in_one_line(bars, variant, expected):
    with pytest.raises(ConfigError, match=expected) as error:
        Stepper(bars, tiny_config(variant, latent_dim=2), seed=0)
    assert "\n" not in str(error.value)
