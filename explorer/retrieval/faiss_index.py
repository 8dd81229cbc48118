"""FAISS behind :class:`~explorer.retrieval.base.Index`: exact (``IndexFlat``) or approximate (``IndexIVFFlat``).

IVF (Jégou et al., "Product quantization for nearest neighbor search", TPAMI 2011; FAISS's wiki,
"Guidelines to choose an index") splits the codes into ``nlist`` k-means cells and searches the
``nprobe`` cells nearest to a query. On 2 cores it builds 1M 30-D codes in seconds, where HNSW took
264 s (issue 15's table). Its recall depends on ``nprobe``, so the build measures recall@10 against
exact search and takes the smallest ``nprobe`` that reaches :data:`TARGET_RECALL`.
"""
from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError, one_line
from explorer.retrieval.base import Index, RecallProbe
from explorer.threads import thread_count

KINDS = ("flat", "ivf")
INDEX_FILE = "index.faiss"
TARGET_RECALL = 0.95
# The build's recall is estimated on RECALL_QUERIES sampled codes (a standard error of about 0.01), so it
# aims this much higher for new queries to meet the target (at 1M encoded codes: 0.958 at the build
# gave 0.951 on held-out queries).
RECALL_MARGIN = 0.02
# About this many codes per IVF cell: nlist = N / CELL_SIZE, capped. FAISS's guideline is 4..16 sqrt(N)
# cells (4,000 at 1M), but training and assigning cost N x nlist x K: on 2 busy cores 1M encoded codes
# built in 33 s with 976 cells and 192 s with 3,906, answering alike (p95 0.27 and 1.7 ms).
CELL_SIZE = 1024
MAX_CELLS = 4096
TRAIN_PER_CELL = 40      # k-means sample: FAISS warns below 39 points per centroid
SMALL_WORK = 1 << 22     # multiply-adds under which a query batch runs on one OpenMP thread


def omp_threads(threads: int):
    """FAISS's OpenMP thread count inside the block. One query is too little work to share: threads
    waiting for each other at OpenMP barriers made single-query p95 several times worse on 2 busy
    cores (as for torch, explorer/threads.py; FAISS issue #2406 reports the same for nq=1)."""
    import faiss
    return thread_count(faiss.omp_get_max_threads, faiss.omp_set_num_threads, threads)


class FaissIndex(Index):
    """``kind`` "flat" (exact) or "ivf" (approximate); ``nprobe`` None: calibrated at fit."""

    def __init__(self, metric: str = "euclidean", kind: str = "ivf", nprobe: int | None = None):
        self.metric, self.kind, self.nprobe = metric, kind, nprobe

    def fit(self, codes: np.ndarray) -> "FaissIndex":
        import faiss
        started = time.perf_counter()
        vectors = self._prepared(codes)
        n, dim = vectors.shape
        faiss_metric = faiss.METRIC_INNER_PRODUCT if self.metric == "cosine" else faiss.METRIC_L2
        if self.kind == "flat":
            self.index_ = faiss.IndexFlat(dim, faiss_metric)
        else:
            cells = max(1, min(MAX_CELLS, n // CELL_SIZE))
            self.index_ = faiss.IndexIVFFlat(faiss.IndexFlat(dim, faiss_metric), dim, cells, faiss_metric)
            sample = np.random.default_rng(0).choice(n, min(n, cells * TRAIN_PER_CELL), replace=False)
            self.index_.train(vectors[np.sort(sample)])
        self.seconds_ = {"train": time.perf_counter() - started}
        self.index_.add(vectors)
        self.seconds_["add"] = time.perf_counter() - started - self.seconds_["train"]
        if self.kind == "ivf":
            self.recall_ = self._calibrate(codes)
            self.seconds_["calibrate"] = time.perf_counter() - started - sum(self.seconds_.values())
        return self

    def _calibrate(self, codes: np.ndarray) -> float:
        """Set ``nprobe`` (given, or the smallest power of two, or all cells, reaching TARGET_RECALL with its
        margin); its recall@10."""
        probe = RecallProbe(codes, self.metric)
        cells = self.index_.nlist  # every cell at last: exact search, whatever the codes
        candidates = [self.nprobe] if self.nprobe else [2 ** p for p in range(math.ceil(math.log2(cells)))] + [cells]
        for nprobe in candidates:
            self.index_.nprobe = self.nprobe = nprobe
            recall = probe.recall(self)
            if recall >= TARGET_RECALL + RECALL_MARGIN:
                break
        return recall

    def add(self, codes: np.ndarray) -> None:
        self.index_.add(self._prepared(codes))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self._prepared(queries)
        k = min(k, len(self))
        searched = len(self) * self.nprobe / self.index_.nlist if self.kind == "ivf" else len(self)  # codes compared
        work = len(queries) * searched * queries.shape[1]
        with omp_threads(1) if work < SMALL_WORK else contextlib.nullcontext():
            scores, rows = self.index_.search(queries, k)
        if self.metric == "cosine":
            return rows, (1 - scores).astype(np.float32)
        return rows, np.sqrt(np.maximum(scores, 0)).astype(np.float32)

    def __len__(self) -> int:
        return self.index_.ntotal if hasattr(self, "index_") else 0

    def _prepared(self, codes: np.ndarray) -> np.ndarray:
        vectors = np.ascontiguousarray(np.reshape(codes, (len(codes), -1)), np.float32)  # no copy when it is
        if self.metric == "cosine":
            return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def save(self) -> tuple[dict[str, bytes], dict[str, Any]]:
        import faiss
        settings = {"kind": self.kind, "nprobe": self.nprobe}
        if self.kind == "ivf":
            settings.update(nlist=self.index_.nlist, recall_at_10=round(self.recall_, 4))
        if hasattr(self, "seconds_"):
            settings["seconds"] = {step: round(seconds, 3) for step, seconds in self.seconds_.items()}
        return {INDEX_FILE: faiss.serialize_index(self.index_).tobytes()}, settings

    @classmethod
    def load(cls, folder: Path, files: dict[str, bytes], codes: np.ndarray, settings: dict[str, Any]) -> "FaissIndex":
        import faiss
        index = cls(settings["metric"], settings["kind"], settings.get("nprobe"))
        if INDEX_FILE not in files:
            raise DataError(f"{folder}: its manifest lists no {INDEX_FILE}; rebuild the index with "
                            "python -m explorer index")
        try:
            index.index_ = faiss.deserialize_index(np.frombuffer(files[INDEX_FILE], np.uint8))
        except (RuntimeError, ValueError) as error:
            raise DataError(f"{folder}: {INDEX_FILE} is not a readable FAISS index ({one_line(error)}); "
                            "rebuild it with python -m explorer index") from None
        if index.index_.ntotal != len(codes) or index.index_.d != codes.shape[1]:
            raise DataError(f"{folder}: {INDEX_FILE} holds {index.index_.ntotal} codes of {index.index_.d} "
                            f"dimensions, not the {codes.shape[0]} x {codes.shape[1]} of codes.npy; rebuild it")
        if index.kind == "ivf":
            faiss.extract_index_ivf(index.index_).nprobe = index.nprobe
        return index
