"""One Trainer for every variant: device, in-memory batching, callbacks, stop, divergence guard, and
the weights chosen on a validation split (:mod:`explorer.selection`).

Batches are index-gathers from the whole training set held as one tensor on the device (uint8 where
that is exact, or memory-mapped from a store: :mod:`explorer.data.store`), never per-sample DataLoader
indexing; under torchrun each rank steps on its shard of every batch (:mod:`explorer.distributed`).
Loss terms accumulate on the device and are read once per epoch, so a GPU epoch has no host sync per
batch. On the CPU, ``fit`` picks its thread count as it goes
(:class:`explorer.threads.ThreadChoice`).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import Tensor

from explorer.data.dataset import validation_split
from explorer.data.store import TrainingImages, training_images
from explorer.distributed import World, current, data_parallel, mean_over_ranks, shard
from explorer.devices import autocast, resolve_device
from explorer.errors import ConfigError
from explorer.registry import build, variant_of
from explorer.selection import EpochSelection, Verdict, schedule_for
from explorer.tensors import INFERENCE_BATCH, as_tensor
from explorer.threads import ThreadChoice
from explorer.variants.base import Autoencoder

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig
    from explorer.data import ImageDataset
    from explorer.variants.base import Stage


def seed_everything(seed: int) -> None:
    """Seed torch's generators (model init, noise, reparameterisation) for reproducible CPU runs."""
    torch.manual_seed(seed)


@dataclass
class Progress:
    """Where training stands; what a progress bar shows."""
    stage: str
    epoch: int            # 1-based, counted over all stages
    total_epochs: int
    batch: int            # 1-based within the epoch
    n_batches: int
    samples_seen: int
    total_samples: int
    elapsed: float

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float:
        rate = self.samples_per_second
        return (self.total_samples - self.samples_seen) / rate if rate > 0 else math.inf

    @property
    def fraction(self) -> float:
        return self.samples_seen / self.total_samples if self.total_samples else 1.0


class Callback:
    """Hooks called by :class:`Trainer`; override the ones you need (minGPT style)."""

    def on_train_start(self, trainer: "Trainer") -> None: ...
    def on_batch_end(self, trainer: "Trainer", progress: Progress) -> None: ...
    def on_epoch_end(self, trainer: "Trainer", record: dict) -> None: ...
    def on_train_end(self, trainer: "Trainer") -> None: ...


@dataclass
class _Run:
    """What one ``fit`` works on: the splits on the training device (batches come from the ``fit_rows`` of
    ``x_train``; the other rows are ``x_val``), the batch size, the plan, the clock."""
    x_train: TrainingImages
    y_train: Tensor | None
    fit_rows: Tensor
    x_val: Tensor
    y_val: Tensor | None
    x_test: Tensor
    y_test: Tensor | None
    batch_size: int
    total_epochs: int
    threads: ThreadChoice
    started: float
    world: World  # the training processes: this one, or torchrun's ranks

    @property
    def n_batches(self) -> int:
        return math.ceil(len(self.fit_rows) / self.batch_size)

    @property
    def total_samples(self) -> int:
        return self.total_epochs * len(self.fit_rows)


class Trainer:
    """Fits ``model`` on a dataset. ``status`` ends as finished, stopped or diverged.

    Seeding is the caller's (:func:`train` seeds once, before building the model): the Trainer only
    derives each epoch's shuffle and the validation split from ``seed``. ``message`` says why training
    ended early, if it did, and which epoch's weights the model holds."""

    def __init__(self, model: "Autoencoder", *, device: str = "auto", seed: int = 0,
                 callbacks: Sequence[Callback] = (), eval_batch_size: int = INFERENCE_BATCH, precision: str = "fp32",
                 stop: threading.Event | None = None):
        self.model = model
        self.device = resolve_device(device)
        self.precision = precision
        autocast(self.device, precision)  # refuses an unknown precision before any work
        self.seed = seed
        self.callbacks = list(callbacks)
        self.eval_batch_size = eval_batch_size
        self.history: list[dict] = []
        self.status = "idle"
        self.message = ""
        self.progress: Progress | None = None
        self.replay = None  # the latent map's frames, when a ReplayRecorder (explorer.replay) is among the callbacks
        self._stop = stop if stop is not None else threading.Event()

    def request_stop(self) -> None:
        """Ask training to end after the current batch; the weights trained so far are kept."""
        self._stop.set()

    def fit(self, dataset: "ImageDataset") -> "Trainer":
        threads = ThreadChoice(self.device)
        try:
            return self._fit(dataset, threads)
        finally:
            threads.restore()  # the calling thread gets its thread count back

    def _fit(self, dataset: "ImageDataset", threads: ThreadChoice) -> "Trainer":
        run, stages = self.begin(dataset, threads)
        with data_parallel(self.model, run.world, self.seed) as for_ddp:  # DDP under torchrun, else as it is
            for stage in stages:
                self._run_stage(for_ddp(stage), run, whole_model=stage is stages[-1])
                if self.status != "running":
                    break
        if not stages:
            self._epoch_end(self.record_epoch("fit", {}, run, 0.0))
        if self.status == "running":
            self.status = "finished"
        self.model.eval()
        for callback in self.callbacks:
            callback.on_train_end(self)
        return self

    def begin(self, dataset: "ImageDataset", threads: ThreadChoice) -> tuple[_Run, list["Stage"]]:
        """Everything before the first batch: the splits on the device, the closed-form fit, the
        stages (their optimizers); :class:`explorer.stepping.Stepper` then steps through them itself."""
        model = self.model.to(self.device)
        x_train = training_images(dataset.x_train, self.device)  # uint8 or float, resident or memory-mapped
        y_train = as_tensor(dataset.y_train, self.device) if dataset.y_train is not None else None
        if model.conditional and y_train is None:
            raise ConfigError(f"{model.variant_name} is conditioned on labels, and {dataset.name} has none")
        self.status = "running"
        for callback in self.callbacks:
            callback.on_train_start(self)
        stages = model.training_stages()
        # Only iterative training has choices to make on held-out images; a closed-form fit (PCA) uses them all.
        rows = validation_split(len(x_train), self.seed) if any(stage.epochs for stage in stages) else (
            np.arange(len(x_train)), np.arange(0))
        fit_rows, val_rows = (torch.from_numpy(part).to(x_train.home) for part in rows)
        model.fit_data(x_train.subset(fit_rows), _rows(y_train, fit_rows))
        run = _Run(x_train, y_train, fit_rows, x_train.subset(val_rows), _rows(y_train, val_rows),
                   *self._tensors(dataset.x_test, dataset.y_test),
                   batch_size=getattr(model.config, "batch_size", len(x_train)),
                   total_epochs=sum(stage.epochs for stage in stages), threads=threads, started=time.perf_counter(),
                   world=current())
        return run, stages

    def _tensors(self, x, y) -> tuple[Tensor, Tensor | None]:
        return as_tensor(x, self.device), (as_tensor(y, self.device) if y is not None else None)

    def _run_stage(self, stage: "Stage", run: _Run, whole_model: bool) -> None:
        """``stage``'s epochs; on the stage that trains the whole model (the last), the validation rules of
        :class:`EpochSelection` choose when to stop and which weights to keep."""
        if stage.on_start is not None:
            stage.on_start()
        selection = schedule = None
        if whole_model and len(run.x_val) and stage.epochs:
            selection = EpochSelection(self.model, stage.name, len(self.history), self._validation_error(run),
                                       patience=getattr(self.model.config, "patience", 0))
            schedule = schedule_for(self.model.config, stage.optimizers, stage.epochs)
        for _ in range(stage.epochs):
            verdict = self._epoch(stage, run, selection)
            if self.status != "running" or verdict.stop:
                self._say(verdict.reason)
                break
            if schedule is not None:
                schedule.step(selection.last_error)
        if schedule is not None:
            self._say(schedule.summary())
        if selection is not None and getattr(self.model.config, "keep_best", True):
            self._say(selection.restore())
            for record in self.history:
                if record["epoch"] == selection.best_epoch:
                    record["kept"] = 1  # the weights the model ends with (checkpoint histories are numbers)

    def _say(self, sentence: str) -> None:
        self.message = "; ".join(part for part in (self.message, sentence) if part)

    def _validation_error(self, run: _Run) -> float:
        errors = self.model.reconstruction_errors(run.x_val, run.y_val, self.eval_batch_size)
        return float(errors.mean())

    def _epoch(self, stage: "Stage", run: _Run, selection: EpochSelection | None) -> Verdict:
        """One epoch of ``stage``, recorded and judged by ``selection``; a non-finite loss puts back the
        weights from before it."""
        good_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        started = time.perf_counter()
        sums, n_batches = self._run_epoch(stage, run)
        means = epoch_means(sums, n_batches)
        if not all(math.isfinite(v) for v in means.values()):
            self.model.load_state_dict(good_weights)
            bad = ", ".join(name for name, v in means.items() if not math.isfinite(v))
            self.status = "diverged"
            self._say(f"training diverged in stage {stage.name!r} (non-finite {bad}); restored the weights from "
                      f"before epoch {len(self.history) + 1}. Try a smaller learning rate.")
            return Verdict(stop=True)
        record = self.record_epoch(stage.name, means, run, time.perf_counter() - started)
        if self._stop.is_set():
            done = len(self.history) - (self.progress is not None and self.progress.batch < run.n_batches)
            self.status = "stopped"
            self._say(f"stopped by request after {done} full epoch(s)"
                      + (" and part of the next" if done < len(self.history) else ""))
        # Judged before the callbacks run, so the weights kept as the best are the ones that were scored.
        verdict = selection.update(record["epoch"], record["val_sq_err"]) if selection is not None else Verdict()
        self._epoch_end(record)
        return verdict

    def _run_epoch(self, stage: "Stage", run: _Run) -> tuple[dict[str, Tensor], int]:
        """The loss terms summed over the epoch's batches (on the device), and how many batches ran."""
        self.model.train()
        order = self.epoch_order(run)
        sums: dict[str, Tensor] = {}
        batches_done = 0
        for start in range(0, len(run.fit_rows), run.batch_size):
            batch = order[start:start + run.batch_size]
            add_terms(sums, self.train_batch(stage, run, batch))
            batches_done += 1
            self.progress = Progress(stage.name, len(self.history) + 1, run.total_epochs, batches_done,
                                     run.n_batches, len(self.history) * len(run.fit_rows) + start + len(batch),
                                     run.total_samples, time.perf_counter() - run.started)
            for callback in self.callbacks:
                callback.on_batch_end(self, self.progress)
            if self._stop.is_set():
                break
        return mean_over_ranks(sums, run.world), batches_done

    def epoch_order(self, run: _Run) -> Tensor:
        """This epoch's shuffled positions in ``run.fit_rows``, from a generator derived from the seed and
        the epoch, so a resumed, staged or stepped run reshuffles reproducibly."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + len(self.history))
        return torch.randperm(len(run.fit_rows), generator=generator).to(run.fit_rows.device)

    def train_batch(self, stage: "Stage", run: _Run, batch: Tensor) -> dict[str, Tensor]:
        """One step of ``stage`` on the global ``batch`` (positions in ``run.fit_rows``; this rank steps on
        its shard); the loss terms, still on the device."""
        index = run.fit_rows[shard(batch, run.world)]
        run.threads.before()
        step_started = time.perf_counter()
        with autocast(self.device, self.precision):
            terms = stage.step(run.x_train.batch(index), _rows(run.y_train, index))
        if len(batch) == run.batch_size:
            run.threads.after(time.perf_counter() - step_started)
        return terms

    def record_epoch(self, stage: str, means: dict[str, float], run: _Run, seconds: float) -> dict:
        """The epoch's history record: its mean loss terms, validation error (what chooses), test error
        (shown only), seconds."""
        errors = self.model.reconstruction_errors(run.x_test, run.y_test, self.eval_batch_size)
        record = {"stage": stage, "epoch": len(self.history) + 1, **means,
                  **({"val_sq_err": self._validation_error(run)} if len(run.x_val) else {}),
                  "test_sq_err": float(errors.mean()) if len(errors) else 0.0, "seconds": round(seconds, 4)}
        self.history.append(record)
        return record

    def _epoch_end(self, record: dict) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(self, record)


def add_terms(sums: dict[str, Tensor], terms: dict[str, Tensor]) -> None:
    """Add one batch's loss ``terms`` to the epoch's running ``sums`` (on the device)."""
    for name, value in terms.items():
        sums[name] = sums[name] + value if name in sums else value.clone()


def epoch_means(sums: dict[str, Tensor], n_batches: int) -> dict[str, float]:
    """The epoch's mean loss terms from their ``sums`` over ``n_batches`` (one host read per term)."""
    return {name: float(total) / max(1, n_batches) for name, total in sums.items()}


def _rows(labels: Tensor | None, index: Tensor) -> Tensor | None:
    """``labels`` at ``index`` (made wherever the images live), or None for unlabeled data."""
    return labels[index.to(labels.device)] if labels is not None else None


def train(dataset: "ImageDataset", config: "AutoencoderConfig", *, device: str = "auto", seed: int = 0,
          callbacks: Sequence[Callback] = (), precision: str = "fp32", stop: threading.Event | None = None) -> Trainer:
    """Seed torch once (the weights' initialisation and every random draw of training), build the
    config's variant for ``dataset`` and fit it; the fitted model is ``trainer.model``. ``stop``, when
    set from another thread, ends training after the current batch. The latent map's frames, epoch by
    epoch, are recorded too (:class:`explorer.replay.ReplayRecorder`): ``trainer.replay`` and
    ``trainer.model.replay_``, which :func:`explorer.checkpoint.save` writes beside the weights."""
    from explorer.replay import ReplayRecorder  # it builds on this module's Callback
    seed_everything(seed)
    model = build(variant_of(config), config, input_shape=dataset.input_shape, n_classes=dataset.n_classes)
    recorder = ReplayRecorder(dataset.x_test, dataset.y_test, seed=seed)
    return Trainer(model, device=device, seed=seed, callbacks=[recorder, *callbacks], precision=precision,
                   stop=stop).fit(dataset)
