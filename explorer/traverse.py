"""Walking a code space: how informative each dimension is, slider ranges, the manifold grid over two
dimensions, and interpolation between two codes. Arrays in, arrays out; the Traverse page draws them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

PRIOR_REACH = 3.0  # Gaussian latents' sliders reach at least this many prior standard deviations
SLIDER_STEPS = 200  # positions along a slider's range
MOVED_TOLERANCE = 1e-6
IGNORED_KL = 0.01   # nats: below this a dimension's posterior is the prior, whatever the image


def dimension_scores(model: "Autoencoder", x: np.ndarray, y: np.ndarray | None,
                     codes: np.ndarray) -> tuple[np.ndarray, str]:
    """(K,) how informative each code dimension is, and the score's name: the average KL of the
    posterior to the prior over the images ``x`` for models that have ``kl_per_dimension`` (VAE,
    CVAE; near 0, the decoder ignores the dimension), else the variance of their ``codes`` (N, K)."""
    if hasattr(model, "kl_per_dimension"):
        return model.apply_batched(model.kl_per_dimension, x, y).mean(0, dtype=np.float64), "KL"
    return codes.var(0), "variance"


def informative_first(scores: np.ndarray) -> np.ndarray:
    """(K,) dimensions by decreasing score, ties in index order."""
    return np.argsort(-scores, kind="stable")


def slider_ranges(codes: np.ndarray, gaussian: bool) -> tuple[np.ndarray, np.ndarray]:
    """(K,) low and high per dimension: the codes' 1st-99th percentile widened by 10%, and at least
    [-3, 3] (three prior standard deviations) for Gaussian latents."""
    low, high = np.percentile(codes, [1, 99], axis=0)
    pad = 0.1 * (high - low) + 1e-3
    low, high = low - pad, high + pad
    if gaussian:
        low, high = np.minimum(low, -PRIOR_REACH), np.maximum(high, PRIOR_REACH)
    return low.astype(np.float64), high.astype(np.float64)


@dataclass(frozen=True)
class Slider:
    """One code dimension's slider: its range, where it starts and its step."""
    dim: int
    low: float
    high: float
    value: float
    step: float


def sliders(start: np.ndarray, order: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[Slider]:
    """A slider per dimension in ``order``, each starting at ``start`` (K,) held inside its range."""
    return [Slider(int(d), float(low[d]), float(high[d]), float(np.clip(start[d], low[d], high[d])),
                   float(high[d] - low[d]) / SLIDER_STEPS) for d in order]


def start_code(codes: np.ndarray, gaussian: bool) -> np.ndarray:
    """(K,) where the sliders start without an image: the prior mean 0 for Gaussian latents, else
    the mean code."""
    return np.zeros(codes.shape[1], np.float32) if gaussian else codes.mean(0).astype(np.float32)


def moved(z: np.ndarray, start: np.ndarray) -> int:
    """How many dimensions of ``z`` differ from ``start``."""
    return int((np.abs(z - start) > MOVED_TOLERANCE).sum())


def grid_values(n: int, gaussian: bool, low: float, high: float) -> np.ndarray:
    """(n,) coordinates along one grid axis. Gaussian latents: the inverse normal CDF of evenly spaced
    points (i + 0.5) / n of the unit interval (Kingma & Welling 2014, Fig. 4), so each cell holds
    equal prior mass; otherwise evenly spaced over [low, high], the codes' observed range."""
    if gaussian:
        from scipy.special import ndtri
        return ndtri((np.arange(n) + 0.5) / n)
    return np.linspace(low, high, n)


def manifold_codes(base: np.ndarray, dims: tuple[int, int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(len(rows) * len(cols), K) copies of ``base`` with ``dims`` set over the grid, row-major, the
    first dimension along columns and the second decreasing down the rows (as on a plot)."""
    codes = np.repeat(base[None].astype(np.float32), len(rows) * len(cols), 0)
    codes[:, dims[0]] = np.tile(cols, len(rows))
    codes[:, dims[1]] = np.repeat(rows[::-1], len(cols))
    return codes


@dataclass(frozen=True)
class Grid:
    """The manifold grid: its codes row-major, the values across, and down (None for a single row)."""
    codes: np.ndarray            # (rows * n, K)
    across: np.ndarray           # (n,)
    down: np.ndarray | None      # (n,) top row first, or None


def grid(base: np.ndarray, across: int, down: int | None, n: int, gaussian: bool, low: np.ndarray,
         high: np.ndarray) -> Grid:
    """``n`` x ``n`` codes around ``base`` (K,) with dimension ``across`` varying along the columns and
    ``down`` down the rows (:func:`manifold_codes`), values by :func:`grid_values` within ``low`` and
    ``high`` (K,); one row of ``n`` when ``down`` is None or the same dimension."""
    cols = grid_values(n, gaussian, low[across], high[across])
    if down is None or down == across:
        codes = np.repeat(base[None].astype(np.float32), n, 0)
        codes[:, across] = cols
        return Grid(codes, cols, None)
    rows = grid_values(n, gaussian, low[down], high[down])
    return Grid(manifold_codes(base, (across, down), rows, cols), cols, rows[::-1])


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(T, K) points on the segment from ``a`` to ``b``."""
    return (1 - t)[:, None] * a + t[:, None] * b


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(T, K) spherical interpolation (Shoemake 1985; White 2016 for Gaussian latents): the arc
    between ``a`` and ``b`` with norms blended linearly, which stays where N(0, I) has its mass
    rather than cutting through the low-norm middle. Falls back to lerp for (anti)parallel codes."""
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0 or norm_b == 0:
        return lerp(a, b, t)
    omega = np.arccos(np.clip(np.dot(a / norm_a, b / norm_b), -1, 1))
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    s = np.sin(omega)
    return (np.sin((1 - t) * omega) / s)[:, None] * a + (np.sin(t * omega) / s)[:, None] * b


def interpolations(a: np.ndarray, b: np.ndarray, steps: int, gaussian: bool) -> dict[str, np.ndarray]:
    """{kind: (steps, K) float32 codes from ``a`` to ``b``}: linear always, spherical (slerp) too for
    Gaussian latents, where the chord's middle falls where the prior has little mass."""
    t = np.linspace(0, 1, steps)
    rows = {"linear": lerp(a, b, t)}
    if gaussian:
        rows["spherical (slerp)"] = slerp(a, b, t)
    return {kind: codes.astype(np.float32) for kind, codes in rows.items()}


def decode(model: "Autoencoder", z: np.ndarray, label: int | None) -> np.ndarray:
    """(N, K) -> (N, C, H, W); conditional models decode every row as class ``label``."""
    return model.decode_array(z, None if label is None else np.full(len(z), label))


def notice(scores: np.ndarray, score_name: str, top: int = 3) -> str:
    """The page's "What to notice": how much of the total score (KL or variance, ``scores`` (K,)) the
    most informative dimensions hold, and, for a VAE, how many the decoder ignores."""
    order = informative_first(scores)[:max(1, min(top, len(scores) - 1))]   # a few, never all of them
    share = float(scores[order].sum() / scores.sum()) if scores.sum() > 0 else 0.0
    named = ", ".join(f"z{d}" for d in order)
    if len(order) == 1:
        text = f"The most informative of the {len(scores)} code dimensions ({named}) holds {share:.0%} of the total " \
               f"{score_name}: its slider changes the image most."
    else:
        text = f"The {len(order)} most informative of the {len(scores)} code dimensions ({named}) hold " \
               f"{share:.0%} of the total {score_name}: their sliders change the image most."
    if score_name == "KL":
        ignored = int((scores < IGNORED_KL).sum())
        text += (f" {ignored} dimension(s) have a KL below {IGNORED_KL:g} to the prior: the decoder ignores them "
                 "(posterior collapse, Bowman et al. 2016)." if ignored else " No dimension is ignored by the decoder.")
    return text + " Nearby codes decode to similar images: the grid morphs from one kind of image to another."
