"""The parts of the RBM page: filters, a Gibbs chain strip, free energies of data against noise."""
from __future__ import annotations

import math

import numpy as np
import streamlit as st

from explorer import boltzmann, lessons
from explorer.plots import histograms
from explorer.ui import lesson, state, widgets

N_CHAINS = 4
N_FRAMES = 10


def filters_view(layer, dataset) -> None:
    n_hidden = layer.weight.shape[0]
    n = n_hidden if n_hidden <= 16 else st.slider("Hidden units shown", 16, min(n_hidden, 256),
                                                  min(n_hidden, 64), step=16, key="rbm.n_filters")
    images = boltzmann.filters(layer, dataset.input_shape, n)
    widgets.show_images(images, max(4, math.ceil(math.sqrt(n))), width="stretch")
    st.caption(f"Incoming weights of {n} of the {n_hidden} hidden units, each scaled to its own largest weight: "
               "white pixels excite the unit, black ones inhibit it, grey is no effect.")


@st.cache_data(show_spinner="Running the Gibbs chain…", max_entries=64)
def chain(model_key: str, start_kind: str, index: int, steps: int, _layer, _dataset) -> tuple[np.ndarray, list[int]]:
    start = boltzmann.chain_start(_dataset.x_test, start_kind, index, N_CHAINS)
    return boltzmann.gibbs_strip(_layer, start, steps, N_FRAMES, seed=index)


def chain_view(current: state.CurrentModel, layer, dataset) -> None:
    """Gibbs chains from test images or from noise; where they start, the noise's seed and the number of
    steps come from a lesson link when it gives them."""
    kind_col, index_col, steps_col = st.columns([2, 2, 3])
    kind = kind_col.radio("Start from", lessons.RBM_STARTS, index=lessons.RBM_STARTS.index(lesson.setting(
        "start", lessons.RBM_STARTS[0])), horizontal=True, key="rbm.start")
    if kind == "noise":
        index = index_col.number_input("Noise seed", 0, lessons.SEED_MAX, lesson.setting("seed", 0), key="rbm.seed",
                                       help="The same seed starts from the same noise: a lesson link shows this "
                                            "chain again.")
    else:
        index = index_col.number_input("First test image", 0, max(0, len(dataset.x_test) - N_CHAINS), 0,
                                       step=N_CHAINS, key="rbm.index")
    steps = steps_col.slider("Gibbs steps", 1, lessons.STEPS_MAX, lesson.setting("steps", 100), key="rbm.steps")
    lesson.shows(start=kind, steps=int(steps), **({"seed": int(index)} if kind == "noise" else {}))
    strip, shown = chain(current.key, "noise" if kind == "noise" else "data", int(index), int(steps), layer, dataset)
    rows, frames = strip.shape[:2]
    widgets.show_images(strip.reshape(rows * frames, *strip.shape[2:]), frames)
    st.caption("One chain per row, left to right at steps " + ", ".join(map(str, shown))
               + " (step 0 is the start; later frames show P(v=1|h)). The chain wanders toward what the RBM "
               "finds probable" + (f"; from uniform noise with seed {int(index)}." if kind == "noise" else "."))


@st.cache_data(show_spinner="Measuring free energies…", max_entries=32)
def energies(model_key: str, _layer, _dataset, limit: int = 2000) -> dict[str, np.ndarray]:
    return boltzmann.energy_groups(_layer, _dataset.x_test[:limit])


def energy_view(current: state.CurrentModel, layer, dataset) -> dict[str, float]:
    """The free energies' histogram and medians; returns the medians (the page's "What to notice")."""
    groups = energies(current.key, layer, dataset)
    st.plotly_chart(histograms(groups, "free energy F(v)", "Free energy of test images and of noise", height=340),
                    key="rbm.energy")
    medians = boltzmann.medians(groups)
    st.markdown("Median free energy: " + " · ".join(f"{name} **{median:.1f}**" for name, median in medians.items()))
    st.caption("Lower free energy means more probable to the RBM. Shuffled noise keeps each test image's "
               "pixels but not their places; uniform noise keeps nothing.")
    return medians
