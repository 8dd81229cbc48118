"""``index``: a collection streamed through a model in batches into an index folder, resumable.

Each batch's codes (and thumbnails, labels, skip reasons) are written as one chunk file in a sibling
work folder ``.<name>.partial`` as soon as they exist, so memory holds one batch of images, and a
rerun after a kill finds the chunks done and starts at the first missing one. Only when every chunk
is there are the columns gathered into files of the work folder (:mod:`~explorer.retrieval.gather`),
the engine built from the codes on disk, and the files moved into the index folder, atomically: until
then the previous index stays as it was, loadable. No step holds a whole column in memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import CheckpointError
from explorer.retrieval import engines, store
from explorer.retrieval.gather import Base, Gathered, gather
from explorer.retrieval.sources import Source, open_source

BATCH = 512
THUMBNAIL_SIDE = 32  # thumbnails keep the model's size up to this many pixels a side


def model_record(model_dir: Path):
    """The model in ``model_dir`` and what the manifest records of it (its weights' sha256 above all)."""
    from explorer.checkpoint import CONFIG, load
    checkpoint = load(model_dir)
    record = json.loads((Path(model_dir) / CONFIG).read_bytes())  # load checked its size and fields
    model = checkpoint.model
    if model.conditional:
        raise CheckpointError(f"{model_dir} holds a conditional {model.variant_name}, whose code needs each image's "
                              "class, which a query image lacks; index with an unconditional model")
    return model, {"path": str(Path(model_dir).resolve()), "variant": model.variant_name,
                   "weights_sha256": record["weights_sha256"], "input_shape": list(model.input_shape),
                   "dataset": checkpoint.dataset.get("name")}


def preprocessing(input_shape) -> dict[str, Any]:
    channels, height, width = input_shape
    return {"mode": "L" if channels == 1 else "RGB", "size": [width, height], "resample": "box (area average)",
            "alpha": "composited on white", "scale": "pixel / 255", "aspect_tolerance": 0.01,
            "arrays": "taken as they are when their shape is the model's"}


def thumbnail(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (C, h, w) uint8 with h, w <= THUMBNAIL_SIDE (strided, as it is only a preview)."""
    step = -(-max(image.shape[1:]) // THUMBNAIL_SIDE)
    return np.round(image[:, ::step, ::step] * 255).astype(np.uint8)


def build(model_dir: str | Path, source: str, out: str | Path, engine: str = "auto", metric: str = "euclidean",
          append: bool = False, thumbnails: bool = True, milvus_uri: str | None = None, batch: int = BATCH,
          progress: bool = True) -> dict[str, Any]:
    """Index ``source`` with the model in ``model_dir`` into ``out``; returns the manifest written."""
    out = Path(out)
    engines.check(engine, milvus_uri)
    model, model_info = model_record(Path(model_dir))
    base = Base.open(out) if append else None
    if base is not None:
        check_model(out, base.manifest, model_info["weights_sha256"])
    else:
        store.check_target(out)
    collection_source = open_source(source, model.input_shape)
    rows = _new_rows(collection_source, base)
    plan = {"model": model_info["weights_sha256"], "source": str(Path(source).resolve()) if Path(source).exists()
            else source, "names": _names_hash(collection_source.names, rows), "thumbnails": thumbnails,
            "batch": batch, "append_to": base.count if base else 0}
    work = _work_folder(out, plan)
    resumed = _encode_chunks(model, collection_source, rows, work, batch, thumbnails, progress)
    chunks = [_chunk_path(work, number) for number in range(-(-len(rows) // batch))]
    thumbnail_shape = thumbnail(np.zeros(model.input_shape, np.float32)).shape if thumbnails else None
    gathered = gather(work, chunks, collection_source, model.latent_dim, thumbnail_shape, base)
    counts = {"indexed": gathered.count, "added": gathered.count - (base.count if base else 0),
              "skipped": dict(sorted(gathered.skipped.items())), "resumed_batches": resumed}
    manifest = {"class_names": gathered.class_names, "model": model_info,
                "preprocessing": preprocessing(model_info["input_shape"]), "source": collection_source.origin,
                "metric": metric, "counts": counts, "versions": _versions()}
    manifest = _finish(out, work, gathered, manifest, engine, metric, milvus_uri)
    shutil.rmtree(work, ignore_errors=True)
    return manifest


def _new_rows(source: Source, base: Base | None) -> np.ndarray:
    """Rows of ``source`` to encode: all, or those whose names ``base`` does not hold (appending)."""
    if base is None:
        return np.arange(len(source.names))
    known = set(base.sources)
    return np.array([row for row, name in enumerate(source.names) if name not in known], np.int64)


def check_model(folder: Path, manifest: dict, weights_sha256: str) -> None:
    recorded = manifest.get("model", {}).get("weights_sha256")
    if recorded != weights_sha256:
        raise CheckpointError(f"{folder} was built by another model (weights sha256 {str(recorded)[:12]}..., this "
                              f"model's {weights_sha256[:12]}...); use the model it was built with, or rebuild it")


def _names_hash(names: Sequence[str], rows: np.ndarray) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(names[row].encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def _work_folder(out: Path, plan: dict) -> Path:
    """``.<name>.partial`` beside ``out``: kept when its plan is this run's (a resume), else started afresh."""
    work = out.parent / f".{out.name}.partial"
    plan_file = work / "plan.json"
    try:
        if plan_file.is_file() and json.loads(plan_file.read_text()) == plan:
            return work
    except (OSError, ValueError):
        pass
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _write_atomically(plan_file, json.dumps(plan).encode())
    return work


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _chunk_path(work: Path, number: int) -> Path:
    return work / f"chunk-{number:07d}.npz"


def _encode_chunks(model, source: Source, rows: list[int], work: Path, batch: int, thumbnails: bool,
                   progress: bool) -> int:
    """Encode every batch whose chunk is not there yet; returns how many chunks a previous run left."""
    from tqdm import tqdm
    n_chunks = -(-len(rows) // batch)
    done = [_chunk_path(work, n).is_file() for n in range(n_chunks)]
    bar = tqdm(total=len(rows), unit="img", dynamic_ncols=True, file=sys.stderr, disable=not progress,
               desc=f"indexing {source.origin}")
    bar.update(min(sum(done) * batch, len(rows)))
    for number in (n for n in range(n_chunks) if not done[n]):
        chunk_rows = rows[number * batch:(number + 1) * batch]
        _write_atomically(_chunk_path(work, number), _encoded_chunk(model, source, chunk_rows, thumbnails))
        bar.update(len(chunk_rows))
    bar.close()
    return sum(done)


def _encoded_chunk(model, source: Source, chunk_rows: list[int], thumbnails: bool) -> bytes:
    """One chunk file: codes, thumbnails and rows of the images that converted, reasons for the others."""
    images, kept, reasons = [], [], []
    for row, image in zip(chunk_rows, _converted_rows(source, chunk_rows, model.input_shape)):
        if isinstance(image, str):
            reasons.append(image)
        else:
            images.append(np.asarray(image, np.float32))
            kept.append(row)
    stacked = np.stack(images) if images else np.zeros((0, *model.input_shape), np.float32)
    codes = model.encode_array(stacked) if images else np.zeros((0, model.latent_dim), np.float32)
    arrays = {"codes": np.asarray(codes, np.float32), "rows": np.array(kept, np.int64),
              "skipped": np.array(reasons, dtype=str) if reasons else np.zeros(0, "U1")}
    if thumbnails:
        arrays["thumbnails"] = np.stack([thumbnail(image) for image in images]) if images else np.zeros(
            (0, *thumbnail(np.zeros(model.input_shape, np.float32)).shape), np.uint8)
    return store.npz_bytes(arrays)


def _converted_rows(source: Source, rows: list[int], input_shape):
    """Converted images at ``rows`` (consecutive runs are read together)."""
    start = 0
    while start < len(rows):
        stop = start + 1
        while stop < len(rows) and rows[stop] == rows[stop - 1] + 1:
            stop += 1
        yield from source.converted(range(rows[start], rows[stop - 1] + 1), input_shape)
        start = stop


def _finish(out: Path, work: Path, gathered: Gathered, manifest: dict[str, Any], engine: str, metric: str,
            milvus_uri: str | None) -> dict[str, Any]:
    """Build the engine from the codes on disk and move every file into the index folder; its manifest."""
    kind = engines.chosen(engine, gathered.count)
    weights = manifest["model"]["weights_sha256"]
    name = f"explorer_{weights[:12]}_{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:8]}"
    started = time.perf_counter()
    index = engines.new_index(kind, metric, milvus_uri, name)
    codes = store.NpyRows.of(gathered.files[store.CODES])
    if not index.stored_as_codes:
        index.fit(codes)
    engine_files, settings = index.save(work)
    manifest["engine"] = {"kind": index.kind, **settings, "build_seconds": round(time.perf_counter() - started, 3)}
    store.write(out, {**gathered.files, **engine_files}, manifest, gathered.count, codes.shape[1])
    getattr(index, "close", lambda: None)()
    return store.read_manifest(out)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from explorer import __version__
    found = {"explorer": __version__}
    for package in ("torch", "numpy", "faiss-cpu", "pymilvus", "milvus-lite"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found
