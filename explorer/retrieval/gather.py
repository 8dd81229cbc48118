"""The index folder's columns (codes, thumbnails, labels, sources) written from the chunks a build
encoded, one chunk at a time, into files of the work folder that the atomic replace then moves in.

Nothing here holds a whole column: a 100,000-image collection is gathered in the memory of one chunk,
so the memory of ``index`` does not grow with the collection (``python -m benchmarks.retrieval``).
When appending, the index's own files come first, checked and copied a block at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer import atomic_folder
from explorer.errors import DataError
from explorer.retrieval import store
from explorer.retrieval.sources import Source

MAX_CHUNK_BYTES = 64 << 20


@dataclass
class Base:
    """The index being appended to: its folder, checked manifest and sources (to tell new images)."""
    folder: Path
    manifest: dict
    sources: list[str]

    @classmethod
    def open(cls, folder: Path) -> "Base":
        folder = atomic_folder.restore(Path(folder), store.is_index)
        manifest = store.read_manifest(folder)
        return cls(folder, manifest, store.sources(folder, manifest))

    @property
    def count(self) -> int:
        return self.manifest["count"]

    def has(self, name: str) -> bool:
        return name in self.manifest["files"]

    def rows(self, name: str, dtype: str) -> store.NpyRows:
        return store.npy_rows(self.folder, self.manifest, name, dtype, (self.count,))


@dataclass
class Gathered:
    files: dict[str, Path]   # name in the index folder -> its file in the work folder
    count: int
    skipped: dict[str, int]  # reason -> images
    class_names: list[str]


def gather(work: Path, chunks: list[Path], source: Source, code_dim: int, thumbnail_shape: tuple[int, ...] | None,
           base: Base | None) -> Gathered:
    """Write ``work``/codes.npy, thumbnails.npy (with ``thumbnail_shape``), labels.npy and sources.txt:
    ``base``'s items, then the images each of ``chunks`` kept, in order; the skip reasons counted."""
    from explorer.data.npz import read_npz
    kept, skipped = 0, dict(source.skipped_at_listing)
    for chunk in chunks:  # a first pass over the small arrays sizes the files
        arrays, _ = read_npz(chunk, ("rows", "skipped"), MAX_CHUNK_BYTES)
        kept += len(arrays["rows"])
        for reason in arrays["skipped"]:
            skipped[str(reason)] = skipped.get(str(reason), 0) + 1
    _check_new(source, base, kept, skipped)
    count = kept + (base.count if base else 0)
    columns = {store.CODES: store.NpyWriter(work / store.CODES, (count, code_dim), np.float32)}
    if thumbnail_shape is not None and (base is None or base.has(store.THUMBNAILS)):
        columns[store.THUMBNAILS] = store.NpyWriter(work / store.THUMBNAILS, (count, *thumbnail_shape), np.uint8)
    if (base is None or base.has(store.LABELS)) and (source.labels is not None or kept == 0):
        columns[store.LABELS] = store.NpyWriter(work / store.LABELS, (count,), np.int64)
    with open(work / store.SOURCES, "wb") as sources:
        if base is not None:
            _copy_base(base, columns, sources)
        for chunk in chunks:
            arrays, _ = read_npz(chunk, ("codes", "rows", "thumbnails"), MAX_CHUNK_BYTES)
            rows = arrays["rows"]
            columns[store.CODES].write(arrays["codes"])
            if store.THUMBNAILS in columns:
                columns[store.THUMBNAILS].write(arrays["thumbnails"])
            if store.LABELS in columns:
                columns[store.LABELS].write(source.labels[rows])
            sources.write("".join(f"{source.names[row]}\n" for row in rows).encode())
    files = {name: column.close() for name, column in columns.items()}
    class_names = base.manifest.get("class_names", []) if base is not None and kept == 0 else list(source.class_names)
    return Gathered({**files, store.SOURCES: work / store.SOURCES}, count, skipped, class_names)


def _check_new(source: Source, base: Base | None, kept: int, skipped: dict[str, int]) -> None:
    if base is None and kept == 0:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items())) or "none"
        raise DataError(f"{source.origin}: no image could be indexed (skipped: {reasons})")
    if base is not None and kept and list(source.class_names) != base.manifest.get("class_names", []):
        raise DataError(f"{source.origin}: its classes {list(source.class_names)} are not the index's "
                        f"{base.manifest.get('class_names', [])}; append a collection with the same class folders")


def _copy_base(base: Base, columns: dict[str, store.NpyWriter], sources) -> None:
    """``base``'s rows of each column, a block at a time, and its sources."""
    dtypes = {store.CODES: "float32", store.THUMBNAILS: "uint8", store.LABELS: "int64"}
    for name, column in columns.items():
        stored = base.rows(name, dtypes[name])
        for start in range(0, base.count, store.BLOCK_ROWS):
            column.write(stored[start:start + store.BLOCK_ROWS])
    sources.write("".join(f"{name}\n" for name in base.sources).encode())
