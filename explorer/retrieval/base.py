"""The interface every search engine implements, and how an index is measured against exact search.

An index is fitted on (N, K) codes, can take more (``add``), answers top-k queries with row numbers
and distances (Euclidean, or cosine distance 1 - cos), and saves to files that an index folder holds
beside its codes. ``load`` gets those files (checked against the manifest), the codes and the settings
``save`` recorded.
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

    def save(self) -> tuple[dict[str, bytes], dict[str, Any]]:
        """The files that hold this index beside the codes, and the settings ``load`` needs (JSON)."""
        return {}, {}

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, files: dict[str, bytes], codes: np.ndarray, settings: dict[str, Any]) -> "Index":
        """The index ``save`` wrote as ``files`` into ``folder`` (named in messages), over ``codes`` (N, K)."""


class RecallProbe:
    """Recall@k against exact search, for a seeded sample of the indexed ``codes`` as queries, with the
    exact answers found once (so an index can be tried at several settings). Each query's own row is
    dropped from both lists (it is always first), so the figure is that of a query like the
    collection's items, not of finding oneself."""

    EXACT_CHUNK = 16  # queries per exact matmul: 16 x 1M scores are 64 MB, where 256 at once were 1 GB

    def __init__(self, codes: np.ndarray, metric: str, k: int = RECALL_K, n_queries: int = RECALL_QUERIES,
                 seed: int = 0):
        from explorer.search import CodeIndex
        self.rows = np.random.default_rng(seed).choice(len(codes), min(n_queries, len(codes)), replace=False)
        self.queries, self.k = codes[self.rows], min(k, len(codes) - 1)
        exact = CodeIndex(metric, chunk_size=self.EXACT_CHUNK).fit(codes)
        self.truth = exact.search(self.queries, self.k + 1)[0] if self.k >= 1 else None

    def recall(self, index: Index) -> float:
        if self.truth is None:
            return 1.0
        found, _ = index.search(self.queries, self.k + 1)
        hits = [len(_others(f, row, self.k) & _others(t, row, self.k))
                for f, t, row in zip(found, self.truth, self.rows)]
        return float(np.mean(hits)) / self.k


def _others(neighbours: np.ndarray, own: int, k: int) -> set[int]:
    """The first ``k`` of ``neighbours`` other than ``own`` (and FAISS's -1 for "none")."""
    return set([int(n) for n in neighbours if n != own and n >= 0][:k])
