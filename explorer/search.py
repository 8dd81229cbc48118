"""Nearest neighbours by code distance: one matmul over a pre-normalised code matrix."""
from __future__ import annotations

import numpy as np
import torch

from explorer.errors import ConfigError

METRICS = ("euclidean", "cosine")


class CodeIndex:
    """Top-k search over a fixed set of codes, scikit-learn style: ``fit(codes)`` then ``query``.

    Euclidean distances come from |q|^2 - 2 q.c + |c|^2 with |c|^2 precomputed; cosine from the
    dot product of unit vectors. Either way a query batch costs one (Q, K) x (K, N) matmul.
    """

    def __init__(self, metric: str = "euclidean", chunk_size: int = 1024):
        if metric not in METRICS:
            raise ConfigError(f"unknown distance {metric!r}; choose one of {', '.join(METRICS)}")
        self.metric = metric
        self.chunk_size = chunk_size

    def fit(self, codes: np.ndarray) -> "CodeIndex":
        """``codes``: (N, K)."""
        matrix = torch.as_tensor(np.ascontiguousarray(codes, dtype=np.float32)).flatten(1)
        if self.metric == "cosine":
            matrix = torch.nn.functional.normalize(matrix, dim=1)
        self.codes_ = matrix
        self.squared_norms_ = matrix.square().sum(1)  # (N,)
        return self

    @torch.inference_mode()
    def query(self, queries: np.ndarray, k: int = 10, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances of the ``k`` nearest codes to each of ``queries`` (Q, K): two (Q, k) arrays.

        ``exclude_self`` drops each query's own row, for queries that are the indexed codes themselves.
        """
        if not hasattr(self, "codes_"):
            raise ConfigError("CodeIndex.query called before fit")
        q = torch.as_tensor(np.ascontiguousarray(queries, dtype=np.float32)).flatten(1)
        k = min(k, len(self.codes_) - int(exclude_self))
        indices, distances = [], []
        for start in range(0, len(q), self.chunk_size):
            d = self._distances(q[start:start + self.chunk_size])  # (q, N)
            if exclude_self:
                rows = torch.arange(len(d))
                d[rows, rows + start] = torch.inf
            best = torch.topk(d, k, dim=1, largest=False)
            indices.append(best.indices)
            distances.append(best.values)
        return torch.cat(indices).numpy(), torch.cat(distances).numpy()

    def _distances(self, q: torch.Tensor) -> torch.Tensor:
        if self.metric == "cosine":
            return 1 - torch.nn.functional.normalize(q, dim=1) @ self.codes_.T
        squared = q.square().sum(1, keepdim=True) - 2 * q @ self.codes_.T + self.squared_norms_
        return squared.clamp_min_(0).sqrt_()
