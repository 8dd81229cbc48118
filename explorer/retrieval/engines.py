"""Which engine an index uses: chosen by the collection's size unless the user names one.

Up to :data:`EXACT_UP_TO` codes, exact search (today's :class:`~explorer.search.CodeIndex`, one matmul)
answers a query in a few milliseconds and needs no build; above it, FAISS's IVF index with a fast
quantized scan and exact re-ranking (:mod:`~explorer.retrieval.faiss_index`) answers in a millisecond or
two at recall@10 >= 0.95, whether the codes have clusters or none, where exact search takes 30-80 ms per
query at 1M.
"""
from __future__ import annotations

from pathlib import Path

from explorer.errors import ConfigError, DataError
from explorer.retrieval.base import Index

EXACT_UP_TO = 100_000
ENGINES = ("auto", "exact", "faiss-flat", "faiss-ivf", "milvus")


def chosen(engine: str, n_codes: int) -> str:
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "exact" if n_codes <= EXACT_UP_TO else "faiss-ivf"
    return engine


def check(engine: str, milvus_uri: str | None) -> None:
    """Refuse an unknown engine, or Milvus without a URI, before any image is read."""
    chosen(engine, 0)
    if engine == "milvus" and not milvus_uri:
        raise ConfigError("the milvus engine needs --milvus-uri: a local path ending in .db (Milvus Lite) or a "
                          "cluster's http://host:19530")


def new_index(engine: str, metric: str, milvus_uri: str | None = None, collection: str = "") -> Index:
    """An unfitted index of ``engine`` (as :func:`chosen` names it)."""
    check(engine, milvus_uri)
    if engine == "exact":
        from explorer.search import CodeIndex
        return CodeIndex(metric)
    if engine.startswith("faiss-"):
        from explorer.retrieval.faiss_index import FaissIndex
        return FaissIndex(metric, engine.removeprefix("faiss-"))
    from explorer.retrieval.milvus_index import MilvusIndex
    return MilvusIndex(metric, milvus_uri, collection)


def load_index(folder: Path, files: dict[str, bytes], codes, manifest: dict) -> Index:
    """The engine an index folder's manifest names, from its checked ``files``, over its ``codes``."""
    settings = {**manifest.get("engine", {}), "metric": manifest.get("metric")}
    kind = settings.get("kind")
    if kind == "exact":
        from explorer.search import CodeIndex as engine_class
    elif kind in ("flat", "ivf"):
        from explorer.retrieval.faiss_index import FaissIndex as engine_class
    elif kind == "milvus":
        from explorer.retrieval.milvus_index import MilvusIndex as engine_class
    else:
        raise DataError(f"{folder}: its manifest names no engine this app knows ({kind!r}); rebuild the index")
    if settings["metric"] not in ("euclidean", "cosine"):
        raise DataError(f"{folder}: its manifest names no distance this app knows; rebuild the index")
    return engine_class.load(folder, files, codes, settings)
