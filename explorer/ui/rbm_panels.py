"""The parts of the RBM page: filters, a Gibbs chain strip, free energies of data against noise."""
from __future__ import annotations

import math

import numpy as np
import streamlit as st

from explorer import boltzmann
from explorer.plots import histograms
from explorer.ui import state, widgets

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
    kind_col, index_col, steps_col = st.columns([2, 2, 3])
    kind = kind_col.radio("Start from", ["test images", "noise"], horizontal=True, key="rbm.start")
    n_test = len(dataset.x_test)
    index = index_col.number_input("First test image" if kind == "test images" else "Noise seed", 0,
                                   max(0, n_test - N_CHAINS), 0, step=N_CHAINS, key="rbm.index")
    steps = steps_col.slider("Gibbs steps", 1, 1000, 100, key="rbm.steps")
    strip, shown = chain(current.key, "noise" if kind == "noise" else "data", int(index), int(steps), layer, dataset)
    rows, frames = strip.shape[:2]
    widgets.show_images(strip.reshape(rows * frames, *strip.shape[2:]), frames)
    st.caption("One chain per row, left to right at steps " + ", ".join(map(str, shown))
               + " (step 0 is the start; later frames show P(v=1|h)). The chain wanders toward what the RBM "
               "finds probable.")


@st.cache_data(show_spinner="Measuring free energies…", max_entries=32)
def energies(model_key: str, _layer, _dataset, limit: int = 2000) -> dict[str, np.ndarray]:
    return boltzmann.energy_groups(_layer, _dataset.x_test[:limit])


def energy_view(current: state.CurrentModel, layer, dataset) -> None:
    groups = energies(current.key, layer, dataset)
    st.plotly_chart(histograms(groups, "free energy F(v)", "Free energy of test images and of noise", height=340),
                    key="rbm.energy")
    st.markdown("Median free energy: " + " · ".join(f"{name} **{median:.1f}**"
                                                     for name, median in boltzmann.medians(groups).items()))
    st.caption("Lower free energy means more probable to the RBM. Shuffled noise keeps each test image's "
               "pixels but not their places; uniform noise keeps nothing.")
