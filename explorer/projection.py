"""2-D maps of codes or pixels: PCA, UMAP, and 1- or 2-D codes as they are, behind scikit-learn style
``fit`` / ``transform``.

A map is fitted once on a fixed set of points (the test images, say); a new point is placed with
``transform`` on the fitted projector, never by refitting, so the map does not move under it.

Placing a new point in a UMAP map (McInnes, Healy & Melville, UMAP: Uniform Manifold Approximation
and Projection for Dimension Reduction, arXiv:1802.03426, 2018, Sec. 3 and umap-learn's
``UMAP.transform``) starts from the fuzzy membership of the point in its k nearest fitted points:

    d_1 <= ... <= d_k   exact Euclidean distances to its k nearest fitted inputs
    sigma               solves  sum_{j=2..k} exp(-d_j / sigma) = log2(k)   (binary search, 64 steps;
                        rho = 0 because transform uses local_connectivity - 1 = 0; floored at
                        1e-3 x the mean of all the batch's d, as umap-learn does)
    w_j = exp(-d_j / sigma),  y = sum_j w_j e_j / sum_j w_j   (e_j: the neighbours' embeddings)
    and if some d_j = 0 the point is a copy of a fitted input: y = e_j exactly.

That is umap-learn's ``init_graph_transform``. umap-learn then runs up to 100 more epochs of
SGD on the new points with the fitted embedding held fixed; we stop at the initialisation, for
every projector whether fitted here or loaded from arrays, so both paths give the same map, a
fitted point lands exactly on its own embedding, placing one point takes milliseconds and no
numba code, and the saved state is plain arrays (``.npz``, never pickle).
"""
from __future__ import annotations

import hashlib
import importlib
import sys
import threading
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from explorer import background
from explorer.errors import ConfigError, DataError
from explorer.search import CodeIndex

# numba-compiled UMAP is not safe to fit from two threads (Streamlit sessions) at once: numba's workqueue
# threading layer aborts the process on concurrent access (umap-learn #665), so every fit holds this lock
# (tests/test_umap_threads.py).
UMAP_LOCK = threading.Lock()
UMAP_COMPILED = threading.Event()  # set once a UMAP fit has finished in this process
UMAP_RANDOM_STATE = 42
DEFAULT_MAP_POINTS = 2000    # test images on a latent map unless the user picks more (the gallery ships these)
SIGMA_FLOOR = 1e-3           # umap-learn's MIN_K_DIST_SCALE
SIGMA_SEARCH_STEPS = 64      # umap-learn's n_iter in smooth_knn_dist


def _as_matrix(x: np.ndarray) -> np.ndarray:
    """(N, ...) -> (N, D) float32, C-contiguous; refuses empty or non-finite input."""
    matrix = np.ascontiguousarray(np.asarray(x, np.float32).reshape(len(x), -1))
    if matrix.size == 0 or not np.isfinite(matrix).all():
        raise ConfigError(f"a projection needs a non-empty, finite (N, D) array, got shape {matrix.shape}")
    return matrix


def fingerprint(x: np.ndarray) -> str:
    """Short sha256 of an array's shape and float32 bytes: ties a saved map to its inputs."""
    matrix = _as_matrix(x)
    return hashlib.sha256(f"{matrix.shape};".encode() + matrix.tobytes()).hexdigest()[:16]


def check_is_fitted(projector, attribute: str) -> None:
    if not hasattr(projector, attribute):
        raise ConfigError(f"{type(projector).__name__} is not fitted yet: call fit(X) before transform")


class PCAProjector:
    """The first two principal axes of the centred inputs; signs fixed so that each axis's
    largest-magnitude coefficient is positive."""

    kind = "pca"

    def __init__(self, n_components: int = 2):
        self.n_components = n_components

    def fit(self, x: np.ndarray) -> "PCAProjector":
        """``x``: (N, D). Sets ``mean_`` (D,), ``components_`` (2, D), ``explained_variance_ratio_``
        (2,), ``embedding_`` (N, 2) and ``fit_seconds_``."""
        x = _as_matrix(x)
        start = time.perf_counter()
        self.mean_ = x.mean(0)
        centred = x - self.mean_
        scatter, axes = principal_axes(centred, self.n_components)
        self.components_ = axes.astype(np.float32)
        total = float(np.square(centred, dtype=np.float64).sum())
        self.explained_variance_ratio_ = (scatter / max(total, np.finfo(np.float64).tiny)).astype(np.float32)
        self.embedding_ = self.transform(x)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(M, D) -> (M, 2)."""
        check_is_fitted(self, "components_")
        return (_as_matrix(x) - self.mean_) @ self.components_.T

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).embedding_

    def state(self, include_inputs: bool = False) -> dict[str, np.ndarray]:
        """Arrays that rebuild this projector (a PCA needs no inputs to place new points)."""
        check_is_fitted(self, "components_")
        return {"kind": np.array(self.kind), "mean": self.mean_, "components": self.components_,
                "explained_variance_ratio": self.explained_variance_ratio_, "embedding": self.embedding_,
                "fit_seconds": np.array(self.fit_seconds_)}

    @classmethod
    def from_state(cls, state: dict, inputs: np.ndarray | None = None) -> "PCAProjector":
        projector = cls(int(state["components"].shape[0]))
        projector.mean_ = np.asarray(state["mean"], np.float32)
        projector.components_ = np.asarray(state["components"], np.float32)
        projector.explained_variance_ratio_ = np.asarray(state["explained_variance_ratio"], np.float32)
        projector.embedding_ = np.asarray(state["embedding"], np.float32)
        projector.fit_seconds_ = float(state["fit_seconds"])
        return projector


class RawProjector:
    """Codes that are already a map: 2-D ones as they are, 1-D ones on a line at y = 0."""

    kind = "raw"
    MAX_DIM = 2

    def fit(self, x: np.ndarray) -> "RawProjector":
        """``x``: (N, 1) or (N, 2). Sets ``n_features_``, ``embedding_`` (N, 2) and ``fit_seconds_`` (0)."""
        x = _as_matrix(x)
        if x.shape[1] > self.MAX_DIM:
            raise ConfigError(f"{x.shape[1]}-D inputs are no map as they are; map them with PCA or UMAP")
        self.n_features_, self.fit_seconds_ = x.shape[1], 0.0
        self.embedding_ = self.transform(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(M, D) -> (M, 2), padded with zeros."""
        check_is_fitted(self, "n_features_")
        x = _as_matrix(x)
        if x.shape[1] != self.n_features_:
            raise ConfigError(f"this map was fitted on {self.n_features_} features, got {x.shape[1]}")
        return np.pad(x, ((0, 0), (0, self.MAX_DIM - x.shape[1])))

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).embedding_

    def state(self, include_inputs: bool = False) -> dict[str, np.ndarray]:
        """Arrays that rebuild this projector (its embedding holds the inputs already)."""
        check_is_fitted(self, "n_features_")
        return {"kind": np.array(self.kind), "n_features": np.array(self.n_features_), "embedding": self.embedding_,
                "fit_seconds": np.array(self.fit_seconds_)}

    @classmethod
    def from_state(cls, state: dict, inputs: np.ndarray | None = None) -> "RawProjector":
        projector = cls()
        projector.n_features_ = int(state["n_features"])
        projector.embedding_ = np.asarray(state["embedding"], np.float32)
        projector.fit_seconds_ = float(state["fit_seconds"])
        return projector


class UMAPProjector:
    """UMAP (McInnes et al. 2018) fitted under :data:`UMAP_LOCK` with a fixed random state; new
    points placed by the kNN-weighted rule in this module's docstring."""

    kind = "umap"

    def __init__(self, n_neighbors: int = 15, min_dist: float = 0.1, random_state: int = UMAP_RANDOM_STATE):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.random_state = random_state

    def fit(self, x: np.ndarray) -> "UMAPProjector":
        """``x``: (N, D) with N >= 3. Sets ``embedding_`` (N, 2), ``inputs_`` (N, D),
        ``n_neighbors_`` and ``fit_seconds_`` (waiting for the lock not included).

        The k-nearest-neighbour graph is exact, from one matmul per chunk (:class:`CodeIndex`), and
        handed to umap-learn as ``precomputed_knn``: for N <= 10k that is faster than its approximate
        NN-descent and skips compiling it. ``n_epochs`` stays umap-learn's (500 up to 10k points): 200
        halved the fit on 10k Fashion-MNIST codes but cost 1.6 points of 5-NN accuracy on the pixel map.
        """
        x = _as_matrix(x)
        if len(x) < 3:
            raise ConfigError(f"UMAP needs at least 3 points, got {len(x)}")
        self.inputs_, self.n_neighbors_ = x, min(self.n_neighbors, len(x) - 1)
        with UMAP_LOCK, warnings.catch_warnings(), torch_thread_count_kept():
            warnings.simplefilter("ignore")  # numba and sklearn deprecations
            umap = import_umap()
            self.included_compile_ = not UMAP_COMPILED.is_set()
            start = time.perf_counter()
            distances, neighbours = self._neighbours(x)  # (N, k), each point first, at distance 0
            fitted = umap.UMAP(n_neighbors=self.n_neighbors_, min_dist=self.min_dist, n_components=2,
                               precomputed_knn=(neighbours, distances, None),
                               random_state=self.random_state, n_jobs=1).fit(x)  # seeded: serial
            self.fit_seconds_ = time.perf_counter() - start
        UMAP_COMPILED.set()
        self.embedding_ = np.asarray(fitted.embedding_, np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(M, D) -> (M, 2): the membership-weighted mean of the k nearest fitted points' embeddings."""
        check_is_fitted(self, "embedding_")
        distances, neighbours = self._neighbours(_as_matrix(x))          # (M, k) each
        sigma = _membership_sigma(distances, self.n_neighbors_)           # (M,)
        # exp(-d_j / sigma) up to a per-row factor exp(d_1 / sigma) that the normalisation cancels
        weights = np.exp(-(distances - distances[:, :1]) / sigma[:, None])  # (M, k)
        placed = (weights[:, :, None] * self.embedding_[neighbours]).sum(1) / weights.sum(1, keepdims=True)
        copies = distances[:, 0] == 0                                      # exact copies of fitted inputs
        placed[copies] = self.embedding_[neighbours[copies, 0]]
        return placed.astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).embedding_

    def _neighbours(self, x: np.ndarray, chunk_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Exact k nearest fitted inputs of (M, D) queries, two (M, k) arrays: candidates by one
        matmul, distances recomputed directly (|q|^2 - 2 q.c + |c|^2 loses the exact zero of a copy
        in float32), ties to the lower index; in chunks of queries, so (chunk, k + 5, D) stays small."""
        if x.shape[1] != self.inputs_.shape[1]:
            raise ConfigError(f"this map was fitted on {self.inputs_.shape[1]} features, got {x.shape[1]}")
        if not hasattr(self, "index_"):
            self.index_ = CodeIndex("euclidean").fit(self.inputs_)
        k = self.n_neighbors_
        distances, neighbours = [], []
        for start in range(0, len(x), chunk_size):
            queries = x[start:start + chunk_size]
            candidates, _ = self.index_.query(queries, min(len(self.inputs_), k + 5))
            exact = np.sqrt(np.square(self.inputs_[candidates].astype(np.float64) - queries[:, None, :]).sum(-1))
            order = np.lexsort((candidates, exact), axis=1)[:, :k]
            distances.append(np.take_along_axis(exact, order, 1))
            neighbours.append(np.take_along_axis(candidates, order, 1))
        return np.concatenate(distances), np.concatenate(neighbours)

    def state(self, include_inputs: bool = True) -> dict[str, np.ndarray]:
        """Arrays that rebuild this projector; without inputs, pass them to :meth:`from_state`."""
        check_is_fitted(self, "embedding_")
        state = {"kind": np.array(self.kind), "embedding": self.embedding_,
                 "n_neighbors": np.array(self.n_neighbors_), "min_dist": np.array(self.min_dist),
                 "random_state": np.array(self.random_state), "fit_seconds": np.array(self.fit_seconds_),
                 "included_compile": np.array(getattr(self, "included_compile_", False)),
                 "inputs_fingerprint": np.array(fingerprint(self.inputs_))}
        if include_inputs:
            state["inputs"] = self.inputs_
        return state

    @classmethod
    def from_state(cls, state: dict, inputs: np.ndarray | None = None) -> "UMAPProjector":
        """``inputs`` (N, D) must be the fitted inputs when the state does not hold them."""
        projector = cls(int(state["n_neighbors"]), float(state["min_dist"]), int(state["random_state"]))
        inputs = state["inputs"] if "inputs" in state else inputs
        if inputs is None:
            raise DataError("this UMAP map was saved without its inputs: pass the points it was fitted on")
        projector.inputs_ = _as_matrix(inputs)
        if fingerprint(projector.inputs_) != str(state["inputs_fingerprint"]):
            raise DataError("these points are not the ones the saved UMAP map was fitted on; refit the map")
        projector.embedding_ = np.asarray(state["embedding"], np.float32)
        if len(projector.embedding_) != len(projector.inputs_):
            raise DataError("the saved UMAP map and its inputs have different numbers of points")
        projector.n_neighbors_ = int(state["n_neighbors"])
        projector.fit_seconds_ = float(state["fit_seconds"])
        projector.included_compile_ = bool(state.get("included_compile", False))
        return projector


def principal_axes(centred: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``n`` eigenvalues (n,) of the scatter matrix of ``centred`` (N, D) and their unit axes
    (n, D), from the smaller of X^T X (D x D) and X X^T (N x N), in float64; axes past the rank are 0.
    Each axis's sign is fixed (its largest-magnitude loading positive), so a refit gives identical
    codes and a map does not flip between fits. The one PCA of the project: the ``pca`` variant and
    :class:`PCAProjector` both call it.

    The eigensolver runs on one BLAS thread: on a busy 2-core machine a 2-thread LAPACK call waited
    on its barriers (benchmarks/RESULTS.md), while the matrix product before it parallelises well.
    """
    from threadpoolctl import threadpool_limits
    centred = np.asarray(centred, np.float64)
    gram_of_rows = centred.shape[0] < centred.shape[1]
    scatter = centred @ centred.T if gram_of_rows else centred.T @ centred
    with threadpool_limits(limits=1, user_api="blas"):
        eigenvalues, eigenvectors = np.linalg.eigh(scatter)
    eigenvalues = np.clip(eigenvalues[::-1], 0, None)
    top = eigenvectors[:, ::-1][:, :n]
    if gram_of_rows:  # u_i = X v_i / s_i  =>  v_i = X^T u_i / s_i
        scale = np.sqrt(eigenvalues[:top.shape[1]])
        top = (centred.T @ top) / np.where(scale > 0, scale, 1)
    axes = np.zeros((n, centred.shape[1]))
    axes[:top.shape[1]] = top.T
    signs = np.sign(axes[np.arange(n), np.abs(axes).argmax(1)])
    axes *= np.where(signs == 0, 1, signs)[:, None]
    values = np.zeros(n)
    values[:top.shape[1]] = eigenvalues[:top.shape[1]]
    return values, axes


def _membership_sigma(distances: np.ndarray, k: int) -> np.ndarray:
    """(M, k) sorted distances -> (M,) sigma of umap-learn's smooth_knn_dist with rho = 0."""
    target = np.log2(k)
    low, high = np.zeros(len(distances)), np.full(len(distances), np.inf)
    mid = np.ones(len(distances))
    for _ in range(SIGMA_SEARCH_STEPS):
        total = np.exp(-distances[:, 1:] / mid[:, None]).sum(1)
        too_big = total > target
        high = np.where(too_big, mid, high)
        low = np.where(too_big, low, mid)
        mid = np.where(np.isinf(high), mid * 2, (low + high) / 2)
    return np.maximum(mid, SIGMA_FLOOR * distances.mean())


PROJECTORS = {"raw": RawProjector, "pca": PCAProjector, "umap": UMAPProjector}


def make_projector(kind: str):
    try:
        return PROJECTORS[kind]()
    except KeyError:
        raise ConfigError(f"unknown projection {kind!r}; choose one of {', '.join(PROJECTORS)}") from None


def save_projection(projector, path: str | Path, **state_options) -> None:
    """Write the projector's arrays to an ``.npz`` (no pickled objects)."""
    np.savez_compressed(path, **projector.state(**state_options))


def read_projection(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of :func:`save_projection`'s file (``allow_pickle=False``)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            state = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable projection file ({error})") from None
    if str(state.get("kind", "")) not in PROJECTORS:
        raise DataError(f"{path}: unknown projection kind {state.get('kind')!r}")
    return state


def from_state(state: dict, inputs: np.ndarray | None = None):
    """The projector behind ``state``; ``inputs`` for UMAP maps saved without them."""
    return PROJECTORS[str(state["kind"])].from_state(state, inputs)


def load_projection(path: str | Path, inputs: np.ndarray | None = None):
    """A projector from :func:`save_projection`'s file; ``inputs`` for UMAP maps saved without them."""
    return from_state(read_projection(path), inputs)


def shipped_name(source: str, method: str, n_points: int) -> str:
    """File name of a precomputed map of ``n_points`` test items (``metrics.map_subsample``) by
    ``method``, of the model's codes (``source="codes"``, in the model's folder, saved with its
    inputs) or of the pixels (``"pixels"``, in the dataset's folder, inputs not needed)."""
    return f"projection-{source}-{method}-{n_points}.npz"


def torch_thread_count_kept():
    """A block after which torch's thread count in this thread is what it was before. A process's first
    umap-learn fit starts numba's OpenMP threading layer, which left this thread's OpenMP count (torch's
    count) at all cores: one thread pinned for small work, or chosen by the Trainer, became two after a
    ``pretrain`` map. torch is not imported for it where nothing has imported it yet."""
    torch = sys.modules.get("torch")
    if torch is None:
        return nullcontext()
    from explorer.threads import torch_threads
    return torch_threads(torch.get_num_threads())


def import_umap():
    """``umap``, with numba's on-disk cache switched on for the umap-learn functions that do not ask
    for it (its layout SGD and fuzzy-set code), before their first compile.

    pynndescent marks its functions ``cache=True`` but umap-learn marks few, so every new process
    recompiled them inside its first fit; with the cache a fresh process's first fit is about twice as
    fast, with a bitwise-identical embedding (benchmarks/RESULTS.md, projection rows).
    ``Dispatcher.enable_caching`` is what ``@njit(cache=True)`` calls.
    """
    import umap
    import umap.layouts
    import umap.umap_
    import umap.utils
    from numba.core.registry import CPUDispatcher
    for module in (umap.layouts, umap.umap_, umap.utils):
        for function in vars(module).values():
            if isinstance(function, CPUDispatcher) and not function.signatures:
                function.enable_caching()
    return umap


def shown_indices(n_test: int, n_points: int = DEFAULT_MAP_POINTS) -> np.ndarray:
    """Sorted indices of the test images on a map of ``n_points``: all of them, or a seeded subsample."""
    from explorer.metrics import map_subsample
    return map_subsample(n_test, n_points)


# Modules that ``import umap`` brings in and that other code reads from ``sys.modules`` without
# importing (plotly's validators take ``sys.modules.get("pandas")`` to test for a Series): imported
# by the warm-up thread, a page drawing a chart at that moment saw a half-initialised pandas and
# failed ("partially initialized module 'pandas' has no attribute 'Series'").
PEEKED_MODULES = ("pandas",)


# The warm-up waits this long first: started at once, its imports competed with the browser drawing
# the first page's charts and delayed the first latent map; waited for, it is still done (with numba's
# disk cache filled) before anyone can ask for a new map (benchmarks/RESULTS.md, cold start and
# projection rows).
WARMUP_DELAY_S = 4.0


def warm_umap_in_background(n_points: int = 64, delay_s: float = WARMUP_DELAY_S) -> threading.Thread:
    """Start a daemon thread that, after ``delay_s``, fits UMAP once on a few random points, so numba
    compiles its code before a user asks for a map (the first fit in a process otherwise spends most of
    its time compiling). :data:`PEEKED_MODULES` are imported here, in the caller's thread, before it starts."""
    for name in PEEKED_MODULES:
        importlib.import_module(name)

    def warm() -> None:
        points = np.random.default_rng(0).normal(size=(n_points, 8)).astype(np.float32)
        UMAPProjector(n_neighbors=5).fit(points)

    return background.start(warm, name="umap-warmup", delay_s=delay_s)
