"""Training in a worker thread, for the UI: the thread never touches Streamlit; pages poll a snapshot.

Each browser session owns its own :class:`TrainingJob` (kept in its session state), so two
sessions training at once keep separate models, progress and stop buttons.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import ExplorerError
from explorer.projection import make_projector
from explorer.registry import variant_of
from explorer.training import Callback, Progress, train

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig
    from explorer.data import ImageDataset

PREVIEW_POINTS = 400


@dataclass
class JobSnapshot:
    """What a page shows; replaced whole by the worker, so a reader never sees half an update."""
    progress: Progress | None = None
    history: list[dict] = field(default_factory=list)
    preview: np.ndarray | None = None          # (PREVIEW_POINTS, 2) codes of fixed test images
    preview_labels: np.ndarray | None = None
    status: str = "starting"                   # starting, running, finished, stopped, diverged, failed
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
    """Trains a model with :func:`explorer.training.train` in a daemon thread; ``snapshot`` is safe to
    read at any time, and ``model`` is the fitted model once ``done``."""

    def __init__(self, dataset: "ImageDataset", config: "AutoencoderConfig", *, device: str = "cpu", seed: int = 0,
                 precision: str = "fp32"):
        self.variant, self.dataset, self.config = variant_of(config), dataset, config
        self.device, self.seed, self.precision = device, seed, precision
        self.model = None
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(dataset.x_test), min(PREVIEW_POINTS, len(dataset.x_test)), replace=False))
        self.preview_x = dataset.x_test[pick]
        self.preview_y = dataset.y_test[pick] if dataset.y_test is not None else None
        self.snapshot = JobSnapshot(preview_labels=self.preview_y)
        self.started = time.time()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"train-{self.variant}", daemon=True)

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current batch; the weights trained so far are kept."""
        self._stop.set()

    @property
    def done(self) -> bool:
        return self.snapshot.status in ("finished", "stopped", "diverged", "failed")

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            trainer = train(self.dataset, self.config, device=self.device, seed=self.seed, precision=self.precision,
                            callbacks=[_SnapshotCallback(self)], stop=self._stop)
            self.model = trainer.model
            self._publish(status=trainer.status, message=trainer.message, history=list(trainer.history))
        except ExplorerError as error:
            self._publish(status="failed", message=str(error))
        except Exception as error:  # a worker must report, never die silently
            self._publish(status="failed", message=f"{type(error).__name__}: {error}")
            traceback.print_exc()

    def _publish(self, **changes) -> None:
        with self._lock:
            self.snapshot = JobSnapshot(**{**self.snapshot.__dict__, **changes})
