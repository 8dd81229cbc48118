"""The Trainer on every path a user meets: learning, stopping, diverging, reproducing."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer.errors import ConfigError, DeviceError
from explorer.registry import build, make_config
from explorer.training import Callback, Trainer, seed_everything, train
from explorer.devices import available_devices, resolve_device


def test_loss_falls_on_digits(digits):
    trainer = train(digits, make_config("deep_ae", epochs=8), device="cpu", seed=0)
    first, last = trainer.history[0], trainer.history[-1]
    assert trainer.status == "finished" and len(trainer.history) == 8
    assert last["recon"] < 0.8 * first["recon"]
    assert last["test_sq_err"] < 0.8 * first["test_sq_err"]
    assert {"stage", "epoch", "recon", "test_sq_err", "seconds"} <= set(last)


class StopAtBatch(Callback):
    def __init__(self, batch):
        self.batch, self.seen = batch, []

    def on_batch_end(self, trainer, progress):
        self.seen.append((progress.epoch, progress.batch))
        if progress.epoch == 2 and progress.batch == self.batch:
            trainer.request_stop()


def test_stop_request_is_honoured_within_one_batch_and_keeps_the_model(digits):
    stopper = StopAtBatch(3)
    trainer = train(digits, make_config("ae", epochs=50), device="cpu", seed=0, callbacks=[stopper])
    assert trainer.status == "stopped"
    assert stopper.seen[-1] == (2, 3), "training went on after the stop request"
    assert len(trainer.history) == 2
    assert trainer.history[-1]["test_sq_err"] < trainer.history[0]["test_sq_err"] * 1.5
    assert not trainer.model.training


class PoisonWeights(Callback):
    """Writes NaN into the first weight during epoch 3, as an exploding update would."""

    def on_train_start(self, trainer):
        self.after_epoch_2 = None

    def on_epoch_end(self, trainer, record):
        if record["epoch"] == 2:
            self.after_epoch_2 = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    def on_batch_end(self, trainer, progress):
        if progress.epoch == 3 and progress.batch == 2:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))


def test_divergence_guard_stops_and_restores_last_good_weights(digits):
    poison = PoisonWeights()
    trainer = train(digits, make_config("ae", epochs=10), device="cpu", seed=0, callbacks=[poison])
    assert trainer.status == "diverged"
    assert "non-finite" in trainer.message and "learning rate" in trainer.message
    assert len(trainer.history) == 2
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, poison.after_epoch_2[name]), name


def test_same_seed_same_weights_different_seed_different(tiny_dataset):
    def weights(seed):
        trainer = train(tiny_dataset, make_config("vae", epochs=3), device="cpu", seed=seed)
        return trainer.model.state_dict()

    a, b, c = weights(7), weights(7), weights(8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_progress_reports_rate_and_time_left(tiny_dataset):
    seen = []

    class Record(Callback):
        def on_batch_end(self, trainer, progress):
            seen.append(progress)

    train(tiny_dataset, make_config("ae", epochs=2, batch_size=32), device="cpu", callbacks=[Record()])
    last = seen[-1]
    assert len(seen) == 2 * 3 and last.batch == last.n_batches == 3
    fitted = 96 - 19  # a fifth of 96 images is held out for validation (at most a fifth, up to 100)
    assert last.samples_seen == last.total_samples == 2 * fitted and last.fraction == 1.0
    assert last.samples_per_second > 0 and last.seconds_left == 0


def test_devices_auto_cpu_and_absent():
    assert "cpu" in available_devices()
    assert resolve_device("cpu").type == "cpu"
    assert str(resolve_device("auto")) in available_devices()
    absent = "cuda:7" if torch.cuda.device_count() < 8 else "mps"
    with pytest.raises(DeviceError, match="available: cpu"):
        resolve_device(absent)


def test_bf16_training_autocasts_the_step_and_keeps_float32_weights(digits):
    """bf16 autocasts the training step's matmuls; the weights and the test pass stay float32, and the
    result tracks fp32's (deep_ae-8 on digits, 20 epochs from the same seed)."""
    autocast_seen = []

    class SpiedTrainer(Trainer):
        def _run_epoch(self, stage, run):
            def spied_step(x, y):
                autocast_seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
                return stage.step(x, y)
            return super()._run_epoch(dataclasses.replace(stage, step=spied_step), run)

    config = make_config("deep_ae", latent_dim=8, epochs=20)
    fp32 = train(digits, config, device="cpu", seed=0)
    seed_everything(0)
    bf16 = SpiedTrainer(build("deep_ae", config, input_shape=digits.input_shape), device="cpu", seed=0,
                        precision="bf16").fit(digits)
    assert set(autocast_seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())
    assert bf16.history[-1]["test_sq_err"] == pytest.approx(fp32.history[-1]["test_sq_err"], rel=0.05)
    assert bf16.history[-1]["test_sq_err"] < 0.5 * bf16.history[0]["test_sq_err"]


def test_unknown_precision_is_refused(tiny_dataset):
    model = build("ae", make_config("ae", epochs=1), input_shape=tiny_dataset.input_shape)
    with pytest.raises(ConfigError, match="precision"):
        Trainer(model, device="cpu", precision="fp8")


def test_inference_runs_on_one_thread_when_other_processes_fill_the_cores(monkeypatch):
    """Batched inference (a page encoding a split) pins one thread on a busy machine, all of them on an
    idle one, and gives the caller its thread count back either way."""
    from explorer import threads
    model = build("ae", make_config("ae", latent_dim=2), input_shape=(1, 4, 4))
    seen = []
    model.encode = lambda x, y=None: (seen.append(torch.get_num_threads()), x.flatten(1)[:, :2])[1]
    with threads.torch_threads(2):
        for busy in (True, False):
            monkeypatch.setattr(threads, "cores_busy", lambda busy=busy: busy)
            monkeypatch.setitem(threads._last_check, "at", -threads.BUSY_CHECK_S)
            model.encode_array(np.zeros((3, 1, 4, 4), np.float32))
            assert torch.get_num_threads() == 2
    assert seen == [1, 2]
