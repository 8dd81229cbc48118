"""Training jobs for the UI: each trains in its own child process (:mod:`explorer.worker`) while a thread
of the server relays its reports; pages poll a snapshot, and nothing here touches Streamlit.

Each browser session owns its own :class:`TrainingJob` (kept in its session state), so two
sessions training at once keep separate models, progress and stop buttons. Jobs run through the
process's bounded :mod:`explorer.pool`: while every slot is taken a job waits, queued, and its page
shows its place in the queue; stopping a queued job cancels it. Training in a thread of the server
made every page wait for the training loop's share of the one interpreter lock (issue 14: p95 page
latency 3-18x idle with 20-30 students); a process gives the pages the server's core to themselves.
"""
from __future__ import annotations

import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from explorer import worker
from explorer.checkpoint import load
from explorer.devices import resolve_device
from explorer.errors import ExplorerError
from explorer.pool import TrainingPool, shared_pool
from explorer.registry import variant_of
from explorer.training import Progress

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig
    from explorer.data import ImageDataset

PREVIEW_POINTS = 400
DONE = ("finished", "stopped", "diverged", "failed", "cancelled")


@dataclass
class JobSnapshot:
    """What a page shows; replaced whole by the relay, so a reader never sees half an update."""
    progress: Progress | None = None
    history: list[dict] = field(default_factory=list)
    preview: np.ndarray | None = None          # (PREVIEW_POINTS, 2) codes of fixed test images
    preview_labels: np.ndarray | None = None
    status: str = "queued"                     # queued, starting, running, then one of DONE
    message: str = ""


class TrainingJob:
    """Trains a model with :func:`explorer.training.train`, in a child process, in a slot of a
    :class:`TrainingPool` (the process's by default); ``snapshot`` is safe to read at any time, and
    ``model`` is the fitted model once ``done``."""

    def __init__(self, dataset: "ImageDataset", config: "AutoencoderConfig", *, device: str = "cpu", seed: int = 0,
                 precision: str = "fp32", pool: TrainingPool | None = None):
        self.variant, self.dataset, self.config = variant_of(config), dataset, config
        self.device, self.seed, self.precision = device, seed, precision
        self.pool = pool
        self.model = None
        rng = np.random.default_rng(seed)
        self.preview_rows = np.sort(rng.choice(len(dataset.x_test), min(PREVIEW_POINTS, len(dataset.x_test)),
                                               replace=False))
        labels = dataset.y_test[self.preview_rows] if dataset.y_test is not None else None
        self.snapshot = JobSnapshot(preview_labels=labels)
        self.queued_at = self.started_at = None
        self.exitcode: int | None = None  # the child's, once it has ended
        self._stop = worker.context().Event()  # set here, read by the child's Trainer after every batch
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
        """Train in a child process while this thread (the pool's slot) relays its reports into the snapshot;
        the slot is held until the child has ended and been joined. A stop asked between leaving the queue
        and this call is seen by the Trainer at its first check."""
        self.started_at = time.time()
        self._publish(status="starting")
        try:
            with tempfile.TemporaryDirectory(prefix="explorer-job-") as folder:
                outcome = self._relay(*self._start_child(Path(folder)))
                self._finish(outcome, Path(folder))
        except ExplorerError as error:
            self._end(status="failed", message=str(error))
        except Exception as error:  # a job must report, never die silently
            self._end(status="failed", message=f"{type(error).__name__}: {error}")
            traceback.print_exc()

    def _start_child(self, folder: Path) -> tuple:
        ctx = worker.context()
        order = worker.WorkOrder(worker.hand_off(self.dataset, folder), self.config, self.device, self.seed,
                                 self.precision, self.preview_rows, str(folder), worker.child_threads(self.pool.slots))
        reader, writer = ctx.Pipe(duplex=False)
        child = ctx.Process(target=worker.run_order, args=(order, writer, self._stop), name="training-job",
                            daemon=True)  # ended with the server
        child.start()
        writer.close()  # the child's end is its own now: its exit, or a kill, reads here as the end of the pipe
        return child, reader

    def _relay(self, child, reader) -> tuple:
        """The child's reports into the snapshot until its last word (``end`` or ``failed``), or () when it
        ended without one (killed, or crashed in C)."""
        try:
            while True:
                try:
                    kind, *payload = reader.recv()
                except EOFError:
                    return ()
                if kind == "progress":
                    self._publish(progress=payload[0], status="running")
                elif kind == "epoch":
                    self._publish(history=payload[0], preview=payload[1])
                else:
                    return kind, *payload
        finally:
            reader.close()
            child.join()  # no zombie: the child is reaped before the slot is freed
            self.exitcode = child.exitcode

    def _finish(self, outcome: tuple, folder: Path) -> None:
        if not outcome:
            how = "killed by signal " + str(-self.exitcode) if self.exitcode < 0 else f"exit code {self.exitcode}"
            self._end(status="failed", message=f"The training process ended without a result ({how}); its slot is "
                                               "free again: train again, or try a smaller model.")
        elif outcome[0] == "failed":
            self._end(status="failed", message=outcome[1])
        else:
            _, status, message, history = outcome
            self.model = load(folder / worker.MODEL_FOLDER, device=resolve_device(self.device)).model
            self._end(status=status, message=message, history=history)

    def _end(self, **changes) -> None:
        self._publish(**changes)
        self._ended.set()

    def _publish(self, **changes) -> None:
        with self._lock:
            self.snapshot = JobSnapshot(**{**self.snapshot.__dict__, **changes})
