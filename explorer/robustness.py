"""Retrieval under damage: label precision@k of test queries damaged by a corruption from
:mod:`explorer.noise`, searched by code or by pixels, and a plain reading of how the two compare
with clean queries.

The lesson: a code keeps what the training images share and drops much of the rest, so damage that
moves many pixels may move the code less. Whether it does depends on the model and on the damage;
:meth:`Robustness.reading` says which way the numbers on screen go, never a fixed claim.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.denoise import add_noise, setting_name
from explorer.metrics import map_subsample
from explorer.search import CodeIndex, precision_by_k

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

# Precisions closer than this read as level: about one standard error of a mean precision@k over a
# 1000-query sample (per-query precisions spread by about 0.3).
LEVEL = 0.01


def damaged_precision_by_k(index: CodeIndex, labels: np.ndarray, x: np.ndarray, y: np.ndarray, noise: str,
                           level: float, max_k: int, model: "Autoencoder | None" = None,
                           max_queries: int | None = None, seed: int = 0) -> np.ndarray:
    """(max_k,) mean label precision@1..max_k against ``index`` (whose items' classes are ``labels``)
    of the test images ``x`` (Q, C, H, W), classes ``y`` (Q,), damaged by ``noise`` at ``level``:
    encoded by ``model`` (given ``y`` when it is conditional) for an index of codes, their raw pixels
    when ``model`` is None. With ``max_queries``, over the seeded subsample that
    :func:`explorer.search.precision_by_k` takes for the clean averages. The damage depends on ``seed``
    and the images only, so codes and pixels are searched with the same damaged images."""
    picked = np.arange(len(x)) if max_queries is None else map_subsample(len(x), max_queries)
    damaged, classes = add_noise(x[picked], noise, level, seed), np.asarray(y)[picked]
    queries = damaged.reshape(len(damaged), -1) if model is None else model.encode_array(damaged, classes)
    return precision_by_k(index, labels, queries, classes, max_k)


@dataclass(frozen=True)
class Robustness:
    """Test precision@k of code and pixel search on clean queries and on damaged ones."""
    k: int
    noise: str
    level: float
    code_clean: float
    code_damaged: float
    pixel_clean: float
    pixel_damaged: float

    def reading(self) -> str:
        """One sentence on where codes do or do not beat pixels, from these numbers."""
        clean = _winner(self.code_clean, self.pixel_clean)
        damaged = _winner(self.code_damaged, self.pixel_damaged)
        after = "and" if damaged == clean else f"but {VERDICTS[damaged]}"
        return (f"With {setting_name(self.noise, self.level)} damage, {VERDICTS[clean]} on clean queries "
                f"(codes {self.code_clean:.2f}, pixels {self.pixel_clean:.2f}) {after} on damaged ones "
                f"(codes {self.code_damaged:.2f}, pixels {self.pixel_damaged:.2f}); the codes' precision@{self.k} "
                f"{_change(self.code_damaged - self.code_clean)} and the pixels' "
                f"{_change(self.pixel_damaged - self.pixel_clean)}.")


VERDICTS = {"codes": "codes beat pixels", "pixels": "pixels beat codes", "neither": "codes and pixels are level"}


def clean_reading(code: float, pixel: float, k: int, dim: int) -> str:
    """One sentence on the clean test averages: whether this code finds a query's class more often
    than raw pixels do, from the numbers."""
    winner = _winner(code, pixel)
    return (f"Over the test images, {VERDICTS[winner]} at precision@{k} (codes {code:.2f}, pixels {pixel:.2f})"
            + ("" if winner == "codes" else f": {dim} numbers per image keep less of what tells the classes apart "
                                            "than the pixels do here") + ".")


def _winner(code: float, pixel: float) -> str:
    if abs(code - pixel) <= LEVEL:
        return "neither"
    return "codes" if code > pixel else "pixels"


def _change(delta: float) -> str:
    if abs(delta) <= LEVEL:
        return "barely changes"
    return f"{'falls' if delta < 0 else 'rises'} by {abs(delta):.2f}"
