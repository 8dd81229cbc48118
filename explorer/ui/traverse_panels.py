"""The parts of the Traverse page: a slider per code dimension (informative ones first), the manifold
grid over two dimensions, and the interpolation strip between two images.

Panels only draw: the ranges, grids, interpolations and scores are :mod:`explorer.traverse`'s. Moving
a slider decodes one vector and never re-encodes: the test codes and the per-dimension scores are
cached per model.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explorer import generate, lessons, traverse
from explorer.plots import mosaic
from explorer.query import class_name
from explorer.ui import cache, lesson

# Beside the decoded image, sliders that do not fit go in a box of fixed height that scrolls on its own,
# so the image stays in view while any slider moves: at 1024x768 and 1280x720 the box starts below the
# title and the start choice and ends above the screen's bottom edge.
SLIDER_BOX_PIXELS = 360
SLIDERS_IN_BOX = 4  # a slider takes about 84 px; fewer than this take their own height, with no box
GRID_PIXELS = 560  # the manifold grid's width on screen
SEED_KEY = "traverse.seed"


@st.cache_data(show_spinner="Scoring each code dimension…", max_entries=32)
def dimension_scores(model_key: str, _model, _dataset) -> tuple[np.ndarray, str]:
    """:func:`explorer.traverse.dimension_scores` over the test images, once per model."""
    return traverse.dimension_scores(_model, _dataset.x_test, _dataset.y_test,
                                     cache.codes(model_key, "test", _model, _dataset))


# --- widgets ------------------------------------------------------------------------------------

def start_point(current, dataset, codes: np.ndarray) -> tuple[np.ndarray, str, int | None]:
    """The code the sliders start from, a token naming it (slider keys), and its known class."""
    origin = "prior mean (0)" if current.model.gaussian_latent else "mean code"
    left, right = st.columns(2)
    asked = lesson.setting("image", None, within=(0, len(codes) - 1))   # none: the origin
    start = left.radio("Start from", [origin, "a test image"], index=int(asked is not None), horizontal=True,
                       key="traverse.start")
    if start == origin:
        base, label = traverse.start_code(codes, current.model.gaussian_latent), None
    else:
        index = int(right.number_input("Test image", 0, len(codes) - 1, asked or 0, key="traverse.index"))
        lesson.shows(image=index)
        base, label = codes[index], (int(dataset.y_test[index]) if dataset.y_test is not None else None)
        right.caption(f"class {class_name(dataset, label)}")
    token = hashlib.sha1(f"{current.key}|{start}|{base.tobytes().hex()}".encode()).hexdigest()[:10]
    return base, token, label


def generate_class(current, dataset, known: int | None) -> int | None:
    """The class a conditional model draws (starting at the lesson link's class, else at the start image's)."""
    if not current.model.conditional:
        return None
    asked = lesson.setting("class", known or 0, within=(0, dataset.n_classes - 1))
    label = st.selectbox("Class to generate", range(dataset.n_classes), index=asked,
                         format_func=lambda i: class_name(dataset, i), key=f"traverse.class.{known}")
    lesson.shows(**{"class": label})
    return label


def _next_seed() -> None:
    st.session_state[SEED_KEY] = (st.session_state.get(SEED_KEY, 0) + 1) % (lessons.SEED_MAX + 1)


def generate_view(current, dataset, label: int | None) -> None:
    """New images from the prior (VAE, AAE), of the chosen class (CVAE), with a seed; or why not."""
    model = current.model
    reason = generate.refusal(model)
    if reason is not None:
        st.info(reason)
        return
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    st.session_state.setdefault(SEED_KEY, lesson.setting("seed", 0))   # the button's callback moves it on
    seed = int(left.number_input("Seed", 0, lessons.SEED_MAX, key=SEED_KEY,
                                 help="The same seed draws the same codes: a lesson link shows this draw again."))
    named = class_name(dataset, label) if label is not None else None
    right.button(f"Generate class {named}" if model.conditional else "Sample from the prior", on_click=_next_seed,
                 key="traverse.sample", help="Draws new codes (the next seed).")
    lesson.shows(seed=seed)
    drawn = generate.sample(model, seed, label)
    show(drawn.images, 8, drawn.caption(current.variant, named), width=GRID_PIXELS)


def sliders(base: np.ndarray, token: str, order: np.ndarray, scores: np.ndarray, score_name: str,
            low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """One slider per dimension, most informative first, in a scrolling box when they are many; returns
    the (K,) code they set."""
    z = base.astype(np.float32).copy()
    box = st.container(height=SLIDER_BOX_PIXELS if len(order) > SLIDERS_IN_BOX else "content")
    for s in traverse.sliders(base, order, low, high):
        z[s.dim] = box.slider(f"z{s.dim} · {score_name} {scores[s.dim]:.3g}", s.low, s.high, s.value, step=s.step,
                              format="%.2f", key=f"traverse.{token}.z{s.dim}")
    return z


def show(images: np.ndarray, n_cols: int, caption: str, width: int = GRID_PIXELS) -> None:
    """A mosaic scaled to about ``width`` pixels (PNG encoding stays cheap for big grids)."""
    scale = max(1, width // (n_cols * (images.shape[-1] + 1)))
    st.image(mosaic(images, n_cols, scale=scale, gap=1), caption=caption, output_format="PNG")


@st.fragment
def slider_view(model, base: np.ndarray, token: str, order: np.ndarray, scores: np.ndarray, score_name: str,
                low: np.ndarray, high: np.ndarray, label: int | None) -> None:
    """Sliders and the decoded image; a slider move reruns only this fragment. A lesson link hides the
    sliders, so it shows the start code's image alone, centred, not beside an empty column."""
    if lesson.locked():
        z, (_, right, _) = base, st.columns([1, 2, 1])
    else:
        left, right = st.columns([3, 2])
        with left:
            z = sliders(base, token, order, scores, score_name, low, high)
    with right:
        show(traverse.decode(model, z[None], label), 1,
             f"decoded code · {traverse.moved(z, base)} dimension(s) moved from the start", width=280)


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
    manifold = traverse.grid(base, dx, dy, n, gaussian, low, high)
    rows_note = "" if manifold.down is None else \
        f", z{dy} down from {manifold.down[0]:.2f} to {manifold.down[-1]:.2f}"
    spacing = ("by the inverse normal CDF of an evenly spaced unit-square grid (Kingma & Welling 2014, Fig. 4)"
               if gaussian else "evenly over the codes' observed range (1st-99th percentile, widened)")
    show(traverse.decode(model, manifold.codes, label), n,
         f"z{dx} across from {manifold.across[0]:.2f} to {manifold.across[-1]:.2f}{rows_note}; "
         f"values spaced {spacing}; other dimensions held at the start point.")


def interpolation_view(model, dataset, codes: np.ndarray, label: int | None) -> None:
    left, middle, right = st.columns(3)
    n_test = len(codes)
    a = int(left.number_input("From test image", 0, n_test - 1, 0, key="traverse.from"))
    b = int(middle.number_input("To test image", 0, n_test - 1, min(1, n_test - 1), key="traverse.to"))
    steps = right.slider("Steps", 3, 16, 10, key="traverse.steps")
    rows = traverse.interpolations(codes[a], codes[b], steps, model.gaussian_latent)
    strip = np.concatenate([traverse.decode(model, z, label) for z in rows.values()])
    ends = np.concatenate([dataset.x_test[[a]], np.ones((steps - 2, *dataset.input_shape), np.float32),
                           dataset.x_test[[b]]])
    kinds = " and ".join(rows) + (" interpolations" if len(rows) > 1 else " interpolation")
    as_class = "" if label is None else f", decoded as class {class_name(dataset, label)}"
    no_slerp = "" if model.gaussian_latent else "; slerp applies to Gaussian latents (vae, cvae, aae)"
    show(np.concatenate([ends, strip]), steps,
         f"top: test images {a} and {b}; then {kinds} between their codes{as_class}{no_slerp}.")
