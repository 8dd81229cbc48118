"""Retrieval: the nearest indexed items to a query by Euclidean or cosine distance (one matmul over a
pre-normalised matrix), whether they share the query's class, and precision@k over a test set."""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.errors import ConfigError
from explorer.query import encode_one
from explorer.retrieval.base import Index
from explorer.threads import one_thread

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

METRICS = ("euclidean", "cosine")
MAX_K = 16             # neighbours a page shows at most: test precision is kept for k = 1..MAX_K
TEST_QUERIES = 1000    # test images the test precision averages over (a seeded subsample)
# A query batch with less matmul work than this (multiply-adds) runs on the calling thread alone:
# one query over 60k 30-d codes is 1.8M, too little to share, and on a busy machine OpenMP threads
# waiting for each other made its p95 several times worse (benchmarks/RESULTS.md, search rows).
SINGLE_THREAD_WORK = 1 << 22


class CodeIndex(Index):
    """Exact top-k search over a set of codes, scikit-learn style: ``fit(codes)`` then ``query``.

    Euclidean distances come from |q|^2 - 2 q.c + |c|^2 with |c|^2 precomputed; cosine from the
    dot product of unit vectors. Either way a query batch costs one (Q, K) x (K, N) matmul. The
    Euclidean ranking uses |c|^2 - 2 q.c alone (one fused addmm, |q|^2 is the same for every code),
    and the square root is taken for the k winners only.
    """

    def __init__(self, metric: str = "euclidean", chunk_size: int = 1024):
        if metric not in METRICS:
            raise ConfigError(f"unknown distance {metric!r}; choose one of {', '.join(METRICS)}")
        self.metric = metric
        self.chunk_size = chunk_size

    kind = "exact"
    stored_as_codes = True

    def fit(self, codes: np.ndarray) -> "CodeIndex":
        """``codes``: (N, K)."""
        matrix = torch.as_tensor(np.ascontiguousarray(codes, dtype=np.float32)).flatten(1)
        if self.metric == "cosine":
            matrix = torch.nn.functional.normalize(matrix, dim=1)
        self.codes_ = matrix
        self.squared_norms_ = matrix.square().sum(1)  # (N,)
        return self

    def add(self, codes: np.ndarray) -> None:
        """Append ``codes`` (M, K) as rows N..N+M-1."""
        added = CodeIndex(self.metric).fit(codes)
        if hasattr(self, "codes_"):
            added.codes_ = torch.cat([self.codes_, added.codes_])
            added.squared_norms_ = torch.cat([self.squared_norms_, added.squared_norms_])
        self.codes_, self.squared_norms_ = added.codes_, added.squared_norms_

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.query(queries, k)

    def __len__(self) -> int:
        return len(self.codes_) if hasattr(self, "codes_") else 0

    @classmethod
    def load(cls, folder, files: dict, codes: np.ndarray, settings: dict) -> "CodeIndex":
        """Nothing but the codes holds an exact index."""
        return cls(settings["metric"]).fit(codes)

    @torch.inference_mode()
    def query(self, queries: np.ndarray, k: int = 10, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances of the ``k`` nearest codes to each of ``queries`` (Q, K): two (Q, k) arrays.

        ``exclude`` (Q,): the indexed row each query skips (its own, for a query taken from the index),
        or -1 for none.
        """
        if not hasattr(self, "codes_"):
            raise ConfigError("CodeIndex.query called before fit")
        q = torch.as_tensor(np.ascontiguousarray(queries, dtype=np.float32)).flatten(1)
        skips = None if exclude is None else torch.as_tensor(np.asarray(exclude, np.int64).reshape(len(q)))
        k = min(k, len(self.codes_) - int(skips is not None and bool((skips >= 0).any())))
        small = q.shape[0] * self.codes_.shape[0] * self.codes_.shape[1] < SINGLE_THREAD_WORK
        indices, distances = [], []
        with one_thread() if small else nullcontext():
            for start in range(0, len(q), self.chunk_size):
                chunk = q[start:start + self.chunk_size]
                scores = self._scores(chunk)  # (q, N), same order as the distances
                if skips is not None:
                    rows, skip = torch.arange(len(scores)), skips[start:start + len(scores)]
                    scores[rows[skip >= 0], skip[skip >= 0]] = torch.inf
                best = torch.topk(scores, k, dim=1, largest=False)
                indices.append(best.indices)
                distances.append(self._distances(chunk, best.values))
        return torch.cat(indices).numpy(), torch.cat(distances).numpy()

    def _scores(self, q: torch.Tensor) -> torch.Tensor:
        """(Q, N): cosine distances, or squared Euclidean distances less |q|^2."""
        if self.metric == "cosine":
            return 1 - torch.nn.functional.normalize(q, dim=1) @ self.codes_.T
        return torch.addmm(self.squared_norms_, q, self.codes_.T, alpha=-2)

    def _distances(self, q: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """(Q, k) distances from the winners' scores."""
        if self.metric == "cosine":
            return scores
        return (scores + q.square().sum(1, keepdim=True)).clamp_min_(0).sqrt_()


# Cosine distance ignores a vector's length. The direction of a 2-D code is one angle and that of a
# 1-D code a sign, so cosine neighbours would be every image on the same ray from the origin however
# far out along it: a ranking that says little about similarity.
COSINE_MIN_DIM = 3


def refusal(metric: str, dim: int) -> str | None:
    """Why a search by ``metric`` over ``dim``-D vectors is refused, or None when it applies."""
    if metric == "cosine" and dim < COSINE_MIN_DIM:
        direction = "a sign" if dim == 1 else "one angle"
        return (f"Cosine distance ignores a code's length, and the direction of a {dim}-D code is {direction}: "
                "every image along the same ray from the origin would count as identical. Search this model "
                "by Euclidean distance, or pick a model with a larger code.")
    return None


def label_matches(neighbours: np.ndarray, labels: np.ndarray, query_labels: np.ndarray) -> np.ndarray:
    """(Q, k) whether each of the ``neighbours`` (Q, k) of a query shares its class; ``labels`` (N,) are
    the indexed items' classes, ``query_labels`` (Q,) the queries'. Its mean is label precision@k."""
    return np.asarray(labels)[neighbours] == np.asarray(query_labels)[:, None]


@dataclass(frozen=True)
class Neighbours:
    """One query's nearest indexed items, nearest first."""
    indices: np.ndarray          # (k,) rows of the index
    distances: np.ndarray        # (k,)
    matches: np.ndarray | None   # (k,) bool: shares the query's class; None when a class is unknown
    seconds: float               # encoding the query (when a model is given) and searching

    @property
    def precision(self) -> float | None:
        """This query's label precision@k: the fraction of its k neighbours that are of its class."""
        return None if self.matches is None else float(self.matches.mean())


def nearest(index: CodeIndex, image: np.ndarray, k: int, model: "Autoencoder | None" = None,
            label: int | None = None, labels: np.ndarray | None = None, exclude: int | None = None) -> Neighbours:
    """The ``k`` indexed items nearest to one query ``image`` (C, H, W): encoded by ``model`` (given
    ``label`` when it is conditional) for an index of codes, or its raw pixels when ``model`` is None.
    ``labels`` (N,): the indexed items' classes, to mark each neighbour against ``label``; ``exclude``:
    an indexed row to skip (the query's own, when the query is an indexed item)."""
    started = time.perf_counter()
    vector = np.reshape(image, -1) if model is None else encode_one(model, image, label)
    indices, distances = index.query(vector[None], k, None if exclude is None else np.array([exclude]))
    seconds = time.perf_counter() - started
    matches = None if label is None or labels is None else label_matches(indices, labels, np.array([label]))[0]
    return Neighbours(indices[0], distances[0], matches, seconds)


def precision_by_k(index: CodeIndex, labels: np.ndarray, queries: np.ndarray, query_labels: np.ndarray,
                   max_k: int, max_queries: int | None = None) -> np.ndarray:
    """(max_k,) mean label precision@j of ``queries`` (Q, D) against the index, for j = 1..max_k, from
    one search: precision@j is the mean of the first j columns of :func:`label_matches`. With
    ``max_queries``, over a seeded subsample of that many queries (:func:`explorer.metrics.map_subsample`)."""
    from explorer.metrics import map_subsample  # metrics imports this module
    picked = np.arange(len(queries)) if max_queries is None else map_subsample(len(queries), max_queries)
    neighbours, _ = index.query(np.asarray(queries)[picked], max_k)
    column_means = label_matches(neighbours, labels, np.asarray(query_labels)[picked]).mean(0)  # (max_k,)
    return np.cumsum(column_means) / np.arange(1, neighbours.shape[1] + 1)


def test_precisions(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray
                    ) -> dict[str, list[float]]:
    """Test precision@1..MAX_K of ``test`` (codes or pixels, (N, D)) against ``train``, per distance, over
    the page's seeded TEST_QUERIES: what the Search page shows beside each row, and what ``pretrain``
    ships for a shipped model's codes and for a dataset's pixels."""
    return {metric: precision_by_k(CodeIndex(metric).fit(train), train_labels, test, test_labels, MAX_K,
                                   TEST_QUERIES).tolist() for metric in METRICS}


def distance_text(distances: np.ndarray, metric: str) -> list[str]:
    """Distances as fixed-point text (never ``2.1e-05``), with one number of decimals for the whole
    row so that they line up: three for cosine distances, which lie in [0, 2]; for Euclidean ones,
    whatever gives the row's largest three significant digits (0 to 6 decimals)."""
    largest = float(np.max(distances, initial=0.0))
    if metric == "cosine" or largest <= 0:
        decimals = 3
    else:
        decimals = min(6, max(0, 2 - math.floor(math.log10(largest))))
    return [f"{distance:.{decimals}f}" for distance in distances]
