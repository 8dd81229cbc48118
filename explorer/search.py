"""Nearest neighbours by code distance: one matmul over a pre-normalised code matrix."""
from __future__ import annotations

from contextlib import contextmanager, nullcontext

import numpy as np
import torch

from explorer.errors import ConfigError

METRICS = ("euclidean", "cosine")
# A query batch with less matmul work than this (multiply-adds) runs on the calling thread alone:
# one query over 60k 30-d codes is 1.8M and takes ~0.3 ms, too little to share, and on a busy
# machine OpenMP threads waiting for each other made its p95 9-30x worse (python -m benchmarks).
SINGLE_THREAD_WORK = 1 << 22


@contextmanager
def one_thread():
    """torch's intra-op thread count is per calling thread (OpenMP): 1 inside, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class CodeIndex:
    """Top-k search over a fixed set of codes, scikit-learn style: ``fit(codes)`` then ``query``.

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
        small = q.shape[0] * self.codes_.shape[0] * self.codes_.shape[1] < SINGLE_THREAD_WORK
        indices, distances = [], []
        with one_thread() if small else nullcontext():
            for start in range(0, len(q), self.chunk_size):
                chunk = q[start:start + self.chunk_size]
                scores = self._scores(chunk)  # (q, N), same order as the distances
                if exclude_self:
                    rows = torch.arange(len(scores))
                    scores[rows, rows + start] = torch.inf
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
