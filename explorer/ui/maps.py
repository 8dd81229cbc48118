"""The Latent page's 2-D maps, cached: a shipped projection when there is one, else fitted here once.

A map is named by what it maps (``source``: the model's codes or the pixels), how (``method``:
raw, pca or umap) and which test images (a seeded subsample of ``n_points``). Fitted
maps are cached as plain arrays by :func:`projection_state`; a shipped one is the same arrays in
``pretrained/<dataset>/<variant>-<latent>/projection-codes-<method>-<n>.npz`` (or
``pretrained/<dataset>/projection-pixels-<method>-<n>.npz``), so shipping maps later is a drop-in.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from explorer import metrics
from explorer.errors import DataError
from explorer.gallery import PRETRAINED_ROOT, folder_of_key
from explorer.projection import (UMAP_COMPILED, from_state, make_projector, read_projection, shipped_name,
                                 shown_indices, warm_umap_in_background)
from explorer.ui import cache

# Measured on the 2-core machine, quiet (python -m benchmarks, projection rows): a fit of 10k Fashion-MNIST
# codes 7.8 s, of 10k pixels 12 s, once numba's code is compiled; compiling it, the first time on a
# machine (projection.import_umap caches it on disk after that), about 20 s more.
UMAP_COMPILE_SECONDS = 20
UMAP_SECONDS_PER_1000 = 1.2


@dataclass
class Map:
    """One 2-D map of the shown test images; :meth:`quality` scores it (computed on first ask)."""
    key: str                    # names the inputs, the method and the points, for caches
    title: str
    source: str                 # "codes" or "pixels"
    method: str                 # "raw", "pca" or "umap"
    points: np.ndarray          # (N, 2)
    inputs: np.ndarray          # (N, D) what was mapped: codes or pixels
    state: dict | None          # the projector's arrays; None for raw codes
    origin: str                 # "fitted here", "shipped", "raw"
    fit_seconds: float
    labels: np.ndarray | None   # (N,) classes of the shown images
    pixels: np.ndarray          # (N, D) the shown images, for trustworthiness

    def quality(self) -> dict:
        """5-NN accuracy, trustworthiness and silhouette (cached per map across sessions)."""
        return quality(self.key, self.points, self.labels, self.pixels)


def shipped_path(model_key: str, dataset_name: str, source: str, method: str, n_points: int) -> Path | None:
    """Where a shipped projection for this map would be, if it is there."""
    folder = PRETRAINED_ROOT / dataset_name if source == "pixels" else folder_of_key(model_key)
    path = None if folder is None else folder / shipped_name(source, method, n_points)
    return path if path is not None and path.is_file() else None


@st.cache_data(show_spinner=False, max_entries=64)
def projection_state(inputs_key: str, method: str, shipped: str | None, _inputs: np.ndarray) -> dict:
    """The fitted projector's arrays (a UMAP fitted here without its inputs: they are ``_inputs``).
    ``inputs_key`` names ``_inputs`` (the model's key or the dataset's fingerprint, with the
    subsample). A shipped file wins when it fits these points."""
    if shipped is not None:
        try:
            state = read_projection(shipped)
            from_state(state, _inputs)  # refuses a UMAP map of other pixels
            # Codes shipped with their map may differ from these in the last bits (another CPU's kernels).
            same_codes = "inputs" not in state or np.allclose(state["inputs"], _inputs, rtol=1e-3, atol=1e-4)
            if len(state["embedding"]) == len(_inputs) and same_codes:
                return {**state, "origin": np.array("shipped")}
        except DataError:
            pass  # stale or foreign file: fit here instead
    fitted = make_projector(method).fit(_inputs)
    return {**fitted.state(**_no_inputs(method)), "origin": np.array("fitted here")}


def _no_inputs(method: str) -> dict:
    return {"include_inputs": False} if method == "umap" else {}


@st.cache_resource(show_spinner=False, max_entries=16)
def projector(map_key: str, _state: dict, _inputs: np.ndarray):
    """The projector behind a map, to place new points with ``transform`` (kept: its kNN index too);
    a shipped UMAP map brings its own inputs."""
    return from_state(_state, _inputs)


@st.cache_data(show_spinner=False, max_entries=128)
def quality(map_key: str, _points: np.ndarray, _labels: np.ndarray | None, _pixels: np.ndarray) -> dict:
    """5-NN accuracy, trustworthiness against pixel neighbours and silhouette of one map."""
    scores = {"trustworthiness": metrics.trustworthiness_2d(_pixels, _points)}
    if _labels is not None:
        scores["knn_accuracy"] = metrics.knn_accuracy_2d(_points, _labels)
        scores["silhouette"] = metrics.silhouette_2d(_points, _labels)
    return scores


def umap_estimate(n_points: int) -> str:
    """An honest guess of the wait, for the spinner."""
    seconds = max(1, round(UMAP_SECONDS_PER_1000 * n_points / 1000))
    if UMAP_COMPILED.is_set():
        return f"UMAP of {n_points} points: about {seconds} s…"
    return (f"UMAP of {n_points} points: about {seconds} s, up to {UMAP_COMPILE_SECONDS + seconds} s if this is "
            "the first UMAP on this machine (numba compiles its code once, then keeps it on disk)…")


def build_map(title: str, source: str, method: str, inputs: np.ndarray, inputs_key: str, shipped: Path | None,
              labels: np.ndarray | None, pixels: np.ndarray) -> Map:
    """One map: ``inputs`` (N, D) projected by ``method`` (raw: the first two columns), scored."""
    if method == "raw":
        points = np.column_stack([inputs[:, :2], np.zeros((len(inputs), max(0, 2 - inputs.shape[1])))])
        state, origin, seconds = None, "raw", 0.0
    else:
        started = time.perf_counter()
        with st.spinner(umap_estimate(len(inputs)) if method == "umap" else f"PCA of {len(inputs)} points…"):
            state = projection_state(inputs_key, method, str(shipped) if shipped else None, inputs)
        points, origin = state["embedding"], str(state["origin"])
        seconds = float(state["fit_seconds"]) if origin == "fitted here" else time.perf_counter() - started
        if origin == "fitted here" and bool(state.get("included_compile", False)):
            origin = "fitted here (the first UMAP: numba compiling included)"
    points = np.asarray(points, np.float32)
    key = f"{inputs_key}/{method}/{hashlib.sha1(points.tobytes()).hexdigest()[:12]}"  # a shipped map differs
    return Map(key, title, source, method, points, inputs, state, origin, seconds, labels, pixels)


def maps_for(current, dataset, code_method: str, n_points: int) -> tuple[np.ndarray, list[Map]]:
    """The shown test indices and the three maps: codes, PCA of pixels, UMAP of pixels."""
    shown = shown_indices(len(dataset.x_test), n_points)
    labels = dataset.y_test[shown] if dataset.y_test is not None else None
    pixels = dataset.x_test[shown].reshape(len(shown), -1)
    codes = cache.codes(current.key, "test", current.model, dataset)[shown]
    pixel_key = f"{dataset.fingerprint}/{len(shown)}"
    code_title = {"raw": "codes", "pca": "PCA of the codes", "umap": "UMAP of the codes"}[code_method]
    maps = [build_map(code_title, "codes", code_method, codes, f"{current.key}/{len(shown)}",
                      None if code_method == "raw" else
                      shipped_path(current.key, dataset.name, "codes", code_method, len(shown)), labels, pixels)]
    for method in ("pca", "umap"):
        shipped = shipped_path(current.key, dataset.name, "pixels", method, len(shown))
        maps.append(build_map(f"{method.upper()} of the pixels", "pixels", method, pixels, pixel_key, shipped,
                              labels, pixels))
    return shown, maps


@st.cache_resource(show_spinner=False)
def start_umap_warmup():
    """Once per server process, a few seconds after the first page view (``WARMUP_DELAY_S``): load
    (or, the first time on a machine, compile) UMAP's numba code in a background thread. Measured in a
    fresh process with the disk cache filled: the first 10k-point map 8.7 s after a warm-up against
    12.1 s without one (benchmarks)."""
    return warm_umap_in_background()
