"""The Latent page's maps, cached across sessions: a map's arrays (:func:`explorer.maps.map_state`:
a shipped projection when there is one, else fitted here once), its projector (to place new points)
and its scores. Which maps, and what each holds, is :mod:`explorer.maps`'s."""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import streamlit as st

from explorer import maps
from explorer.projection import UMAP_COMPILED, from_state, warm_umap_in_background
from explorer.ui import cache


@st.cache_data(show_spinner=False, max_entries=64)
def projection_state(inputs_key: str, method: str, shipped: str | None, _inputs: np.ndarray) -> dict:
    """:func:`explorer.maps.map_state`; ``inputs_key`` names ``_inputs`` (the model's key or the
    dataset's fingerprint, with the subsample)."""
    return maps.map_state(method, _inputs, shipped)


@st.cache_resource(show_spinner=False, max_entries=16)
def projector(map_key: str, _state: dict, _inputs: np.ndarray):
    """The projector behind a map, to place new points with ``transform`` (kept: its kNN index too);
    a shipped UMAP map brings its own inputs."""
    return from_state(_state, _inputs)


def projector_of(m: maps.Map):
    return projector(m.key, m.state, m.inputs)


@st.cache_data(show_spinner=False, max_entries=128)
def quality(map_key: str, _points: np.ndarray, _labels: np.ndarray | None, _pixels: np.ndarray) -> dict:
    """:func:`explorer.maps.map_quality` of one map, once per map across sessions."""
    return maps.map_quality(_points, _labels, _pixels)


def spinner_text(method: str, n_points: int) -> str:
    if method != "umap":
        return f"Mapping {n_points} points…"
    seconds, first = maps.fit_estimate(n_points, UMAP_COMPILED.is_set())
    if first == seconds:
        return f"UMAP of {n_points} points: about {seconds} s…"
    return (f"UMAP of {n_points} points: about {seconds} s, up to {first} s if this is the first UMAP on this "
            "machine (numba compiles its code once, then keeps it on disk)…")


def build_map(spec: maps.MapSpec) -> maps.Map:
    started = time.perf_counter()
    with st.spinner(spinner_text(spec.method, len(spec.inputs))):
        state = projection_state(spec.inputs_key, spec.method, str(spec.shipped) if spec.shipped else None,
                                 spec.inputs)
    return maps.Map.from_state(spec, state, time.perf_counter() - started)


@st.cache_resource(show_spinner=False, max_entries=8)
def shown_images(dataset_key: str, n_points: int, _dataset) -> maps.Shown:
    """:func:`explorer.maps.shown_images` once per dataset (``dataset_key``: its fingerprint) and size, not
    on every rerun: at 10,000 Fashion-MNIST images it copies 31 MB of pixels (0.25 s profiled here)."""
    return maps.shown_images(_dataset, n_points)


def _code_spec(key: str, model, dataset, shown: maps.Shown, code_method: str) -> list[maps.MapSpec]:
    codes = cache.codes(key, "test", model, dataset)[shown.indices]
    return maps.map_specs(key, dataset, shown, codes, maps.code_method_for(model.latent_dim, code_method))


def maps_for(current, dataset, code_method: str, n_points: int,
             partner=None) -> tuple[maps.Shown, list[maps.Map]]:
    """The shown test images and their three maps: codes, PCA of pixels, UMAP of pixels; with a ``partner``
    (:class:`explorer.ui.beside.Partner`) its code map second, each code map titled with its model."""
    shown = shown_images(dataset.fingerprint, n_points, dataset)
    specs = _code_spec(current.key, current.model, dataset, shown, code_method)
    if partner is not None:
        mine = f"{current.variant} (code {current.model.latent_dim})"
        theirs = _code_spec(partner.key, partner.model, dataset, shown, code_method)[0]
        specs = [dataclasses.replace(specs[0], title=f"{mine}: {specs[0].title}"),
                 dataclasses.replace(theirs, title=f"{partner.label}: {theirs.title}"), *specs[1:]]
    return shown, [build_map(spec) for spec in specs]


@st.cache_resource(show_spinner=False)
def start_umap_warmup():
    """Once per server process, a few seconds after the first page view (``WARMUP_DELAY_S``): load
    (or, the first time on a machine, compile) UMAP's numba code in a background thread, so that the
    first map a user asks for does not wait for it (benchmarks, projection rows)."""
    return warm_umap_in_background()
