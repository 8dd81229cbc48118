"""``index``: a collection streamed through a model in batches into an index folder, resumable.

Each batch's codes (and thumbnails, labels, skip reasons) are written as one chunk file in a sibling
work folder ``.<name>.partial`` as soon as they exist, so memory holds one batch of images, and a
rerun after a kill finds the chunks done and starts at the first missing one. Only when every chunk
is there are the codes gathered, the engine built and the index folder replaced, atomically: until
then the previous index stays as it was, loadable.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import CheckpointError, DataError
from explorer.retrieval import engines, store
from explorer.retrieval.sources import Source, open_source

BATCH = 512
THUMBNAIL_SIDE = 32  # thumbnails keep the model's size up to this many pixels a side
MAX_CHUNK_BYTES = 64 << 20


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
    base = _base_collection(out, model_info) if append else None
    if not append:
        store.check_target(out)
    collection_source = open_source(source, model.input_shape)
    known = set(base.sources) if base else set()
    rows = [row for row, name in enumerate(collection_source.names) if name not in known]
    plan = {"model": model_info["weights_sha256"], "source": str(Path(source).resolve()) if Path(source).exists()
            else source, "names": _names_hash(collection_source.names, rows), "thumbnails": thumbnails,
            "batch": batch, "append_to": len(base.codes) if base else 0}
    work = _work_folder(out, plan)
    resumed = _encode_chunks(model, collection_source, rows, work, batch, thumbnails, progress)
    collection, skipped = _gather(work, collection_source, rows, batch, thumbnails, base)
    counts = {"indexed": len(collection.codes), "added": len(collection.codes) - (len(base.codes) if base else 0),
              "skipped": dict(sorted(skipped.items())), "resumed_batches": resumed}
    collection.manifest.update(model=model_info, preprocessing=preprocessing(model_info["input_shape"]),
                               source=collection_source.origin, metric=metric, counts=counts, versions=_versions())
    manifest = _finish(out, collection, engine, metric, milvus_uri)
    shutil.rmtree(work, ignore_errors=True)
    return manifest


def _base_collection(out: Path, model_info: dict) -> store.Collection:
    collection = store.read(out)
    check_model(out, collection.manifest, model_info["weights_sha256"])
    return collection


def check_model(folder: Path, manifest: dict, weights_sha256: str) -> None:
    recorded = manifest.get("model", {}).get("weights_sha256")
    if recorded != weights_sha256:
        raise CheckpointError(f"{folder} was built by another model (weights sha256 {str(recorded)[:12]}..., this "
                              f"model's {weights_sha256[:12]}...); use the model it was built with, or rebuild it")


def _names_hash(names: list[str], rows: list[int]) -> str:
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


def _gather(work: Path, source: Source, rows: list[int], batch: int, thumbnails: bool,
            base: store.Collection | None) -> tuple[store.Collection, dict[str, int]]:
    """The ``base`` index's items (when appending) and every chunk's, in the collection's order, read
    straight into the bytes of the index's .npy files (one copy in memory), and the skip reasons counted."""
    from explorer.data.npz import read_npz
    chunks = [_chunk_path(work, number) for number in range(-(-len(rows) // batch))]
    kept, skipped = [], dict(source.skipped_at_listing)
    for chunk in chunks:
        arrays, _ = read_npz(chunk, ("rows", "skipped"), MAX_CHUNK_BYTES)
        kept.append(arrays["rows"])
        for reason in arrays["skipped"]:
            skipped[str(reason)] = skipped.get(str(reason), 0) + 1
    new_rows = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    if base is None and len(new_rows) == 0:
        raise DataError(f"{source.origin}: no image could be indexed (skipped: {_reasons(skipped)})")
    if base is not None and list(source.class_names) != base.class_names and len(new_rows):
        raise DataError(f"{source.origin}: its classes {list(source.class_names)} are not the index's "
                        f"{base.class_names}; append a collection with the same class folders")
    first = len(base.codes) if base is not None else 0
    thumbnails = thumbnails and (base is None or base.thumbnails is not None)
    files = {"codes": None, "thumbnails": None}
    for chunk in chunks:
        arrays, _ = read_npz(chunk, ("codes",) + (("thumbnails",) if thumbnails else ()), MAX_CHUNK_BYTES)
        for key, array in arrays.items():
            if files[key] is None:
                files[key] = store.NpyFile((first + len(new_rows), *array.shape[1:]), array.dtype)
                if base is not None:
                    files[key].array[:first] = base.codes if key == "codes" else base.thumbnails
            files[key].array[first:first + len(array)] = array
        first += len(arrays["codes"])
    return _collection(base, files, source, new_rows), skipped


def _collection(base: store.Collection | None, files: dict, source: Source, new_rows: np.ndarray) -> store.Collection:
    """The collection of ``files`` (NpyFile or None per array), sources and labels after ``base``'s."""
    if files["codes"] is None:  # nothing new to append
        return store.Collection(base.codes, base.sources, base.labels, base.thumbnails,
                                {"class_names": base.class_names})
    names = [source.names[row] for row in new_rows]
    labels = None if source.labels is None else source.labels[new_rows]
    if base is not None:
        names = base.sources + names
        labels = None if labels is None or base.labels is None else np.concatenate([base.labels, labels])
    thumbnails = files["thumbnails"]
    collection = store.Collection(files["codes"].array, names, labels, None if thumbnails is None else thumbnails.array,
                                  {"class_names": list(source.class_names)})
    collection.prebuilt = {store.CODES: files["codes"].data,
                           **({store.THUMBNAILS: thumbnails.data} if thumbnails is not None else {})}
    return collection


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items())) or "none"


def _finish(out: Path, collection: store.Collection, engine: str, metric: str, milvus_uri: str | None
            ) -> dict[str, Any]:
    """Build the engine over every code and write the index folder; returns its manifest."""
    kind = engines.chosen(engine, len(collection.codes))
    weights = collection.manifest["model"]["weights_sha256"]
    name = f"explorer_{weights[:12]}_{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:8]}"
    started = time.perf_counter()
    index = engines.new_index(kind, metric, milvus_uri, name).fit(collection.codes)
    engine_files, settings = index.save()
    collection.manifest["engine"] = {"kind": index.kind, **settings,
                                     "build_seconds": round(time.perf_counter() - started, 3)}
    store.write(out, collection, engine_files)
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
