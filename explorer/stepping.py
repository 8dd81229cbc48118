"""Step mode: training one batch, a few batches or one epoch at a time, so a class can watch the first
few hundred updates slowly (issue #16, after GAN Lab's step button).

A :class:`Stepper` keeps what a running :class:`explorer.training.Trainer` keeps between batches (the
model and its optimizer, the epoch's shuffled order, the batch cursor, torch's generator state) and
steps through the Trainer's own code (``begin``, ``epoch_order``, ``train_batch``, ``record_epoch``),
so its first k steps are the first k batches of :func:`explorer.training.train` with the same seed
and config. What a whole run adds between epochs does not apply: the validation split is scored and
recorded, but no weights are restored, no rate lowered and nothing stopped early; the class watches
training as it goes.

Not stepped: a closed-form fit (PCA) and greedy layer-wise training (stacked_ae, dbn_ae), whose
stages train different parts of the model in turn (see :func:`steppable`).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import ConfigError
from explorer.registry import build, variant_of
from explorer.replay import AlignedMap, Ranges, extent, replay_rows
from explorer.threads import ThreadChoice
from explorer.training import Trainer, add_terms, epoch_means, seed_everything

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig
    from explorer.data import ImageDataset

# An epoch per click only where it takes about a second on 2 cores (digits' ~1,300 training images);
# a Fashion-MNIST epoch (54,000 images, 10-50 s) would hold the page's server thread, so there a click
# trains at most MAX_BATCHES_PER_CLICK batches.
MAX_EPOCH_STEP_IMAGES = 2_000
MAX_BATCHES_PER_CLICK = 20
MAP_POINTS = 400          # test images on the step map, as on a replay
SHOWN_IMAGES = 4          # test images shown with their reconstructions: few, so each is large on a projector


def why_not_steppable(variant: str, stages: list) -> str | None:
    """None if a model that trains in ``stages`` can be trained step by step, else one line saying why not."""
    if not stages:
        return f"{variant} is fitted in closed form (one eigen-decomposition), not batch by batch: nothing to step"
    if len(stages) > 1:
        return (f"{variant} trains greedily, one layer at a time before the whole stack, so stepping its last stage "
                "alone would show another model; train it whole and watch its replay instead")
    return None


class Stepper:
    """One model trained step by step on ``dataset``; ``history`` gains a record at each epoch's end."""

    def __init__(self, dataset: "ImageDataset", config: "AutoencoderConfig", *, seed: int = 0, device: str = "cpu"):
        self.dataset, self.variant = dataset, variant_of(config)
        seed_everything(seed)  # as train() does, so the weights start where a whole run's start
        model = build(self.variant, config, input_shape=dataset.input_shape, n_classes=dataset.n_classes)
        self.trainer = Trainer(model, device=device, seed=seed)
        threads = ThreadChoice(self.trainer.device)  # the run keeps one; each click gets its own (_threads)
        try:
            self.run, stages = self.trainer.begin(dataset, threads)
        finally:
            threads.restore()
        why_not = why_not_steppable(self.variant, stages)
        if why_not:
            raise ConfigError(why_not)
        self.stage = stages[0]
        if self.stage.on_start is not None:
            self.stage.on_start()
        self.order = self.trainer.epoch_order(self.run)
        self.cursor = 0          # images of the epoch's order already trained on
        self.updates = 0         # batches trained, over all epochs
        self.sums: dict = {}     # the epoch's loss terms so far (on the device)
        self.last_terms: dict[str, float] = {}
        rows = replay_rows(len(dataset.x_test), seed, MAP_POINTS)
        self.map_x = dataset.x_test[rows]
        self.map_y = None if dataset.y_test is None else dataset.y_test[rows]
        self.map = AlignedMap()
        self.ranges: Ranges | None = None  # the map's axes: they only grow, so the picture does not jump

    @property
    def model(self):
        return self.trainer.model

    @property
    def history(self) -> list[dict]:
        return self.trainer.history

    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to (1-based)."""
        return len(self.history) + 1

    @property
    def batch(self) -> int:
        """Batches of this epoch already trained."""
        return math.ceil(self.cursor / self.run.batch_size)

    @property
    def n_batches(self) -> int:
        return self.run.n_batches

    @property
    def updates_said(self) -> str:
        return f"{self.updates:,} update" + ("" if self.updates == 1 else "s")

    @property
    def epoch_fits_a_click(self) -> bool:
        return len(self.run.fit_rows) <= MAX_EPOCH_STEP_IMAGES

    def step_batch(self) -> dict[str, float]:
        """Train on the next batch; closes the epoch (a history record) after its last batch. Returns the
        batch's loss terms."""
        with self._threads():
            return self._next_batch()

    def step_batches(self, count: int) -> None:
        """``count`` batches (at most :data:`MAX_BATCHES_PER_CLICK`), across an epoch's end if need be."""
        with self._threads():
            for _ in range(min(count, MAX_BATCHES_PER_CLICK)):
                self._next_batch()

    def step_epoch(self) -> None:
        """The rest of this epoch (all of it when none has run); refused where an epoch is too long for a click."""
        if not self.epoch_fits_a_click:
            raise ConfigError(f"an epoch here is {len(self.run.fit_rows):,} images, too long to train on a click "
                              f"(at most {MAX_EPOCH_STEP_IMAGES:,}); step by batches, or train the whole model")
        epoch = self.epoch
        with self._threads():
            while self.epoch == epoch:
                self._next_batch()

    def _next_batch(self) -> dict[str, float]:
        self.model.train()
        batch = self.order[self.cursor:self.cursor + self.run.batch_size]
        terms = self.trainer.train_batch(self.stage, self.run, batch)
        add_terms(self.sums, terms)
        self.last_terms = epoch_means(terms, 1)
        if not all(math.isfinite(value) for value in self.last_terms.values()):
            raise ConfigError(f"batch {self.updates + 1}'s loss is not finite ({self.last_terms}); start again "
                              "with a smaller learning rate")
        self.cursor += len(batch)
        self.updates += 1
        if self.cursor >= len(self.order):
            self._end_epoch()
        return self.last_terms

    def _end_epoch(self) -> None:
        self.trainer.record_epoch(self.stage.name, epoch_means(self.sums, self.n_batches), self.run, 0.0)
        self.sums, self.cursor = {}, 0
        self.order = self.trainer.epoch_order(self.run)

    def map_positions(self) -> np.ndarray:
        """(MAP_POINTS, 2) the followed test images' map now, turned onto the last call's (:class:`AlignedMap`);
        ``ranges`` grows to hold it."""
        points = self.map(self.model.encode_array(self.map_x, self.map_y))
        self.ranges = extent(points, self.ranges)
        return points

    def reconstructions(self) -> tuple[np.ndarray, np.ndarray]:
        """The first :data:`SHOWN_IMAGES` test images and their reconstructions now."""
        x = self.dataset.x_test[:SHOWN_IMAGES]
        y = None if self.dataset.y_test is None else self.dataset.y_test[:SHOWN_IMAGES]
        return x, self.model.reconstruct_array(x, y)

    def status(self) -> str:
        """One line: where training stands."""
        loss = " · ".join(f"{name} {value:.4g}" for name, value in self.last_terms.items())
        return (f"Epoch {self.epoch} · batch {self.batch} of {self.n_batches} · {self.updates_said} so far"
                + (f" · last batch: {loss}" if loss else ""))

    @contextmanager
    def _threads(self):
        """torch's thread count chosen for one click as a Trainer's is (:class:`ThreadChoice`), then put back."""
        threads = ThreadChoice(self.trainer.device)
        self.run.threads = threads
        try:
            yield threads
        finally:
            threads.restore()
