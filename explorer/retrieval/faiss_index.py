"""FAISS behind :class:`~explorer.retrieval.base.Index`: exact (``IndexFlat``) or approximate.

The approximate index is ``IVF<cells>,PQ<K>x4fs,RFlat`` (FAISS's index_factory; its wiki, "Guidelines to
choose an index"). IVF (Jégou et al., "Product quantization for nearest neighbor search", TPAMI 2011)
splits the codes into ``nlist`` k-means cells and scans the ``nprobe`` cells nearest to a query. The
scan compares 4-bit product-quantized codes, 32 at a time in SIMD registers (FAISS's "fast scan": André
et al., "Cache locality is not enough", VLDB 2015, and "Quicker ADC", TPAMI 2019), and the best ``k x
K_FACTOR`` are re-ranked by their exact distance (``RFlat``). Its recall depends on ``nprobe`` alone
(K_FACTOR 10 re-ranked within 0.001 of 20), so the build measures recall@10 against exact search and
takes the smallest ``nprobe`` that reaches :data:`TARGET_RECALL` with its margin: codes with clusters
need few cells, codes with no structure many, and the fast scan keeps even those quick. Options measured
on 1M 30-D codes before choosing (``python -m benchmarks.retrieval`` has the chosen one's figures), one
thread per single query, 200 held-out queries, 2 cores shared with other work (issue 15):

============================  ==============================  ===================================  =======
index                         encoded codes (Fashion)         random codes (no structure)          build
============================  ==============================  ===================================  =======
IVF976,Flat (the last one)    nprobe 8: 0.988, p95 0.63 ms    nprobe 256: 0.987, p95 14.9 ms       40 s
IVF4096,Flat                  --                              nprobe 512: 0.972, p95 3.05 ms       30 s
IVF4096,PQ30x4fs,RFlat        --                              nprobe 512: 0.972, p95 1.42 ms       44 s
IVF1024,PQ30x4fs,RFlat        nprobe 8: 0.982, p95 0.13 ms    nprobe 256: 0.988, p50 0.95 ms       17 s
PQ30x4fs,RFlat (no cells)     0.992, p95 2.16 ms              0.997, p50 1.72 ms                   10 s
IVF1024,SQ8,RFlat             --                              nprobe 256: 0.988, p50 20 ms         21 s
HNSW16, efConstruction 40     --                              efSearch 512: 0.90                   266 s
============================  ==============================  ===================================  =======

Recall@10 first, then latency. The 4-bit fast scan is what makes a quarter of the cells affordable;
more cells cost build time without answering faster; HNSW is slow to build and misses 0.95 on codes
without structure.
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
# built in 33 s with 976 cells and 192 s with 3,906, answering alike (p95 0.27 and 1.7 ms); with the
# fast scan, 4,096 cells answered random codes no faster than 1,024 and took 2.6x as long to build.
CELL_SIZE = 1024
MAX_CELLS = 4096
TRAIN_PER_CELL = 40      # k-means sample: FAISS warns below 39 points per centroid
MIN_TRAIN = 65536        # ...and at least this many, for the product quantizer's 16 centroids per part
MAX_SUBQUANTIZERS = 64   # parts of a code quantized apart: one per dimension up to 64-D
K_FACTOR = 10            # the quantized scan's k x K_FACTOR best are re-ranked by exact distance
ADD_BLOCK = 65536        # codes added at a time
SMALL_WORK = 1 << 22     # multiply-adds under which an exact query batch runs on one OpenMP thread
# Queries under which an IVF search runs on one thread: FAISS shares an IVF search out by query, and one
# query on 2 threads took p50 4.7 / p95 13.0 ms where one thread took 0.95 / 1.25 ms (1M random codes,
# nprobe 256; issue 15).
IVF_SHARED_QUERIES = 16


def omp_threads(threads: int):
    """FAISS's OpenMP thread count inside the block. One query is too little work to share: threads
    waiting for each other at OpenMP barriers made single-query p95 several times worse on 2 busy
    cores (as for torch, explorer/threads.py; FAISS issue #2406 reports the same for nq=1)."""
    import faiss
    return thread_count(faiss.omp_get_max_threads, faiss.omp_set_num_threads, threads)


class FaissIndex(Index):
    """``kind`` "flat" (exact) or "ivf" (approximate); ``nprobe`` None: calibrated at fit. ``fit`` reads
    its codes a block at a time (an array, or :class:`~explorer.retrieval.store.NpyRows` on disk)."""

    def __init__(self, metric: str = "euclidean", kind: str = "ivf", nprobe: int | None = None):
        self.metric, self.kind, self.nprobe = metric, kind, nprobe

    def fit(self, codes) -> "FaissIndex":
        # On one OpenMP thread: OpenMP's threads wait for each other at every barrier, and on 2 cores shared
        # with other work training 976 cells took 21.3 s on 2 threads and 2.3 s on one, adding 200k codes
        # 4.2 s and 2.0 s, and a whole 1M build 31 s and 7.6 s (issue 15); one thread builds 1M in seconds.
        with omp_threads(1):
            return self._fit(codes)

    def _fit(self, codes) -> "FaissIndex":
        import faiss
        started = time.perf_counter()
        n, dim = codes.shape
        faiss_metric = faiss.METRIC_INNER_PRODUCT if self.metric == "cosine" else faiss.METRIC_L2
        if self.kind == "flat":
            self.index_ = faiss.IndexFlat(dim, faiss_metric)
        else:
            self.factory_ = structure(dim, max(1, min(MAX_CELLS, n // CELL_SIZE)))
            self.index_ = faiss.index_factory(dim, self.factory_, faiss_metric)
            self.index_.k_factor = K_FACTOR
            sample = np.random.default_rng(0).choice(n, min(n, max(MIN_TRAIN, self.nlist * TRAIN_PER_CELL)),
                                                     replace=False)
            self.index_.train(self._prepared(codes[np.sort(sample)]))
        self.seconds_ = {"train": time.perf_counter() - started}
        for start in range(0, n, ADD_BLOCK):
            self.index_.add(self._prepared(codes[start:start + ADD_BLOCK]))
        self.seconds_["add"] = time.perf_counter() - started - self.seconds_["train"]
        if self.kind == "ivf":
            self.recall_ = self._calibrate(codes)
            self.seconds_["calibrate"] = time.perf_counter() - started - sum(self.seconds_.values())
        return self

    @property
    def nlist(self) -> int:
        import faiss
        return faiss.extract_index_ivf(self.index_).nlist

    def _set_nprobe(self, nprobe: int) -> None:
        import faiss
        faiss.extract_index_ivf(self.index_).nprobe = self.nprobe = nprobe

    def _calibrate(self, codes) -> float:
        """Set ``nprobe`` (given, or the smallest of steps of sqrt(2) up to all cells reaching TARGET_RECALL
        with its margin); its recall@10."""
        probe = RecallProbe(codes, self.metric)
        cells = self.nlist  # every cell at last: then only the quantized scan and its re-ranking can miss
        steps = sorted({min(cells, round(2 ** (half / 2))) for half in range(2 * math.ceil(math.log2(cells)) + 1)})
        for nprobe in [self.nprobe] if self.nprobe else steps:
            self._set_nprobe(nprobe)
            recall = probe.recall(self)
            if recall >= TARGET_RECALL + RECALL_MARGIN:
                break
        return recall

    def add(self, codes: np.ndarray) -> None:
        self.index_.add(self._prepared(codes))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self._prepared(queries)
        k = min(k, len(self))
        alone = len(queries) < IVF_SHARED_QUERIES if self.kind == "ivf" else len(queries) * len(self) * queries.shape[
            1] < SMALL_WORK
        with omp_threads(1) if alone else contextlib.nullcontext():
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

    def save(self, folder: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        import faiss
        settings = {"kind": self.kind, "nprobe": self.nprobe}
        if self.kind == "ivf":
            settings.update(structure=self.factory_, nlist=self.nlist, k_factor=K_FACTOR,
                            recall_at_10=round(self.recall_, 4))
        if hasattr(self, "seconds_"):
            settings["seconds"] = {step: round(seconds, 3) for step, seconds in self.seconds_.items()}
        faiss.write_index(self.index_, str(folder / INDEX_FILE))
        return {INDEX_FILE: folder / INDEX_FILE}, settings

    @classmethod
    def load(cls, folder: Path, files: dict[str, Path], codes: np.ndarray, settings: dict[str, Any]) -> "FaissIndex":
        import faiss
        index = cls(settings["metric"], settings["kind"], settings.get("nprobe"))
        if INDEX_FILE not in files:
            raise DataError(f"{folder}: its manifest lists no {INDEX_FILE}; rebuild the index with "
                            "python -m explorer index")
        try:
            index.index_ = faiss.read_index(str(files[INDEX_FILE]))
        except (RuntimeError, ValueError) as error:
            raise DataError(f"{folder}: {INDEX_FILE} is not a readable FAISS index ({one_line(error)}); "
                            "rebuild it with python -m explorer index") from None
        if index.index_.ntotal != len(codes) or index.index_.d != codes.shape[1]:
            raise DataError(f"{folder}: {INDEX_FILE} holds {index.index_.ntotal} codes of {index.index_.d} "
                            f"dimensions, not the {codes.shape[0]} x {codes.shape[1]} of codes.npy; rebuild it")
        if index.kind == "ivf":
            index._set_nprobe(index.nprobe)
        return index


def structure(dim: int, cells: int) -> str:
    """The FAISS index_factory string of the approximate index over ``dim``-D codes in ``cells`` cells."""
    subquantizers = max(m for m in range(1, min(dim, MAX_SUBQUANTIZERS) + 1) if dim % m == 0)
    return f"IVF{cells},PQ{subquantizers}x4fs,RFlat"
