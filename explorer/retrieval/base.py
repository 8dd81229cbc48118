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


def recall_at_k(index: Index, exact: Index, codes: np.ndarray, k: int = RECALL_K,
                n_queries: int = RECALL_QUERIES, seed: int = 0) -> float:
    """Mean fraction of the exact top-``k`` that ``index`` finds, for a seeded sample of the indexed
    ``codes`` as queries. Each query's own row is dropped from both lists (it is always first), so
    the figure is that of a new query near the collection, not of finding oneself."""
    rows = np.random.default_rng(seed).choice(len(codes), min(n_queries, len(codes)), replace=False)
    k = min(k, len(codes) - 1)
    if k < 1:
        return 1.0
    found, _ = index.search(codes[rows], k + 1)
    truth, _ = exact.search(codes[rows], k + 1)
    hits = [len(_others(f, row, k) & _others(t, row, k)) for f, t, row in zip(found, truth, rows)]
    return float(np.mean(hits)) / k


def _others(neighbours: np.ndarray, own: int, k: int) -> set[int]:
    """The first ``k`` of ``neighbours`` other than ``own`` (and FAISS's -1 for "none")."""
    return set([int(n) for n in neighbours if n != own and n >= 0][:k])
