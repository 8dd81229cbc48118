"""The codes of a dataset's splits under one model, encoded in a background thread as soon as the
model is opened, so the page that needs them (Latent, Traverse, Search) usually finds them ready.

Encoding Fashion-MNIST's 70k images takes seconds on a small CPU: in the foreground that is a first
visit's wait, in the background it overlaps the time a user spends on the page before. The test
split goes first, since Latent and Traverse need it and Search only needs the training split for
its index. The encoding goes a chunk at a time, so a server that exits stops it between chunks
(:mod:`explorer.background`).
"""
from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np

from explorer import background
from explorer.threads import one_thread

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder

SPLITS = ("test", "train")
BACKGROUND_NICENESS = 19
CHUNK = 2048  # images encoded between checks for the interpreter's exit: well under a second on one core


class SplitCodes:
    """``get(split)`` -> (N, K) codes of that split; waits for the background encoding when needed.
    An error in the background is raised by ``get``, in the caller's thread."""

    def __init__(self, model: "Autoencoder", dataset: "ImageDataset"):
        self.model, self.dataset = model, dataset
        self._codes: dict[str, np.ndarray] = {}
        self._errors: dict[str, BaseException] = {}
        self._ready = {split: threading.Event() for split in SPLITS}

    def start(self) -> "SplitCodes":
        background.start(self._encode_all, name="encode-splits")
        return self

    def ready(self, split: str) -> bool:
        return self._ready[split].is_set()

    def get(self, split: str) -> np.ndarray:
        self._ready[split].wait()
        if split in self._errors:
            raise self._errors[split]
        return self._codes[split]

    def _encode_all(self) -> None:
        # Behind whatever a page does in the foreground: on one core, at the lowest CPU priority (Linux
        # schedules threads one by one, so this thread alone is niced). The first benchmark walk of a
        # fresh server found a model's background encoding slowing the next model's first load.
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
        except (AttributeError, OSError):  # not Linux, or not allowed: run at the usual priority
            pass
        with one_thread():
            self._encode_splits()

    def _encode_splits(self) -> None:
        for split in SPLITS:
            x, y = ((self.dataset.x_train, self.dataset.y_train) if split == "train"
                    else (self.dataset.x_test, self.dataset.y_test))
            try:
                self._codes[split] = self._encode(x, y)
            except BaseException as error:  # kept for the caller: a worker must not die silently
                self._errors[split] = error
            finally:
                self._ready[split].set()

    def _encode(self, x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        chunks = []
        for start in range(0, len(x), CHUNK):
            if background.exiting():
                raise RuntimeError("the server is exiting: encoding stopped")
            rows = slice(start, start + CHUNK)
            chunks.append(self.model.encode_array(x[rows], None if y is None else y[rows]))
        return np.concatenate(chunks) if chunks else self.model.encode_array(x, y)
