"""The child process a UI training job runs in (:mod:`explorer.jobs`): the server's pages never wait on a
training loop for the interpreter lock, and a crash or a kill ends one job, not the server.

Children come from a fork server (:func:`context`): a fresh interpreter, started once from the server by
exec (never a fork of the Streamlit server and its threads), that imports torch and the Trainer once and
forks a clean child per job in milliseconds. A "spawn" child would import torch again for every job:
3 s on an idle 2-core machine, 10 s under load, all of it on the core the server needs.

The child reports over a one-way pipe: ``("progress", Progress)`` at most every ``PROGRESS_EVERY_S``,
``("epoch", history, preview)`` after each epoch, then ``("end", status, message, history)`` once the model
is saved with :func:`explorer.checkpoint.save` into the job's folder (everything a checkpoint holds, the
training replay included, reaches the page through :func:`explorer.checkpoint.load`), or
``("failed", message)``. A stop is a shared event the Trainer checks after every batch.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer import background
from explorer.checkpoint import dataset_record, save
from explorer.errors import DataError, ExplorerError
from explorer.projection import WARMUP_DELAY_S, make_projector
from explorer.training import Callback, train

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from explorer.config import AutoencoderConfig
    from explorer.data import ImageDataset

PROGRESS_EVERY_S = 0.1  # a page polls twice a second; more messages would only cost the relay
MODEL_FOLDER = "model"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def context() -> multiprocessing.context.BaseContext:
    """The fork server's context. It preloads the Trainer, the main module (as the fork server does by
    default, so no child imports it again) and torch._dynamo, which torch.optim imports on the first step:
    7-10 s per child under load when a child had to import it itself."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", "explorer.worker", "torch._dynamo"])
    return ctx


def start_fork_server_in_background(delay_s: float = WARMUP_DELAY_S) -> threading.Thread:
    """Start the fork server ``delay_s`` after the caller (the first page view), in a daemon thread, so a
    fresh server's first training does not wait while the fork server imports torch (seconds; longer
    while the first pages draw, which the delay keeps it off)."""
    def start() -> None:
        child = context().Process(target=_ready, name="fork-server-ready", daemon=True)
        child.start()  # the server answers once its preloads are imported: the first fork waits for them
        child.join()

    return background.start(start, name="fork-server-start", delay_s=delay_s)


def _ready() -> None:
    """A child that does nothing: forking it proves the fork server ready."""


def child_threads(slots: int, cores: int | None = None) -> int:
    """torch threads for one training child: one core stays with the server (its pages and health checks),
    the others are shared by the pool's slots; at least one. On 2 cores: 1 slot, 1 thread."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, (cores - 1) // slots)


@dataclass(frozen=True)
class DataHandoff:
    """How the child gets the dataset without a second copy in the server's memory: a named dataset is
    read again by name (checked against the server's fingerprint); any other (an upload, a class held out)
    is written once as ``.npy`` files into the job's folder and memory-mapped by the child."""
    name: str
    class_names: tuple[str, ...]
    source: str
    fingerprint: str | None = None   # a named dataset's, as the server has it
    folder: str | None = None        # where the arrays are, for any other


def hand_off(dataset: "ImageDataset", folder: Path) -> DataHandoff:
    from explorer.data import list_datasets
    if dataset.name in {status.name for status in list_datasets()}:
        return DataHandoff(dataset.name, dataset.class_names, dataset.source, fingerprint=dataset.fingerprint)
    for name in ARRAYS:
        if getattr(dataset, name) is not None:
            np.save(folder / f"{name}.npy", getattr(dataset, name))
    return DataHandoff(dataset.name, dataset.class_names, dataset.source, folder=str(folder))


def take_over(handoff: DataHandoff) -> "ImageDataset":
    """The dataset in the child: by name from where the server read it, or mapped from the job's folder."""
    from explorer.data import ImageDataset, load_dataset
    if handoff.folder is None:
        location = handoff.source if Path(handoff.source).is_dir() else None  # an IDX folder; digits ships
        dataset = load_dataset(handoff.name, location)
        if dataset.fingerprint != handoff.fingerprint:
            raise DataError(f"{handoff.name} changed on disk since the server read it; reload the page")
        return dataset
    folder = Path(handoff.folder)
    arrays = [np.load(folder / f"{name}.npy", mmap_mode="r") if (folder / f"{name}.npy").exists() else None
              for name in ARRAYS]
    return ImageDataset(handoff.name, *arrays, class_names=handoff.class_names, source=handoff.source)


@dataclass(frozen=True)
class WorkOrder:
    """What the child trains: ``train(dataset, config, device=, seed=, precision=)``, with a live map of
    the test images at ``preview_rows`` after each epoch, on ``threads`` torch threads."""
    data: DataHandoff
    config: "AutoencoderConfig"
    device: str
    seed: int
    precision: str
    preview_rows: np.ndarray
    folder: str
    threads: int


def run_order(order: WorkOrder, pipe: "Connection", stop) -> None:
    """The child's entry point: train, save the model, say how it ended. Never raises."""
    try:
        pipe.send(_train(order, pipe, stop))
    except ExplorerError as error:
        pipe.send(("failed", str(error)))
    except Exception as error:  # the job reports, never dies silently
        traceback.print_exc()
        pipe.send(("failed", f"{type(error).__name__}: {error}"))
    finally:
        pipe.close()


def _train(order: WorkOrder, pipe: "Connection", stop) -> tuple:
    torch.set_num_threads(order.threads)
    dataset = take_over(order.data)
    preview_x = dataset.x_test[order.preview_rows]
    preview_y = dataset.y_test[order.preview_rows] if dataset.y_test is not None else None
    trainer = train(dataset, order.config, device=order.device, seed=order.seed, precision=order.precision,
                    callbacks=[_Reporter(pipe, preview_x, preview_y)], stop=stop)
    save(trainer.model.cpu(), Path(order.folder) / MODEL_FOLDER, dataset_record(dataset), trainer.history)
    return "end", trainer.status, trainer.message, list(trainer.history)


class _Reporter(Callback):
    """Sends progress (throttled), and each epoch's history and live map, to the server."""

    def __init__(self, pipe: "Connection", preview_x: np.ndarray, preview_y: np.ndarray | None):
        self.pipe, self.preview_x, self.preview_y = pipe, preview_x, preview_y
        self.sent_at = -PROGRESS_EVERY_S

    def on_batch_end(self, trainer, progress):
        now = time.perf_counter()
        if now - self.sent_at >= PROGRESS_EVERY_S or progress.batch == progress.n_batches:
            self.pipe.send(("progress", progress))
            self.sent_at = now

    def on_epoch_end(self, trainer, record):
        preview = latent_preview(trainer.model, self.preview_x, self.preview_y)
        self.pipe.send(("epoch", list(trainer.history), preview))


def latent_preview(model, x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """(N, 2) map of the codes: the codes themselves for K <= 2, else their first two principal axes
    (signs fixed by the projector, so the live map does not flip between epochs)."""
    return make_projector("raw" if model.latent_dim <= 2 else "pca").fit_transform(model.encode_array(x, y))
