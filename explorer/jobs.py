"""Training in a worker thread, for the UI: the thread never touches Streamlit; pages poll a snapshot.

Each browser session owns its own :class:`TrainingJob` (kept in its session state), so two
sessions training at once keep separate models, progress and stop buttons. Jobs run through the
process's bounded :mod:`explorer.pool`: while every slot is taken a job waits, queued, and its page
shows its place in the queue; stopping a queued job cancels it.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import ExplorerError
from explorer.pool import TrainingPool, shared_pool
from explorer.projection import make_projector
from explorer.registry import variant_of
from explorer.training import Callback, Progress, train

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig
    from explorer.data import ImageDataset

PREVIEW_POINTS = 400
DONE = ("finished", "stopped", "diverged", "failed", "cancelled")


@dataclass
class JobSnapshot:
    """What a page shows; replaced whole by the worker, so a reader never sees half an update."""
    progress: Progress | None = None
    history: list[dict] = field(default_factory=list)
    preview: np.ndarray | None = None          # (PREVIEW_POINTS, 2) codes of fixed test images
    preview_labels: np.ndarray | None = None
    status: str = "queued"                     # queued, starting, running, then one of DONE
    message: str = ""


class _SnapshotCallback(Callback):
    def __init__(self, job: "TrainingJob"):
        self.job = job

    def on_batch_end(self, trainer, progress):
        self.job._publish(progress=progress, status="running")

    def on_epoch_end(self, trainer, record):
        preview = latent_preview(trainer.model, self.job.preview_x, self.job.preview_y)
        self.job._publish(history=list(trainer.history), preview=preview)


def latent_preview(model, x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """(N, 2) map of the codes: the codes themselves for K <= 2, else their first two principal axes
    (signs fixed by the projector, so the live map does not flip between epochs)."""
    return make_projector("raw" if model.latent_dim <= 2 else "pca").fit_transform(model.encode_array(x, y))


class TrainingJob:
    """Trains a model with :func:`explorer.training.train` in a slot of a :class:`TrainingPool` (the
    process's by default); ``snapshot`` is safe to read at any time, and ``model`` is the fitted model
    once ``done``."""

    def __init__(self, dataset: "ImageDataset", config: "AutoencoderConfig", *, device: str = "cpu", seed: int = 0,
                 precision: str = "fp32", pool: TrainingPool | None = None):
        self.variant, self.dataset, self.config = variant_of(config), dataset, config
        self.device, self.seed, self.precision = device, seed, precision
        self.pool = pool
        self.model = None
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(dataset.x_test), min(PREVIEW_POINTS, len(dataset.x_test)), replace=False))
        self.preview_x = dataset.x_test[pick]
        self.preview_y = dataset.y_test[pick] if dataset.y_test is not None else None
        self.snapshot = JobSnapshot(preview_labels=self.preview_y)
        self.queued_at = self.started_at = None
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> "TrainingJob":
        """Queue the job in its pool; it trains as soon as a slot is free."""
        self.pool = self.pool or shared_pool()
        self.queued_at = time.time()
        self.pool.submit(self)
        return self

    def stop(self) -> None:
        """Cancel the job while it waits; while it trains, end training after the current batch (the
        weights trained so far are kept)."""
        self._stop.set()
        if self.pool is not None and self.pool.cancel(self):
            self._end(status="cancelled", message="Training cancelled before it started.")

    @property
    def position(self) -> int | None:
        """Place in the pool's queue (1: next), or None once the job trains or has ended."""
        return None if self.pool is None or self.done else self.pool.position(self)

    def queue_text(self) -> str | None:
        """What a page says while the job waits for a slot; None once it trains or has ended."""
        position = self.position
        if position is None:
            return None
        at_once = "one training" if self.pool.slots == 1 else f"{self.pool.slots} trainings"
        return (f"Waiting for a free training slot: number {position} in the queue (this server runs {at_once} "
                "at a time). It starts by itself; Cancel takes it out of the queue.")

    @property
    def waited(self) -> float | None:
        """Seconds the job waited for a slot, once it has one."""
        return None if self.started_at is None else self.started_at - self.queued_at

    @property
    def done(self) -> bool:
        return self.snapshot.status in DONE

    def join(self, timeout: float | None = None) -> None:
        """Wait until the job has ended (finished, stopped, failed or cancelled), or ``timeout`` seconds."""
        self._ended.wait(timeout)

    def run(self) -> None:
        """Train here, in the caller's thread (the pool's slot). A stop asked between leaving the queue and
        this call is seen by the Trainer at its first check."""
        self.started_at = time.time()
        self._publish(status="starting")
        try:
            trainer = train(self.dataset, self.config, device=self.device, seed=self.seed, precision=self.precision,
                            callbacks=[_SnapshotCallback(self)], stop=self._stop)
            self.model = trainer.model
            self._end(status=trainer.status, message=trainer.message, history=list(trainer.history))
        except ExplorerError as error:
            self._end(status="failed", message=str(error))
        except Exception as error:  # a worker must report, never die silently
            self._end(status="failed", message=f"{type(error).__name__}: {error}")
            traceback.print_exc()

    def _end(self, **changes) -> None:
        self._publish(**changes)
        self._ended.set()

    def _publish(self, **changes) -> None:
        with self._lock:
            self.snapshot = JobSnapshot(**{**self.snapshot.__dict__, **changes})
