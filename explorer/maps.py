"""The Latent page's 2-D maps as a use case: which test images are shown, which three maps of them are
drawn, a shipped map or a fresh fit, each map's scores, and where a new image lands on every map.

A map is named by what it maps (``source``: the model's codes or the pixels), how (``method``: raw,
pca or umap; :mod:`explorer.projection`) and which test images (a seeded subsample of ``n_points``).
A shipped map is a projector's arrays in ``pretrained/<dataset>/<variant>-<latent>/
projection-codes-<method>-<n>.npz`` (or ``pretrained/<dataset>/projection-pixels-<method>-<n>.npz``);
any other map is fitted on demand. Placing a new image uses the fitted projector's ``transform``,
never a refit, so a map does not move under it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from explorer import metrics
from explorer.errors import DataError
from explorer.gallery import PRETRAINED_ROOT, folder_of_key
from explorer.projection import from_state, make_projector, read_projection, shipped_name, shown_indices
from explorer.query import encode_one

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder

PIXEL_METHODS = ("pca", "umap")
TITLES = {"raw": "codes", "pca": "PCA of the {source}", "umap": "UMAP of the {source}"}
# UMAP's wait, for the spinner, from benchmarks/RESULTS.md's projection rows: seconds per thousand
# points once numba's code is compiled, and the seconds that compiling it adds the first time on a
# machine (projection.import_umap keeps it on disk after that).
UMAP_COMPILE_SECONDS = 20
UMAP_SECONDS_PER_1000 = 1.2
# Shipped codes may differ from these in the last bits (another CPU's kernels).
SAME_CODES_RTOL, SAME_CODES_ATOL = 1e-3, 1e-4
DECODE_STEPS = 50  # the decode inputs cross the codes' 1st-99th percentile span in this many steps


def code_methods(latent_dim: int) -> tuple[str, ...]:
    """How ``latent_dim``-D codes are mapped to 2-D: as they are up to 2-D (``raw``), else by PCA or UMAP."""
    return ("raw",) if latent_dim <= 2 else ("pca", "umap")


def code_method_for(latent_dim: int, asked: str) -> str:
    """How a model with ``latent_dim``-D codes draws its code map when the page asked for ``asked``: as asked
    when it can, else its own way (2-D codes are plotted as they are, beside an 8-D model's PCA map)."""
    methods = code_methods(latent_dim)
    return asked if asked in methods else methods[0]


@dataclass(frozen=True)
class Shown:
    """The test images on the maps: a seeded subsample, with their labels and pixels."""
    indices: np.ndarray           # (N,) test indices, sorted
    labels: np.ndarray | None     # (N,)
    pixels: np.ndarray            # (N, D)


def shown_images(dataset: "ImageDataset", n_points: int) -> Shown:
    shown = shown_indices(len(dataset.x_test), n_points)
    return Shown(shown, dataset.y_test[shown] if dataset.y_test is not None else None,
                 dataset.x_test[shown].reshape(len(shown), -1))


def selected_rows(shown: Shown, picked: list[int]) -> np.ndarray:
    """(M,) rows of the shown images (positions in ``shown.indices``, ascending) whose test index is in
    ``picked``; picked images that are not on the maps have no row. The same rows on every map, as
    all three show the same images in the same order."""
    return np.flatnonzero(np.isin(shown.indices, np.asarray(picked, np.int64)))


@dataclass(frozen=True)
class MapSpec:
    """One map to draw: its title, what it maps and how, and where a shipped copy would be."""
    title: str
    source: str                # "codes" or "pixels"
    method: str                # "raw", "pca" or "umap"
    inputs: np.ndarray         # (N, D) the codes or pixels of the shown images
    inputs_key: str            # names the inputs: the model's key or the dataset's fingerprint, and N
    shipped: Path | None


def shipped_path(model_key: str, dataset_name: str, source: str, method: str, n_points: int) -> Path | None:
    """Where a shipped projection for this map is, if there is one."""
    folder = PRETRAINED_ROOT / dataset_name if source == "pixels" else folder_of_key(model_key)
    path = None if folder is None else folder / shipped_name(source, method, n_points)
    return path if path is not None and path.is_file() else None


def map_specs(model_key: str, dataset: "ImageDataset", shown: Shown, codes: np.ndarray,
              code_method: str) -> list[MapSpec]:
    """The three maps: the shown images' ``codes`` (N, K) by ``code_method``, then PCA and UMAP of
    their pixels."""
    n = len(shown.indices)
    inputs = [("codes", code_method, codes, f"{model_key}/{n}")]
    inputs += [("pixels", method, shown.pixels, f"{dataset.fingerprint}/{n}") for method in PIXEL_METHODS]
    return [MapSpec(TITLES[method].format(source=source), source, method, x, key,
                    shipped_path(model_key, dataset.name, source, method, n)) for source, method, x, key in inputs]


def map_state(method: str, inputs: np.ndarray, shipped: str | Path | None = None) -> dict:
    """The projector's arrays for a map of ``inputs`` (N, D), with ``origin``: the ``shipped`` file
    when it maps these very points, else a fit here (a UMAP's state then without its inputs, which
    the caller holds)."""
    if shipped is not None:
        try:
            state = read_projection(shipped)
            from_state(state, inputs)  # refuses a UMAP map of other pixels
            same = "inputs" not in state or np.allclose(state["inputs"], inputs, SAME_CODES_RTOL, SAME_CODES_ATOL)
            if len(state["embedding"]) == len(inputs) and same:
                return {**state, "origin": np.array("shipped")}
        except DataError:
            pass  # a stale or foreign file: fit here instead
    return {**make_projector(method).fit(inputs).state(include_inputs=False), "origin": np.array("fitted here")}


@dataclass
class Map:
    """One 2-D map of the shown test images."""
    key: str                    # names the inputs, the method and the points, for caches
    title: str
    source: str                 # "codes" or "pixels"
    method: str                 # "raw", "pca" or "umap"
    points: np.ndarray          # (N, 2)
    inputs: np.ndarray          # (N, D) what was mapped: codes or pixels
    state: dict                 # the projector's arrays (:func:`map_state`)
    fit_seconds: float          # the fit's, or loading a shipped map's

    @classmethod
    def from_state(cls, spec: MapSpec, state: dict, waited_seconds: float) -> "Map":
        """The map of ``spec`` drawn from ``state``; ``waited_seconds``: how long getting it took."""
        points = np.asarray(state["embedding"], np.float32)
        shipped = str(state["origin"]) == "shipped"
        key = f"{spec.inputs_key}/{spec.method}/{hashlib.sha1(points.tobytes()).hexdigest()[:12]}"  # shipped differs
        return cls(key, spec.title, spec.source, spec.method, points, spec.inputs, state,
                   waited_seconds if shipped else float(state["fit_seconds"]))

    def provenance(self) -> str:
        """Where the map comes from and what it cost, in words."""
        if self.method == "raw":
            return "the codes themselves"
        if str(self.state["origin"]) == "shipped":
            return f"fitted before shipping, loaded in {self.fit_seconds:.2f} s"
        compiled = " (the first UMAP: numba compiling included)" if bool(self.state.get("included_compile")) else ""
        return f"fitted here{compiled} in {self.fit_seconds:.2f} s"

    def features(self, code: np.ndarray, image: np.ndarray) -> np.ndarray:
        """What this map places of a new image: its (K,) code, or its pixels flattened."""
        return code if self.source == "codes" else image.reshape(-1)


def fit_estimate(n_points: int, compiled: bool) -> tuple[int, int]:
    """An honest guess of a UMAP fit's wait in seconds: without, and with numba compiling first."""
    seconds = max(1, round(UMAP_SECONDS_PER_1000 * n_points / 1000))
    return seconds, seconds + (0 if compiled else UMAP_COMPILE_SECONDS)


def map_quality(points: np.ndarray, labels: np.ndarray | None, pixels: np.ndarray) -> dict:
    """5-NN accuracy, trustworthiness against pixel neighbours and silhouette of one map."""
    scores = {"trustworthiness": metrics.trustworthiness_2d(pixels, points)}
    if labels is not None:
        scores["knn_accuracy"] = metrics.knn_accuracy_2d(points, labels)
        scores["silhouette"] = metrics.silhouette_2d(points, labels)
    return scores


def place(model: "Autoencoder", image: np.ndarray, label: int | None, maps: list[Map],
          projector_of: Callable[[Map], object]) -> list[np.ndarray]:
    """(2,) position of a new ``image`` (C, H, W) on each map, by that map's fitted projector
    (``projector_of(map)``, which may come from a cache): its code (given ``label`` if the model is
    conditional) on maps of codes, its pixels on maps of pixels."""
    code = encode_one(model, image, label)
    return [projector_of(m).transform(m.features(code, image)[None])[0] for m in maps]


def decode_start(codes: np.ndarray) -> tuple[np.ndarray, float]:
    """Where the inputs that decode a point of a 2-D code map start (the mean code, (2,)) and their
    step: a :data:`DECODE_STEPS` th of the wider 1st-99th percentile span of the codes (N, 2)."""
    low, high = np.percentile(codes[:, :2], [1, 99], axis=0)
    return codes[:, :2].mean(0), float(max(high - low) / DECODE_STEPS) or 0.01


def notice(titles: list[str], qualities: list[dict], n_points: int) -> str:
    """The Latent page's "What to notice", from each map's scores (:func:`map_quality`) as shown, the model's
    codes first: by 5-NN accuracy where there are labels, else by trustworthiness."""
    score = "knn_accuracy" if all("knn_accuracy" in q for q in qualities) else "trustworthiness"
    name = "5-NN accuracy" if score == "knn_accuracy" else "trustworthiness"
    values = [q[score] for q in qualities]
    listed = ", ".join(f"{title} {value:.3f}" for title, value in zip(titles, values))
    text = f"On these {n_points} test images, {name}: {listed}."
    if score == "trustworthiness":
        return text + " With no labels, the score says how well each map keeps the pixels' neighbours."
    beaten = [t for t, v in zip(titles[1:], values[1:]) if v < values[0]]
    ahead = [t for t, v in zip(titles[1:], values[1:]) if v >= values[0]]
    parts = ([f"better than {' and '.join(beaten)}"] if beaten else []) + \
            ([f"not as well as {' and '.join(ahead)}"] if ahead else [])
    return text + (f" The model's code, learned only to reconstruct, separates the classes {' but '.join(parts)}: "
                   "a code can group what looks alike without ever seeing a label.")
