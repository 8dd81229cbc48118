"""One Trainer for every variant: device, seeding, in-memory batching, callbacks, stop, divergence guard.

Batches are index-gathers from the whole training set held as one tensor on the device, never
per-sample DataLoader indexing. Loss terms accumulate on the device and are read once per epoch, so
a GPU epoch has no host sync per batch. On the CPU, ``fit`` flushes denormals to zero and picks
its thread count per epoch by timing (:class:`ThreadChoice`); ``python -m benchmarks`` measures both.
"""
from __future__ import annotations

import math
import statistics
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch
from torch import Tensor

from explorer.devices import resolve_device
from explorer.errors import ConfigError
from explorer.losses import squared_error_per_image
from explorer.registry import build
from explorer.tensors import as_tensor

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder, Stage


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


class ThreadChoice:
    """Picks torch's intra-op thread count for each CPU epoch: from batch 2 on, steps alternate
    between one thread and all of them, and the faster by median step time is kept for the rest of
    the epoch, as soon as one is 1.5x faster (a bad trial costs one step) or after batch 13.

    All threads win on an idle machine; on a shared one, two OpenMP threads that wait for each other
    while other processes hold the cores were measured 5-18x slower per deep_ae step than one. MLP
    results are bitwise the same either way; conv layers' can differ in the last bits.
    """
    TRIAL_BATCHES = range(2, 14)  # batch 1 pays first-call costs
    CLEAR_WIN = 1.5

    def __init__(self, device: torch.device):
        self.most = torch.get_num_threads()
        self.active = device.type == "cpu" and self.most > 1
        self.times: dict[int, list[float]] | None = None

    def before(self, batch: int) -> bool:
        """Set the thread count for ``batch``; True when its step should be timed."""
        if batch == self.TRIAL_BATCHES[0] and self.active:
            self.times = {self.most: [], 1: []}
        if self.times is None or batch not in self.TRIAL_BATCHES:
            return False
        torch.set_num_threads(self.most if batch % 2 else 1)
        return True

    def after(self, batch: int, seconds: float) -> None:
        self.times[torch.get_num_threads()].append(seconds)
        medians = [statistics.median(t) for t in self.times.values() if t]
        if batch == self.TRIAL_BATCHES[-1] or (len(medians) == 2 and max(medians) > self.CLEAR_WIN * min(medians)):
            self.decide()

    def decide(self) -> None:
        """Keep the faster count; all threads when the epoch ended before both were timed."""
        if self.times is not None:
            tried = [n for n, t in self.times.items() if t]
            torch.set_num_threads(min(tried, key=lambda n: statistics.median(self.times[n]))
                                  if len(tried) == 2 else self.most)
            self.times = None

    def restore(self) -> None:
        torch.set_num_threads(self.most)


class Trainer:
    """Fits ``model`` on a dataset. ``status`` ends as finished, stopped or diverged."""

    def __init__(self, model: "Autoencoder", *, device: str = "auto", seed: int = 0,
                 callbacks: Sequence[Callback] = (), eval_batch_size: int = 2048):
        self.model = model
        self.device = resolve_device(device)
        self.seed = seed
        self.callbacks = list(callbacks)
        self.eval_batch_size = eval_batch_size
        self.history: list[dict] = []
        self.status = "idle"
        self.message = ""
        self.progress: Progress | None = None
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask training to end after the current batch; the weights trained so far are kept."""
        self._stop.set()

    def fit(self, dataset: "ImageDataset") -> "Trainer":
        # Sigmoid and ELU nets and Adam's moments produce denormal floats, which x86 handles ~100x
        # slower: flushing them measured 1.3x per deep_ae step. The flag is per thread; it is set back
        # to torch's default (off) when fit returns, as is the thread count.
        torch.set_flush_denormal(True)
        self._threads = ThreadChoice(self.device)
        try:
            return self._fit(dataset)
        finally:
            torch.set_flush_denormal(False)
            self._threads.restore()

    def _fit(self, dataset: "ImageDataset") -> "Trainer":
        model = self.model.to(self.device)
        x_train, y_train = self._tensors(dataset.x_train, dataset.y_train)
        x_test, y_test = self._tensors(dataset.x_test, dataset.y_test)
        if model.conditional and y_train is None:
            raise ConfigError(f"{model.variant_name} is conditioned on labels, and {dataset.name} has none")
        torch.manual_seed(self.seed)
        self.status, self._started = "running", time.perf_counter()
        for callback in self.callbacks:
            callback.on_train_start(self)
        model.fit_data(x_train, y_train)
        stages = model.training_stages()
        total_epochs = sum(stage.epochs for stage in stages)
        batch_size = getattr(model.config, "batch_size", len(x_train))
        self._plan = (total_epochs, math.ceil(len(x_train) / batch_size), total_epochs * len(x_train))
        for stage in stages:
            if self._run_stage(stage, x_train, y_train, x_test, y_test, batch_size) != "running":
                break
        if not stages:
            self._record("fit", {}, x_test, y_test, 0.0)
        if self.status == "running":
            self.status = "finished"
        model.eval()
        for callback in self.callbacks:
            callback.on_train_end(self)
        return self

    def _tensors(self, x, y) -> tuple[Tensor, Tensor | None]:
        return as_tensor(x, self.device), (as_tensor(y, self.device) if y is not None else None)

    def _run_stage(self, stage: "Stage", x_train, y_train, x_test, y_test, batch_size: int) -> str:
        if stage.on_start is not None:
            stage.on_start()
        for _ in range(stage.epochs):
            good_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            started = time.perf_counter()
            sums = self._run_epoch(stage, x_train, y_train, batch_size)
            means = {name: float(total) / max(1, self._batches_done) for name, total in sums.items()}
            if not all(math.isfinite(v) for v in means.values()):
                self.model.load_state_dict(good_weights)
                bad = ", ".join(name for name, v in means.items() if not math.isfinite(v))
                self.status = "diverged"
                self.message = (f"training diverged in stage {stage.name!r} (non-finite {bad}); "
                                f"restored the weights from before epoch {len(self.history) + 1}. "
                                f"Try a smaller learning rate.")
                break
            self._record(stage.name, means, x_test, y_test, time.perf_counter() - started)
            if self._stop.is_set():
                self.status, self.message = "stopped", f"stopped by request after {len(self.history)} epochs"
                break
        return self.status

    def _run_epoch(self, stage: "Stage", x_train, y_train, batch_size: int) -> dict[str, Tensor]:
        self.model.train()
        order = torch.randperm(len(x_train), generator=self._shuffle_generator()).to(self.device)
        sums: dict[str, Tensor] = {}
        total_epochs, n_batches, total_samples = self._plan
        self._batches_done = 0
        for batch, start in enumerate(range(0, len(x_train), batch_size), 1):
            index = order[start:start + batch_size]
            timed = self._threads.before(batch)
            step_started = time.perf_counter()
            terms = self.model.training_step(x_train[index], y_train[index] if y_train is not None else None, stage)
            if timed:  # CPU only, where the step is synchronous
                self._threads.after(batch, time.perf_counter() - step_started)
            for name, value in terms.items():
                sums[name] = sums[name] + value if name in sums else value.clone()
            self._batches_done = batch
            self.progress = Progress(stage.name, len(self.history) + 1, total_epochs, batch, n_batches,
                                     len(self.history) * len(x_train) + start + len(index), total_samples,
                                     time.perf_counter() - self._started)
            for callback in self.callbacks:
                callback.on_batch_end(self, self.progress)
            if self._stop.is_set():
                break
        self._threads.decide()
        return sums

    def _shuffle_generator(self) -> torch.Generator:
        # One generator per epoch, derived from the seed, so a resumed or staged run reshuffles reproducibly.
        return torch.Generator().manual_seed(self.seed * 100_003 + len(self.history))

    def _record(self, stage: str, means: dict[str, float], x_test, y_test, seconds: float) -> None:
        record = {"stage": stage, "epoch": len(self.history) + 1, **means,
                  "test_sq_err": mean_squared_error_per_image(self.model, x_test, y_test, self.eval_batch_size),
                  "seconds": round(seconds, 4)}
        self.history.append(record)
        for callback in self.callbacks:
            callback.on_epoch_end(self, record)


def train(variant: str, dataset: "ImageDataset", config=None, *, device: str = "auto", seed: int = 0,
          callbacks: Sequence[Callback] = ()) -> Trainer:
    """Seed, build ``variant`` for ``dataset`` and fit it; the fitted model is ``trainer.model``."""
    seed_everything(seed)
    model = build(variant, config, input_shape=dataset.input_shape, n_classes=dataset.n_classes)
    return Trainer(model, device=device, seed=seed, callbacks=callbacks).fit(dataset)


@torch.inference_mode()
def mean_squared_error_per_image(model: "Autoencoder", x: Tensor, y: Tensor | None, batch_size: int = 2048) -> float:
    """Squared error summed over pixels, averaged over the images of ``x``."""
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        yb = y[start:start + batch_size] if y is not None else None
        total += float(squared_error_per_image(model.reconstruct(xb, yb), xb).sum())
    model.train(was_training)
    return total / max(1, len(x))
