"""The interface every search engine implements, and how an index is measured against exact search.

An index is fitted on (N, K) codes, can take more (``add``), answers top-k queries with row numbers
and distances (Euclidean, or cosine distance 1 - cos), and saves to files that an index folder holds
beside its codes. ``load`` gets those files (checked against the manifest), the codes and the settings
``save`` recorded. ``fit`` may be given the codes on disk (:class:`~explorer.retrieval.store.NpyRows`):
an engine that builds reads them a block at a time (``codes[a:b]``), never the whole matrix at once.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

RECALL_K = 10
RECALL_QUERIES = 256  # sampled codes each recall@10 is averaged over


class Index(ABC):
    """Top-k search over codes: ``fit(codes)``, ``add(codes)``, ``search(queries, k)``, ``save``, ``load``."""
    kind: str = ""
    metric: str = "euclidean"
    stored_as_codes = False  # True: the codes are the whole index, so a build fits and saves nothing

    @abstractmethod
    def fit(self, codes: np.ndarray) -> "Index":
        """Build over ``codes`` (N, K), replacing what was there."""

    @abstractmethod
    def add(self, codes: np.ndarray) -> None:
        """Append ``codes`` (M, K): they become rows N..N+M-1."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and distances of the ``k`` nearest codes to each of ``queries`` (Q, K): two (Q, k) arrays."""

    @abstractmethod
    def __len__(self) -> int:
        """How many codes are indexed."""

    def save(self, folder: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        """The files that hold this index beside the codes, written into ``folder``, and the settings
        ``load`` needs (JSON)."""
        return {}, {}

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, files: dict[str, Path], codes: np.ndarray, settings: dict[str, Any]) -> "Index":
        """The index ``save`` wrote as ``files`` (checked) of ``folder`` (named in messages), over ``codes`` (N, K)."""


class RecallProbe:
    """Recall@k against exact search, for a seeded sample of the indexed ``codes`` as queries, with the
    exact answers found once (so an index can be tried at several settings). Each query's own row is
    dropped from both lists (it is always first), so the figure is that of a query like the
    collection's items, not of finding oneself. The exact answers are found a block of codes at a time,
    so ``codes`` on disk are never all in memory."""

    BLOCK = 65536  # codes per exact search: 256 queries x 65,536 scores are 64 MB

    def __init__(self, codes, metric: str, k: int = RECALL_K, n_queries: int = RECALL_QUERIES, seed: int = 0):
        self.rows = np.sort(np.random.default_rng(seed).choice(len(codes), min(n_queries, len(codes)), replace=False))
        self.queries, self.k = np.asarray(codes[self.rows], np.float32), min(k, len(codes) - 1)
        self.truth = exact_neighbours(codes, self.queries, self.k + 1, metric, self.BLOCK) if self.k >= 1 else None

    def recall(self, index: Index) -> float:
        if self.truth is None:
            return 1.0
        found, _ = index.search(self.queries, self.k + 1)
        hits = [len(_others(f, row, self.k) & _others(t, row, self.k))
                for f, t, row in zip(found, self.truth, self.rows)]
        return float(np.mean(hits)) / self.k


def exact_neighbours(codes, queries: np.ndarray, k: int, metric: str, block: int) -> np.ndarray:
    """(Q, k) rows of the ``k`` codes nearest each query, by exact search over ``block`` codes at a time:
    each block's top k, merged with the best so far."""
    from explorer.search import CodeIndex
    best_rows = np.zeros((len(queries), 0), np.int64)
    best = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(codes), block):
        rows, distances = CodeIndex(metric).fit(np.asarray(codes[start:start + block], np.float32)).search(queries, k)
        best_rows, best = np.hstack([best_rows, rows + start]), np.hstack([best, distances])
        order = np.argsort(best, axis=1, kind="stable")[:, :k]
        best_rows, best = np.take_along_axis(best_rows, order, 1), np.take_along_axis(best, order, 1)
    return best_rows


def _others(neighbours: np.ndarray, own: int, k: int) -> set[int]:
    """The first ``k`` of ``neighbours`` other than ``own`` (and FAISS's -1 for "none")."""
    return set([int(n) for n in neighbours if n != own and n >= 0][:k])
