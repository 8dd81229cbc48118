"""Choosing the weights a run ends with, from the validation error alone (never the test split).

The Trainer holds out a seeded tenth of the training images (:func:`explorer.data.dataset.validation_split`)
and scores the model on it after every epoch. :class:`EpochSelection` watches those scores over the
stage that trains the whole model (the last one: a staged variant's greedy layers are not yet the
model they build) and gives four rules:

- keep the best: the weights of the lowest validation error, the stage's starting weights included,
  so fine-tuning can never end worse than the unrolled stack it started from (Hinton & Salakhutdinov
  2006 fine-tune a pretrained stack; a too-large step can undo the pretraining);
- early stopping (Prechelt 1998): stop once ``patience`` epochs passed without a new best;
- a slow rise, treated like a divergence: the validation error grew in each of the last
  :data:`RISE_EPOCHS` epochs and ends :data:`RISE_MARGIN` above the best; training stops and keeps
  the best weights;
- a step size that cannot drift (``lr_schedule="plateau"``, the default): after the stage's first
  quarter, when the validation error has not improved for a tenth of its epochs (at least
  :data:`PLATEAU_EPOCHS`), the stage's learning rates halve
  (torch's ReduceLROnPlateau), down to a sixteenth, so a rate tuned on other data settles instead of
  bouncing (the issue's dbn_ae fine-tuning on unseen digits, whose training loss rose from 124 to 143
  at a constant rate);
- or, for a run whose length is set (``lr_schedule="cosine"``), the rates lowered along a half cosine to a
  :data:`ANNEAL_FLOOR`-th by the last epoch (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts): the
  large early steps make progress and the small late ones settle, which a constant rate that only halves on a
  plateau does not do within a fixed number of epochs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

RISE_EPOCHS = 5      # growing this many epochs in a row is a trend, not the noise of a small split
RISE_MARGIN = 0.02   # ... and the error must also have left the best by 2%, so a flat tail never stops
PLATEAU_EPOCHS = 3   # epochs without a new best before the learning rate halves, at the least
PLATEAU_SHARE = 10   # ... and a tenth of the stage: digits' 200 epochs score 144 images, a noisy judge
PLATEAU_WARMUP = 4   # not in the first quarter of the stage: lstm_ae outputs the mean image for its first ~30
                     # digits epochs before it uses the code, and halving its rate there cost 25% at code 2
PLATEAU_FLOOR = 16   # the rate never falls below its start / 16
ANNEAL_FLOOR = 100   # a cosine schedule ends at its start / 100


@dataclass
class Verdict:
    """What the Trainer does after an epoch: go on, or stop with ``reason`` (a sentence)."""
    stop: bool = False
    reason: str = ""


class EpochSelection:
    """Tracks one stage's validation errors; ``restore`` puts the best weights back.

    ``epoch`` numbers are the Trainer's (counted over all stages, 1-based); the stage's starting
    weights are scored as ``start_epoch`` (the epoch before its first)."""

    def __init__(self, model: nn.Module, stage: str, start_epoch: int, start_error: float, *, patience: int = 0):
        self.model, self.stage, self.patience = model, stage, patience
        self.errors: list[tuple[int, float]] = [(start_epoch, start_error)]
        self.best_epoch, self.best_error = start_epoch, start_error
        self._best_weights = self._copy()

    def _copy(self) -> dict[str, torch.Tensor]:
        return {name: value.detach().clone() for name, value in self.model.state_dict().items()}

    def update(self, epoch: int, error: float) -> Verdict:
        """Record ``epoch``'s validation error (the model holds that epoch's weights) and judge it."""
        self.errors.append((epoch, error))
        if error < self.best_error:
            self.best_epoch, self.best_error = epoch, error
            self._best_weights = self._copy()
        if self.patience and epoch - self.best_epoch >= self.patience:
            return Verdict(True, f"early stop: the validation error has not improved for {self.patience} epochs")
        recent = [e for _, e in self.errors[-RISE_EPOCHS - 1:]]
        rising = len(recent) == RISE_EPOCHS + 1 and all(b > a for a, b in zip(recent, recent[1:]))
        if rising and recent[-1] > self.best_error * (1 + RISE_MARGIN):
            return Verdict(True, f"stopped stage {self.stage!r}: the validation error rose for {RISE_EPOCHS} epochs "
                                 f"in a row ({recent[0]:.3g} to {recent[-1]:.3g}; best {self.best_error:.3g} "
                                 f"at epoch {self.best_epoch})")
        return Verdict()

    @property
    def last_error(self) -> float:
        return self.errors[-1][1]

    @property
    def last_epoch(self) -> int:
        return self.errors[-1][0]

    def restore(self) -> str:
        """Put the best weights back if a later epoch was worse; the sentence that says what was kept."""
        if self.best_epoch == self.last_epoch:
            return f"kept the last epoch's weights, the best on the validation images ({self.best_error:.3g})"
        self.model.load_state_dict(self._best_weights)
        start = self.best_epoch == self.errors[0][0]
        which = f"from the start of stage {self.stage!r}" if start else f"of epoch {self.best_epoch}"
        return (f"kept the weights {which}, the best on the validation images ({self.best_error:.3g}; "
                f"epoch {self.last_epoch} ended at {self.errors[-1][1]:.3g})")


class RateSchedule:
    """What both schedules share: the rates they started from (``start``) and the sentence :meth:`summary`."""
    HOW = ""  # the sentence, with {start} and {now}

    def __init__(self, optimizers):
        self.optimizers = list(optimizers)
        self.start = [group["lr"] for optimizer in self.optimizers for group in optimizer.param_groups]

    def summary(self) -> str:
        """A sentence if the rates were lowered (:attr:`HOW`), else ""."""
        now = [group["lr"] for optimizer in self.optimizers for group in optimizer.param_groups]
        if not now or now[0] >= self.start[0]:
            return ""
        return self.HOW.format(start=self.start[0], now=now[0])


class PlateauSchedule(RateSchedule):
    """Halves ``optimizers``' learning rates after a tenth of the stage's ``epochs`` (at least
    :data:`PLATEAU_EPOCHS`) without a new best validation error, never below a :data:`PLATEAU_FLOOR`-th of
    where they started, and never in the stage's first quarter."""
    HOW = "learning rate lowered from {start:.2g} to {now:.2g} as the validation error levelled off"

    def __init__(self, optimizers, epochs: int):
        from torch.optim.lr_scheduler import ReduceLROnPlateau
        super().__init__(optimizers)
        self.warmup, self.seen = epochs // PLATEAU_WARMUP, 0
        patience = max(PLATEAU_EPOCHS, epochs // PLATEAU_SHARE)
        self.schedules = [ReduceLROnPlateau(optimizer, factor=0.5, patience=patience,
                                            min_lr=[group["lr"] / PLATEAU_FLOOR for group in optimizer.param_groups])
                          for optimizer in self.optimizers]

    def step(self, validation_error: float) -> None:
        self.seen += 1
        if self.seen <= self.warmup:
            return
        for schedule in self.schedules:
            schedule.step(validation_error)


class CosineSchedule(RateSchedule):
    """Lowers ``optimizers``' learning rates along a half cosine over the stage's ``epochs``, from where
    they start to a :data:`ANNEAL_FLOOR`-th (torch's CosineAnnealingLR, stepped once an epoch)."""
    HOW = "learning rate lowered along a cosine from {start:.2g} to {now:.2g}"

    def __init__(self, optimizers, epochs: int):
        from torch.optim.lr_scheduler import CosineAnnealingLR
        super().__init__(optimizers)
        self.schedules = [CosineAnnealingLR(optimizer, T_max=epochs,
                                            eta_min=min(group["lr"] for group in optimizer.param_groups) / ANNEAL_FLOOR)
                          for optimizer in self.optimizers]

    def step(self, validation_error: float) -> None:
        for schedule in self.schedules:
            schedule.step()


SCHEDULES = {"plateau": PlateauSchedule, "cosine": CosineSchedule}


def schedule_for(config, optimizers, epochs: int) -> RateSchedule:
    """The learning-rate schedule ``config.lr_schedule`` names, for a stage of ``epochs`` epochs."""
    return SCHEDULES[getattr(config, "lr_schedule", "plateau")](optimizers, epochs)
