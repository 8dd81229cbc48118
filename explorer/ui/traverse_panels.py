"""The parts of the Traverse page: a slider per code dimension (informative ones first), the manifold
grid over two dimensions, and the interpolation strip between two images.

Panels only draw: the ranges, grids, interpolations and scores are :mod:`explorer.traverse`'s. Moving
a slider decodes one vector and never re-encodes: the test codes and the per-dimension scores are
cached per model.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import generate, lessons, pairing, traverse
from explorer.pairing import CodeFrame
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


@dataclass(frozen=True)
class Side:
    """One model on the page (the current one, and the one beside it): its test codes, how informative
    each dimension is, its frame (:class:`explorer.pairing.CodeFrame`) and the code its sliders start from."""
    name: str
    model: object
    codes: np.ndarray         # (N, K) test codes
    scores: np.ndarray        # (K,)
    score_name: str           # "KL" or "variance"
    frame: CodeFrame
    base: np.ndarray | None = None

    def at(self, index: int | None) -> Side:
        """Starting from test image ``index``'s code, or without one from the origin (prior mean or mean code)."""
        base = (traverse.start_code(self.codes, self.model.gaussian_latent) if index is None
                else self.codes[index].astype(np.float32))
        return dataclasses.replace(self, base=base)

    def decode(self, z: np.ndarray, label: int | None) -> np.ndarray:
        return traverse.decode(self.model, z, pairing.same_class(self.model, label))


def side(key: str, name: str, model, dataset) -> Side:
    codes = cache.codes(key, "test", model, dataset)
    scores, score_name = dimension_scores(key, model, dataset)
    return Side(name, model, codes, scores, score_name, CodeFrame.of(scores, codes, model.gaussian_latent))


# --- widgets ------------------------------------------------------------------------------------

def start_point(current, dataset) -> tuple[int | None, str, int | None]:
    """The test image the sliders start from (None: the origin), a token naming the start (slider keys),
    and the image's known class."""
    origin = "prior mean (0)" if current.model.gaussian_latent else "mean code"
    left, right = st.columns(2)
    n_test = len(dataset.x_test)
    asked = lesson.setting("image", None, within=(0, n_test - 1))   # none: the origin
    start = left.radio("Start from", [origin, "a test image"], index=int(asked is not None), horizontal=True,
                       key="traverse.start")
    index = label = None
    if start != origin:
        index = int(right.number_input("Test image", 0, n_test - 1, asked or 0, key="traverse.index"))
        lesson.shows(image=index)
        label = int(dataset.y_test[index]) if dataset.y_test is not None else None
        right.caption(f"class {class_name(dataset, label)}")
    token = hashlib.sha1(f"{current.key}|{start}|{index}".encode()).hexdigest()[:10]
    return index, token, label


def generate_class(sides: list[Side], dataset, known: int | None) -> int | None:
    """The class a conditional model draws (starting at the lesson link's class, else at the start image's)."""
    if not any(s.model.conditional for s in sides):
        return None
    asked = lesson.setting("class", known or 0, within=(0, dataset.n_classes - 1))
    label = st.selectbox("Class to generate", range(dataset.n_classes), index=asked,
                         format_func=lambda i: class_name(dataset, i), key=f"traverse.class.{known}")
    lesson.shows(**{"class": label})
    return label


def _next_seed() -> None:
    st.session_state[SEED_KEY] = (st.session_state.get(SEED_KEY, 0) + 1) % (lessons.SEED_MAX + 1)


def generate_view(sides: list[Side], dataset, label: int | None) -> None:
    """New images from the prior (VAE, AAE), of the chosen class (CVAE), with one seed for every model on
    the page; or why not."""
    reasons = [generate.refusal(s.model) for s in sides]
    if all(reasons):
        for reason in reasons:
            st.info(reason)
        return
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    st.session_state.setdefault(SEED_KEY, lesson.setting("seed", 0))   # the button's callback moves it on
    seed = int(left.number_input("Seed", 0, lessons.SEED_MAX, key=SEED_KEY,
                                 help="The same seed draws the same codes: a lesson link shows this draw again."))
    conditional = label is not None and any(s.model.conditional for s in sides)
    named = class_name(dataset, label) if label is not None else None
    right.button(f"Generate class {named}" if conditional else "Sample from the prior", on_click=_next_seed,
                 key="traverse.sample", help="Draws new codes (the next seed).")
    lesson.shows(seed=seed)
    for column, s, reason in zip(st.columns(len(sides)), sides, reasons):
        with column:
            if reason is not None:
                st.info(reason)
                continue
            drawn = generate.sample(s.model, seed, pairing.same_class(s.model, label))
            show(drawn.images, 8, drawn.caption(s.model.variant_name, named if s.model.conditional else None),
                 width=GRID_PIXELS // len(sides))


def sliders(first: Side, token: str) -> np.ndarray:
    """One slider per dimension of the current model, most informative first, in a scrolling box when they
    are many; returns the (K,) code they set."""
    z = first.base.astype(np.float32).copy()
    frame, name = first.frame, first.score_name
    box = st.container(height=SLIDER_BOX_PIXELS if frame.size > SLIDERS_IN_BOX else "content")
    for s in traverse.sliders(first.base, frame.order, frame.low, frame.high):
        z[s.dim] = box.slider(f"z{s.dim} · {name} {first.scores[s.dim]:.3g}", s.low, s.high, s.value, step=s.step,
                              format="%.2f", key=f"traverse.{token}.z{s.dim}")
    return z


def show(images: np.ndarray, n_cols: int, caption: str, width: int = GRID_PIXELS) -> None:
    """A mosaic scaled to about ``width`` pixels (PNG encoding stays cheap for big grids)."""
    scale = max(1, width // (n_cols * (images.shape[-1] + 1)))
    st.image(mosaic(images, n_cols, scale=scale, gap=1), caption=caption, output_format="PNG")


@st.fragment
def slider_view(sides: list[Side], token: str, label: int | None) -> None:
    """Sliders and the decoded image of each model (the one beside follows by rank,
    :func:`explorer.pairing.matched_code`); a slider move reruns only this fragment. A lesson link hides
    the sliders, so it shows the start codes' images alone, centred, not beside an empty column."""
    first = sides[0]
    if lesson.locked():
        z, images = first.base, st.columns([1] + [2] * len(sides) + [1])[1:-1]
    else:
        left, *images = st.columns([3] + [2] * len(sides))
        with left:
            z = sliders(first, token)
    n_moved = traverse.moved(z, first.base)
    with images[0]:
        show(first.decode(z[None], label), 1, "decoded code" + (f" of {first.name}" if len(sides) > 1 else "")
             + f" · {n_moved} dimension(s) moved from the start",
             width=280 if len(sides) == 1 else 200)
    for column, other in zip(images[1:], sides[1:]):
        code, unmatched = pairing.matched_code(z, first.base, first.frame, other.base, other.frame)
        missing = f"; {unmatched} have no counterpart in its {other.frame.size}-D code" if unmatched else ""
        with column:
            show(other.decode(code[None], label), 1, f"decoded code of {other.name} · the same moves, by rank{missing}", width=200)


def grid_view(sides: list[Side], dataset, label: int | None) -> None:
    first = sides[0]
    k, order = first.frame.size, first.frame.order
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
    for column, s in zip(st.columns(len(sides)), sides):
        across, down = (dx, dy) if s is first else (pairing.matched_dim(dx, first.frame, s.frame),
                                                      pairing.matched_dim(dy, first.frame, s.frame))
        manifold = traverse.grid(s.base, across, down, n, s.model.gaussian_latent, s.frame.low, s.frame.high)
        rows_note = "" if manifold.down is None else \
            f", z{down} down from {manifold.down[0]:.2f} to {manifold.down[-1]:.2f}"
        spacing = ("by the inverse normal CDF of an evenly spaced unit-square grid (Kingma & Welling 2014, Fig. 4)"
                   if s.model.gaussian_latent else "evenly over the codes' observed range (1st-99th percentile, widened)")
        with column:
            show(s.decode(manifold.codes, label), n,
                 (f"{s.name}: " if len(sides) > 1 else "")
                 + f"z{across} across from {manifold.across[0]:.2f} to {manifold.across[-1]:.2f}{rows_note}; "
                 f"values spaced {spacing}; other dimensions held at the start point.", width=GRID_PIXELS // len(sides))


def interpolation_view(sides: list[Side], dataset, label: int | None) -> None:
    left, middle, right = st.columns(3)
    n_test = len(dataset.x_test)
    a = int(left.number_input("From test image", 0, n_test - 1, 0, key="traverse.from"))
    b = int(middle.number_input("To test image", 0, n_test - 1, min(1, n_test - 1), key="traverse.to"))
    steps = right.slider("Steps", 3, 16, 10, key="traverse.steps")
    ends = np.concatenate([dataset.x_test[[a]], np.ones((steps - 2, *dataset.input_shape), np.float32),
                           dataset.x_test[[b]]])
    for column, s in zip(st.columns(len(sides)), sides):
        rows = traverse.interpolations(s.codes[a], s.codes[b], steps, s.model.gaussian_latent)
        strip = np.concatenate([s.decode(z, label) for z in rows.values()])
        kinds = " and ".join(rows) + (" interpolations" if len(rows) > 1 else " interpolation")
        as_class = "" if label is None or not s.model.conditional else f", decoded as class {class_name(dataset, label)}"
        no_slerp = "" if s.model.gaussian_latent else "; slerp applies to Gaussian latents (vae, cvae, aae)"
        with column:
            show(np.concatenate([ends, strip]), steps,
                 (f"{s.name}: " if len(sides) > 1 else "")
                 + f"top: test images {a} and {b}; then {kinds} between their codes{as_class}{no_slerp}.",
                 width=GRID_PIXELS // len(sides))
