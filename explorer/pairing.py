"""Two models side by side (the Latent and Traverse pages): the same test images and the same controls
drive both, so what differs on screen is the models.

Each model learns its own axes: dimension 3 of a VAE has nothing to do with dimension 3 of an AAE. A
control that names a code dimension of the current model (a slider, a grid axis) is therefore carried
to the other model by rank: the current model's r-th most informative dimension (KL for Gaussian
latents, else variance; :func:`explorer.traverse.dimension_scores`) stands for the other's r-th, and a
slider moved to a fraction of its range moves its counterpart to the same fraction of that one's range.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer import traverse

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder


@dataclass(frozen=True)
class CodeFrame:
    """One model's frame for walking its codes: the dimensions most informative first, and each one's
    slider range (:func:`explorer.traverse.slider_ranges`)."""
    order: np.ndarray   # (K,) dimensions by decreasing score
    low: np.ndarray     # (K,)
    high: np.ndarray    # (K,)

    @classmethod
    def of(cls, scores: np.ndarray, codes: np.ndarray, gaussian: bool) -> CodeFrame:
        """From a model's per-dimension ``scores`` (K,) and its test ``codes`` (N, K)."""
        return cls(traverse.informative_first(scores), *traverse.slider_ranges(codes, gaussian))

    @property
    def size(self) -> int:
        return len(self.order)

    def rank(self, dim: int) -> int:
        return int(np.flatnonzero(self.order == dim)[0])


def matched_dim(dim: int | None, current: CodeFrame, other: CodeFrame) -> int | None:
    """The ``other`` model's dimension of the same rank as ``current``'s ``dim``; None when ``dim`` is None
    or ranks past the other's code size."""
    if dim is None:
        return None
    rank = current.rank(dim)
    return int(other.order[rank]) if rank < other.size else None


def matched_code(z: np.ndarray, start: np.ndarray, current: CodeFrame, other_start: np.ndarray,
                 other: CodeFrame) -> tuple[np.ndarray, int]:
    """The ``other`` model's (K',) code for the current model's slider setting ``z`` (K,) moved away from
    ``start`` (K,): ``other_start`` with each moved dimension's counterpart (:func:`matched_dim`) set to the
    same fraction of its range. Also how many moved dimensions have no counterpart (the other code is
    smaller)."""
    moved = np.flatnonzero(np.abs(z - start) > traverse.MOVED_TOLERANCE)
    code = np.asarray(other_start, np.float32).copy()
    unmatched = 0
    for dim in moved:
        twin = matched_dim(int(dim), current, other)
        if twin is None:
            unmatched += 1
            continue
        fraction = (z[dim] - current.low[dim]) / (current.high[dim] - current.low[dim])
        code[twin] = other.low[twin] + fraction * (other.high[twin] - other.low[twin])
    return code, unmatched


def same_class(model: Autoencoder, label: int | None) -> int | None:
    """The class a conditional model decodes as; a model without classes takes none."""
    return label if model.conditional else None


def describe(current: str, other: str) -> str:
    """One line under a side-by-side view: which controls are shared and how dimensions are matched."""
    return (f"Left: {current}; right: {other}. The same test images and the same controls drive both; "
            "a slider or grid axis moves the right model's dimension of the same rank (most informative "
            "first) to the same place in its range, because two models do not share axes.")
