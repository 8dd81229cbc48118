"""One Trainer for every variant: device, seeding, in-memory batching, callbacks, stop, divergence guard.

Batches are index-gathers from the whole training set held as one tensor on the device, never
per-sample DataLoader indexing. Loss terms accumulate on the device and are read once per epoch, so
a GPU epoch has no host sync per batch. On the CPU, ``fit`` picks its thread count as it goes
(:class:`ThreadChoice`); ``python -m benchmarks`` measures that against the other levers.
"""
from __future__ import annotations

import collections
import math
import os
import statistics
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch
from torch import Tensor

from explorer.devices import autocast, resolve_device
from explorer.errors import ConfigError
from explorer.losses import squared_error_per_image
from explorer.registry import build
from explorer.tensors import INFERENCE_BATCH, as_tensor

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
    """Picks torch's intra-op thread count while training on the CPU: all threads, or one.

    It starts with one thread when other processes' runnable threads already fill every core, else
    with all. After 10 s of training it tries the other count for a step or two, and switches when
    that is 1.5x faster than the recent steps; the next try comes after twice the wait while the
    choice holds (20 s, 40 s, ...), so a wrong try costs little. On a shared machine two OpenMP threads that
    wait for each other were measured 4-40x slower per deep_ae step than one; on an idle one, all
    threads win. MLP results are bitwise the same either way; conv layers' can differ in the last bits.
    """
    FIRST_WAIT_S = 10.0
    CLEAR_WIN = 1.5

    def __init__(self, device: torch.device):
        self.most = torch.get_num_threads()
        self.active = device.type == "cpu" and self.most > 1
        self.current = 1 if self.active and _cores_busy() else self.most
        torch.set_num_threads(self.current)
        self.recent: collections.deque[float] = collections.deque(maxlen=8)  # step seconds at ``current``
        self.tried: list[float] | None = None  # step seconds at the other count, during a try
        self.wait_s, self.next_try = self.FIRST_WAIT_S, time.perf_counter() + self.FIRST_WAIT_S

    def before(self) -> None:
        """Called before each step: starts a try when it is due."""
        if self.active and self.tried is None and len(self.recent) >= 4 and time.perf_counter() >= self.next_try:
            self.tried = []
            torch.set_num_threads(1 if self.current > 1 else self.most)

    def after(self, seconds: float) -> None:
        """Called after each full-batch step with its duration (CPU steps are synchronous)."""
        if not self.active:
            return
        if self.tried is None:
            self.recent.append(seconds)
            return
        self.tried.append(seconds)
        usual = statistics.median(self.recent)
        if min(self.tried) * self.CLEAR_WIN < usual:  # clearly faster: switch
            self.current, self.wait_s = torch.get_num_threads(), self.FIRST_WAIT_S
            self.recent.clear()
        elif len(self.tried) < 2 and seconds < self.CLEAR_WIN * usual:
            return  # not clear either way: one more step
        else:
            self.wait_s *= 2
        torch.set_num_threads(self.current)
        self.tried, self.next_try = None, time.perf_counter() + self.wait_s

    def restore(self) -> None:
        torch.set_num_threads(self.most)


def _cores_busy() -> bool:
    """Whether other processes' runnable threads fill every core: the median of five reads, 10 ms
    apart, of the running-task count in /proc/loadavg (less this reader); elsewhere the 1-minute
    load average; False where neither is known."""
    try:
        others = []
        for _ in range(5):
            with open("/proc/loadavg") as loadavg:
                others.append(int(loadavg.read().split()[3].split("/")[0]) - 1)
            time.sleep(0.01)
        busy = statistics.median(others)
    except (OSError, ValueError, IndexError):
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            return False
    return busy >= (os.cpu_count() or 1)


class Trainer:
    """Fits ``model`` on a dataset. ``status`` ends as finished, stopped or diverged."""

    def __init__(self, model: "Autoencoder", *, device: str = "auto", seed: int = 0,
                 callbacks: Sequence[Callback] = (), eval_batch_size: int = INFERENCE_BATCH, precision: str = "fp32"):
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
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask training to end after the current batch; the weights trained so far are kept."""
        self._stop.set()

    def fit(self, dataset: "ImageDataset") -> "Trainer":
        self._threads = ThreadChoice(self.device)
        try:
            return self._fit(dataset)
        finally:
            self._threads.restore()  # the calling thread gets its thread count back

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
            self._threads.before()
            step_started = time.perf_counter()
            with autocast(self.device, self.precision):
                terms = self.model.training_step(x_train[index], y_train[index] if y_train is not None else None,
                                                 stage)
            if len(index) == batch_size:
                self._threads.after(time.perf_counter() - step_started)
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
          callbacks: Sequence[Callback] = (), precision: str = "fp32") -> Trainer:
    """Seed, build ``variant`` for ``dataset`` and fit it; the fitted model is ``trainer.model``."""
    seed_everything(seed)
    model = build(variant, config, input_shape=dataset.input_shape, n_classes=dataset.n_classes)
    return Trainer(model, device=device, seed=seed, callbacks=callbacks, precision=precision).fit(dataset)


@torch.inference_mode()
def mean_squared_error_per_image(model: "Autoencoder", x: Tensor, y: Tensor | None, batch_size: int = INFERENCE_BATCH) -> float:
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
