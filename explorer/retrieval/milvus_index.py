"""Milvus behind :class:`~explorer.retrieval.base.Index`: past one process, or one machine.

The URI says where: a path ending in ``.db`` starts Milvus Lite, the embedded Milvus server that
``milvus-lite`` ships as a binary (the C++ engine with its knowhere index library, started by pymilvus
as a child process); ``http://host:19530`` (or a Zilliz Cloud endpoint) talks to a Milvus cluster with
the same calls. A cluster's token is read from the MILVUS_TOKEN environment variable, never stored.
The collection gets Milvus's AUTOINDEX, its own choice for the deployment (in Milvus Lite 2.5, HNSW with
M 18, efConstruction 240): approximate, so its recall@10 is measured at build, as FAISS's is.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError, one_line
from explorer.retrieval.base import Index, RecallProbe

INSERT_BATCH = 10_000
MILVUS_METRICS = {"euclidean": "L2", "cosine": "COSINE"}
ID, VECTOR = "id", "vector"


def is_local(uri: str) -> bool:
    return "://" not in uri


def connect(uri: str):
    """A pymilvus client for ``uri``; a local path starts (or joins) a Milvus Lite server on that file."""
    with warnings.catch_warnings():  # milvus-lite 2.5.1 imports pkg_resources, which warns of its end
        warnings.simplefilter("ignore", UserWarning)
        from pymilvus import MilvusClient
        try:
            if is_local(uri):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
                return MilvusClient(uri=str(Path(uri).resolve()))
            return MilvusClient(uri=uri, token=os.environ.get("MILVUS_TOKEN", ""))
        except Exception as error:  # pymilvus raises its own MilvusException and gRPC's errors alike
            raise DataError(f"cannot reach Milvus at {uri} ({one_line(error)}); check the URI and that the "
                            "server runs") from None


class MilvusIndex(Index):
    """Codes in the Milvus collection ``collection`` at ``uri``; row i has primary key i."""
    kind = "milvus"

    def __init__(self, metric: str, uri: str, collection: str):
        self.metric, self.uri, self.collection = metric, uri, collection
        self.client = connect(uri)
        self.count_ = 0

    def fit(self, codes) -> "MilvusIndex":
        if self.client.has_collection(self.collection):
            self.client.drop_collection(self.collection)
        self.client.create_collection(self.collection, dimension=codes.shape[1], primary_field_name=ID,
                                      vector_field_name=VECTOR, id_type="int", auto_id=False,
                                      metric_type=MILVUS_METRICS[self.metric], consistency_level="Strong")
        self.count_ = 0
        self.add(codes)
        # Sealed segments get the collection's index; growing ones are searched through Milvus's interim
        # IVF index, which answered 100k codes at recall@10 0.94 where the sealed HNSW answers at 0.98.
        self.client.flush(self.collection)
        self.recall_ = RecallProbe(codes, self.metric).recall(self)
        return self

    def add(self, codes) -> None:
        """``codes`` (M, K): an array, or :class:`~explorer.retrieval.store.NpyRows` read a batch at a time."""
        for start in range(0, len(codes), INSERT_BATCH):
            rows = [{ID: self.count_ + i, VECTOR: vector} for i, vector in
                    enumerate(np.asarray(codes[start:start + INSERT_BATCH], np.float32).tolist())]
            self.client.insert(self.collection, rows)
            self.count_ += len(rows)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self.client.search(self.collection, data=np.asarray(queries, np.float32).tolist(), limit=k,
                                  anns_field=VECTOR, search_params={"metric_type": MILVUS_METRICS[self.metric]})
        rows = np.array([[hit["id"] for hit in found] for found in hits], np.int64).reshape(len(queries), -1)
        scores = np.array([[hit["distance"] for hit in found] for found in hits], np.float32).reshape(rows.shape)
        # Milvus gives squared L2 distances, and cosine similarity rather than distance.
        return rows, (1 - scores if self.metric == "cosine" else np.sqrt(np.maximum(scores, 0)))

    def __len__(self) -> int:
        return self.count_

    def save(self, folder: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        uri = str(Path(self.uri).resolve()) if is_local(self.uri) else self.uri
        return {}, {"kind": self.kind, "uri": uri, "collection": self.collection,
                    "recall_at_10": round(getattr(self, "recall_", 1.0), 4)}

    @classmethod
    def load(cls, folder: Path, files: dict[str, Path], codes: np.ndarray, settings: dict[str, Any]) -> "MilvusIndex":
        index = cls(settings["metric"], settings["uri"], settings["collection"])
        if not index.client.has_collection(index.collection):
            raise DataError(f"{folder}: its Milvus collection {index.collection} is not at {index.uri}; rebuild the "
                            "index with python -m explorer index --engine milvus")
        index.count_ = int(index.client.get_collection_stats(index.collection)["row_count"])
        if index.count_ != len(codes):
            raise DataError(f"{folder}: its Milvus collection holds {index.count_} codes, not the {len(codes)} of "
                            "codes.npy; rebuild the index")
        return index

    def close(self) -> None:
        self.client.close()
