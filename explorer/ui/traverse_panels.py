"""The parts of the Traverse page: a slider per code dimension (informative ones first), the manifold
grid over two dimensions, and the interpolation strip between two images.

Moving a slider decodes one vector (well under a millisecond on CPU) and never re-encodes: the test
codes and the per-dimension scores are cached per model.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from explorer.plots import mosaic
from explorer.tensors import INFERENCE_BATCH, as_tensor
from explorer.ui import cache, query

SLIDERS_IN_VIEW = 12
GRID_PIXELS = 560  # the manifold grid's width on screen


# --- pure helpers -------------------------------------------------------------------------------

def slider_ranges(codes: np.ndarray, gaussian: bool) -> tuple[np.ndarray, np.ndarray]:
    """(K,) low and high per dimension: the codes' 1st-99th percentile widened by 10%, and at least
    [-3, 3] (three prior standard deviations) for Gaussian latents."""
    low, high = np.percentile(codes, [1, 99], axis=0)
    pad = 0.1 * (high - low) + 1e-3
    low, high = low - pad, high + pad
    if gaussian:
        low, high = np.minimum(low, -3.0), np.maximum(high, 3.0)
    return low.astype(np.float64), high.astype(np.float64)


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


# --- cached per model ---------------------------------------------------------------------------

@st.cache_data(show_spinner="Scoring each code dimension…", max_entries=32)
def dimension_scores(model_key: str, _model, _dataset) -> tuple[np.ndarray, str]:
    """(K,) how informative each dimension is, and the score's name: the average KL to the prior over
    the test images for models that have ``kl_per_dimension`` (VAE, CVAE), else the codes' variance."""
    if hasattr(_model, "kl_per_dimension"):
        x, y = _dataset.x_test, _dataset.y_test if _model.conditional else None
        was_training = _model.training
        _model.eval()
        total = np.zeros(_model.latent_dim)
        with torch.inference_mode():
            for start in range(0, len(x), INFERENCE_BATCH):
                xb = as_tensor(x[start:start + INFERENCE_BATCH])
                yb = as_tensor(y[start:start + INFERENCE_BATCH]) if y is not None else None
                total += _model.kl_per_dimension(xb, yb).double().numpy() * len(xb)
        _model.train(was_training)
        return total / len(x), "KL"
    return cache.codes(model_key, "test", _model, _dataset).var(0), "variance"


def decode(model, z: np.ndarray, label: int | None) -> np.ndarray:
    """(N, K) -> (N, C, H, W); conditional models decode every row as class ``label``."""
    y = None if label is None else np.full(len(z), label)
    return model.decode_array(z, y)


# --- widgets ------------------------------------------------------------------------------------

def start_point(current, dataset, codes: np.ndarray) -> tuple[np.ndarray, str, int | None]:
    """The code the sliders start from, a token naming it (slider keys), and its known class."""
    gaussian = current.model.gaussian_latent
    origin = "prior mean (0)" if gaussian else "mean code"
    left, right = st.columns(2)
    start = left.radio("Start from", [origin, "a test image"], horizontal=True, key="traverse.start")
    if start == origin:
        base = np.zeros(codes.shape[1], np.float32) if gaussian else codes.mean(0).astype(np.float32)
        label = None
    else:
        index = int(right.number_input("Test image", 0, len(codes) - 1, 0, key="traverse.index"))
        base, label = codes[index], (int(dataset.y_test[index]) if dataset.y_test is not None else None)
        right.caption(f"class {query.class_name(dataset, label)}")
    token = hashlib.sha1(f"{current.key}|{start}|{base.tobytes().hex()}".encode()).hexdigest()[:10]
    return base, token, label


def generate_class(current, dataset, known: int | None) -> int | None:
    """The class a conditional model draws (starting at the start image's class)."""
    if not current.model.conditional:
        return None
    return st.selectbox("Class to generate", range(dataset.n_classes), index=known or 0,
                        format_func=lambda i: query.class_name(dataset, i), key=f"traverse.class.{known}")


def sliders(base: np.ndarray, token: str, order: np.ndarray, scores: np.ndarray, score_name: str,
            low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """One slider per dimension, most informative first; returns the (K,) code they set."""
    z = base.astype(np.float32).copy()
    rest = st.expander(f"The other {len(order) - SLIDERS_IN_VIEW} dimensions") if len(order) > SLIDERS_IN_VIEW \
        else None
    for rank, d in enumerate(order):
        where = st if rank < SLIDERS_IN_VIEW else rest
        value = float(np.clip(base[d], low[d], high[d]))
        z[d] = where.slider(f"z{d} · {score_name} {scores[d]:.3g}", float(low[d]), float(high[d]), value,
                            step=float(high[d] - low[d]) / 200, format="%.2f", key=f"traverse.{token}.z{d}")
    return z


def show(images: np.ndarray, n_cols: int, caption: str, width: int = GRID_PIXELS) -> None:
    """A mosaic scaled to about ``width`` pixels (PNG encoding stays cheap for big grids)."""
    scale = max(1, width // (n_cols * (images.shape[-1] + 1)))
    st.image(mosaic(images, n_cols, scale=scale, gap=1), caption=caption, output_format="PNG")


@st.fragment
def slider_view(model, base: np.ndarray, token: str, order: np.ndarray, scores: np.ndarray, score_name: str,
                low: np.ndarray, high: np.ndarray, label: int | None) -> None:
    """Sliders and the decoded image; a slider move reruns only this fragment."""
    left, right = st.columns([3, 2])
    with left:
        z = sliders(base, token, order, scores, score_name, low, high)
    with right:
        moved = int((np.abs(z - base) > 1e-6).sum())
        show(decode(model, z[None], label), 1, f"decoded code · {moved} dimension(s) moved from the start",
             width=280)


def grid_view(model, dataset, base: np.ndarray, order: np.ndarray, low: np.ndarray, high: np.ndarray,
              label: int | None) -> None:
    k, gaussian = model.latent_dim, model.gaussian_latent
    dims = list(range(k))
    left, middle, right = st.columns(3)
    dx = left.selectbox("Across", dims, index=int(order[0]), format_func=lambda d: f"z{d}", key="traverse.grid_x")
    if k == 1:
        dy = None
        middle.caption("A 1-D code: the grid is one row.")
    else:
        dy = middle.selectbox("Down", dims, index=int(order[1]), format_func=lambda d: f"z{d}",
                              key="traverse.grid_y")
    n = right.slider("Grid size", 3, 25, 15 if dataset.input_shape[-1] > 8 else 10, key="traverse.grid_n")
    cols = grid_values(n, gaussian, low[dx], high[dx])
    if dy is None or dy == dx:
        codes = np.repeat(base[None].astype(np.float32), n, 0)
        codes[:, dx] = cols
        rows_note = ""
    else:
        codes = manifold_codes(base, (dx, dy), grid_values(n, gaussian, low[dy], high[dy]), cols)
        rows_note = f", z{dy} down from {codes[0, dy]:.2f} to {codes[-1, dy]:.2f}"
    spacing = ("by the inverse normal CDF of an evenly spaced unit-square grid (Kingma & Welling 2014, Fig. 4)"
               if gaussian else "evenly over the codes' observed range (1st-99th percentile, widened)")
    show(decode(model, codes, label), n, f"z{dx} across from {cols[0]:.2f} to {cols[-1]:.2f}{rows_note}; "
         f"values spaced {spacing}; other dimensions held at the start point.")


def interpolation_view(model, dataset, codes: np.ndarray, label: int | None) -> None:
    left, middle, right = st.columns(3)
    n_test = len(codes)
    a = int(left.number_input("From test image", 0, n_test - 1, 0, key="traverse.from"))
    b = int(middle.number_input("To test image", 0, n_test - 1, min(1, n_test - 1), key="traverse.to"))
    steps = right.slider("Steps", 3, 16, 10, key="traverse.steps")
    t = np.linspace(0, 1, steps)
    rows = {"linear": lerp(codes[a], codes[b], t)}
    if model.gaussian_latent:
        rows["spherical (slerp)"] = slerp(codes[a], codes[b], t)
    strip = np.concatenate([decode(model, z.astype(np.float32), label) for z in rows.values()])
    ends = np.concatenate([dataset.x_test[[a]], np.ones((steps - 2, *dataset.input_shape), np.float32),
                           dataset.x_test[[b]]])
    kinds = " and ".join(rows) + (" interpolations" if len(rows) > 1 else " interpolation")
    as_class = "" if label is None else f", decoded as class {query.class_name(dataset, label)}"
    no_slerp = "" if model.gaussian_latent else "; slerp applies to Gaussian latents (vae, cvae, aae)"
    show(np.concatenate([ends, strip]), steps,
         f"top: test images {a} and {b}; then {kinds} between their codes{as_class}{no_slerp}.")
