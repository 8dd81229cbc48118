"""The validation split and the rules it drives: keep the best epoch, early stopping, the slow-rise stop."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from explorer.data import ImageDataset
from explorer.data.dataset import MIN_VALIDATION, validation_split
from explorer.registry import get_variant, make_config
from explorer.selection import (ANNEAL_FLOOR, PLATEAU_EPOCHS, RISE_EPOCHS, CosineSchedule, EpochSelection,
                                PlateauSchedule)
from explorer.training import Callback, train


@pytest.mark.parametrize("n, held", [(1437, 144), (60_000, 6000), (8000, 800), (600, MIN_VALIDATION),
                                     (50, 10), (9, 0)])
def test_validation_split_is_a_seeded_partition(n, held):
    fit, val = validation_split(n, seed=3)
    assert len(val) == held and len(fit) + len(val) == n
    assert np.array_equal(np.union1d(fit, val), np.arange(n)) and not np.intersect1d(fit, val).size
    again, _ = validation_split(n, seed=3)
    other, _ = validation_split(n, seed=4)
    assert np.array_equal(fit, again) and (held == 0 or not np.array_equal(fit, other))


def numbered_dataset(n_train=200, n_test=50) -> ImageDataset:
    """Images whose first pixel is their id / 1000: train ids 0..n_train-1, test ids from 500 up."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (n_train + n_test, 1, 4, 4)).astype(np.float32)
    ids = np.concatenate([np.arange(n_train), 500 + np.arange(n_test)])
    x[:, 0, 0, 0] = ids / 1000
    return ImageDataset("numbered", x[:n_train], None, x[n_train:], None, (), "test")


def test_trainer_fits_on_training_rows_and_chooses_on_validation_rows_never_on_test(monkeypatch):
    dataset = numbered_dataset()
    config = make_config("ae", epochs=3, batch_size=16, latent_dim=2)
    fitted, scored = set(), []
    variant = get_variant("ae").model_cls
    original_loss, original_errors = variant.loss, variant.reconstruction_errors

    def loss(self, x, y=None):
        fitted.update(np.rint(x[:, 0, 0, 0].detach().numpy() * 1000).astype(int).tolist())
        return original_loss(self, x, y)

    def reconstruction_errors(self, x, y=None, batch_size=256):
        scored.append(frozenset(np.rint(np.asarray(x)[:, 0, 0, 0] * 1000).astype(int).tolist()))
        return original_errors(self, x, y, batch_size)

    monkeypatch.setattr(variant, "loss", loss)
    monkeypatch.setattr(variant, "reconstruction_errors", reconstruction_errors)
    trainer = train(dataset, config, device="cpu", seed=5)
    fit_rows, val_rows = validation_split(200, seed=5)
    test_ids, val_ids = frozenset(500 + np.arange(50)), frozenset(val_rows.tolist())
    assert fitted == set(fit_rows.tolist()), "training saw images outside the fitting rows"
    assert set(scored) == {test_ids, val_ids} and not test_ids & val_ids and not fitted & val_ids
    assert all("val_sq_err" in record and "test_sq_err" in record for record in trainer.history)


class Spoil(Callback):
    """From epoch ``start`` on, adds noise to every weight after the epoch is scored (growing if asked),
    so the later epochs score worse; keeps the weights it saw at epoch ``start``."""

    def __init__(self, start: int, growing: bool = False):
        self.start, self.growing, self.kept = start, growing, None

    def on_epoch_end(self, trainer, record):
        if record["epoch"] < self.start:
            return
        if record["epoch"] == self.start:
            self.kept = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        scale = 0.3 * (record["epoch"] - self.start + 1) if self.growing else 1.0
        with torch.no_grad():
            for parameter in trainer.model.parameters():
                parameter.add_(scale * torch.randn_like(parameter))


def test_best_epoch_weights_are_restored_and_said(digits):
    spoil = Spoil(start=3)
    trainer = train(digits, make_config("ae", epochs=8, lr=1e-5), device="cpu", seed=0, callbacks=[spoil])
    assert trainer.status == "finished" and len(trainer.history) == 8
    best = min(trainer.history, key=lambda r: r["val_sq_err"])
    assert best["epoch"] == 3 and best.get("kept") == 1
    assert [r["epoch"] for r in trainer.history if r.get("kept")] == [3]
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, spoil.kept[name]), f"{name} is not epoch 3's"
    assert "kept the weights of epoch 3" in trainer.message
    errors = trainer.model.reconstruction_errors(digits.x_test)
    assert float(errors.mean()) == pytest.approx(best["test_sq_err"], rel=1e-5)


def test_keep_best_off_keeps_the_last_weights(digits):
    spoil = Spoil(start=3)
    trainer = train(digits, make_config("ae", epochs=5, lr=1e-5, keep_best=False), device="cpu", callbacks=[spoil])
    assert not any(r.get("kept") for r in trainer.history) and "kept" not in trainer.message
    assert not any(torch.equal(value, spoil.kept[name]) for name, value in trainer.model.state_dict().items())


def test_slow_rise_stops_the_stage_and_keeps_the_best(digits):
    spoil = Spoil(start=2, growing=True)
    trainer = train(digits, make_config("ae", epochs=60, lr=1e-5), device="cpu", callbacks=[spoil])
    errors = [r["val_sq_err"] for r in trainer.history]
    assert len(trainer.history) == 2 + RISE_EPOCHS, "the rise did not stop training after 5 rising epochs"
    assert all(b > a for a, b in zip(errors[1:], errors[2:]))
    assert f"rose for {RISE_EPOCHS} epochs in a row" in trainer.message
    assert "kept the weights of epoch 2" in trainer.message
    assert trainer.status == "finished"  # the kept weights are the best seen: a usable model
    assert all(torch.equal(value, spoil.kept[name]) for name, value in trainer.model.state_dict().items())


def test_early_stopping_waits_patience_epochs_after_the_best(digits):
    trainer = train(digits, make_config("ae", epochs=60, lr=1e-5, patience=3), device="cpu",
                    callbacks=[Spoil(start=4)])
    assert [r["epoch"] for r in trainer.history][-1] == 4 + 3
    assert "not improved for 3 epochs" in trainer.message and "kept the weights of epoch 4" in trainer.message


def test_fine_tuning_never_ends_worse_than_the_stage_start():
    model = torch.nn.Linear(2, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    selection = EpochSelection(model, "finetune", start_epoch=10, start_error=5.0)
    for epoch, error in ((11, 6.0), (12, 7.0)):
        with torch.no_grad():
            model.weight.add_(1.0)
        assert not selection.update(epoch, error).stop
    assert "from the start of stage 'finetune'" in selection.restore()
    assert all(torch.equal(value, start[name]) for name, value in model.state_dict().items())


@pytest.mark.parametrize("errors, stops", [
    ([10, 9, 8, 8.1, 8.2, 8.3, 8.4, 8.5], True),        # five rises in a row, 6% above the best
    ([10, 9, 8, 8.01, 8.02, 8.03, 8.04, 8.05], False),  # five rises but within 2% of the best: a flat tail
    ([10, 9, 8, 8.2, 8.1, 8.3, 8.4, 8.5, 8.6], False),  # noisy: never five rises in a row
])
def test_slow_rise_needs_a_trend_not_noise(errors, stops):
    selection = EpochSelection(torch.nn.Linear(1, 1), "train", 0, errors[0])
    verdicts = [selection.update(epoch, error) for epoch, error in enumerate(errors[1:], start=1)]
    assert verdicts[-1].stop is stops and not any(v.stop for v in verdicts[:-1])


def test_learning_rate_halves_after_a_plateau_down_to_a_floor_never_in_the_first_quarter():
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.16)
    schedule = PlateauSchedule([optimizer], epochs=20)  # a quarter: 5 epochs; a tenth: 2, so at least 3
    rates = []
    for error in [9.0] * 5 + [5, 4, 3] + [3.5] * 40:  # flat for the first quarter: no halving yet
        schedule.step(error)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[:8 + PLATEAU_EPOCHS] == [0.16] * (8 + PLATEAU_EPOCHS)
    assert rates[8 + PLATEAU_EPOCHS] == 0.08 and rates[-1] == pytest.approx(0.01)  # the floor, 0.16 / 16
    assert schedule.summary() == "learning rate lowered from 0.16 to 0.01 as the validation error levelled off"


def test_the_trainer_halves_the_rate_at_each_plateau(digits):
    # 16 epochs: the schedule starts after 4; spoiled from epoch 4 on, no epoch beats the 5th by much
    trainer = train(digits, make_config("ae", epochs=16, lr=1e-5), device="cpu", callbacks=[Spoil(start=4)])
    assert "learning rate lowered from 1e-05 to" in trainer.message


def test_cosine_schedule_lowers_the_rate_smoothly_to_a_hundredth_at_the_last_epoch():
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.2)
    schedule = CosineSchedule([optimizer], epochs=10)
    rates = [optimizer.param_groups[0]["lr"]]
    for error in [5.0, 4, 3, 3, 3, 3, 3, 3, 3, 3]:  # the validation error does not steer it
        optimizer.step()  # an epoch's updates come before the schedule's step
        schedule.step(error)
        rates.append(optimizer.param_groups[0]["lr"])
    assert all(b < a for a, b in itertools.pairwise(rates))
    assert rates[5] == pytest.approx((0.2 + 0.2 / ANNEAL_FLOOR) / 2)  # half way down at half way
    assert rates[-1] == pytest.approx(0.2 / ANNEAL_FLOOR)
    assert schedule.summary() == "learning rate lowered along a cosine from 0.2 to 0.002"


def test_the_trainer_follows_the_configured_schedule(digits):
    config = make_config("ae", epochs=4, lr=1e-3, lr_schedule="cosine")
    trainer = train(digits, config, device="cpu")
    assert "learning rate lowered along a cosine from 0.001 to 1e-05" in trainer.message
