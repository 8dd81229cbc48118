"""An index folder: codes, where each came from, labels, thumbnails, the engine's files and a manifest.

Written as a whole by :mod:`explorer.atomic_folder` (a kill leaves the old folder or the new one).
Read trusting nothing: the manifest is bounded and checked, every other file must have the size and
sha256 the manifest records before it is parsed, and array headers must declare the recorded shape.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer import atomic_folder
from explorer.errors import DataError, one_line, shown
from explorer.limits import read_at_most

FORMAT = "autoencoder-explorer index"
FORMAT_VERSION = 1
MANIFEST, CODES, SOURCES = "manifest.json", "codes.npy", "sources.txt"
LABELS, THUMBNAILS = "labels.npy", "thumbnails.npy"
MAX_MANIFEST_BYTES = 1 << 20
MAX_ITEMS = 50_000_000   # codes in one index folder
MAX_CODE_DIM = 4096
MAX_FILE_BYTES = 16 << 30  # one file of an index folder: far above 1M codes with thumbnails (about 1 GB)
BLOCK_ROWS = 65536  # rows per read of a file's column: 7.5 MB of 30-D float32 codes
HASH_BLOCK = 1 << 20  # bytes hashed at a time


@dataclass
class Collection:
    """What an index folder holds (the engine is loaded apart, by :func:`open_index`). The thumbnails are
    memory-mapped, so only those shown are read."""
    codes: np.ndarray              # (N, K) float32
    sources: list[str]             # (N,) relative paths, zip members, or "<split>/<row>"
    labels: np.ndarray | None      # (N,) int64 class numbers, or None
    thumbnails: np.ndarray | None  # (N, C, h, w) uint8, or None
    manifest: dict[str, Any]
    engine_files: dict[str, Path] = field(default_factory=dict)  # checked against the manifest

    @property
    def class_names(self) -> list[str]:
        return self.manifest.get("class_names", [])


class NpyWriter:
    """An .npy file of ``shape`` written a block of rows at a time, so that a column of any length never
    sits in memory whole; :meth:`close` checks every row came and fsyncs it."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype):
        self.path, self.shape, self.dtype, self.rows = path, tuple(shape), np.dtype(dtype), 0
        self.handle = open(path, "wb")
        np.lib.format.write_array_header_1_0(self.handle, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                           "fortran_order": False, "shape": self.shape})

    def write(self, block: np.ndarray) -> None:
        self.handle.write(np.ascontiguousarray(block, self.dtype).tobytes())
        self.rows += len(block)

    def close(self) -> Path:
        if self.rows != self.shape[0]:
            raise ValueError(f"{self.path.name}: {self.rows} rows written of {self.shape[0]}")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return self.path


class NpyRows:
    """The (N, K) rows of an .npy file read a block at a time by plain reads, never mapped (a memory
    map's pages count in the process's RSS while it is mapped): ``rows[a:b]`` reads rows a..b-1,
    ``rows[indices]`` those rows, ``np.asarray(rows)`` all of them."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, int], dtype="float32"):
        self.path, self.offset, self.shape, self.dtype = Path(path), offset, tuple(shape), np.dtype(dtype)
        self.row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize

    @classmethod
    def of(cls, path: Path) -> "NpyRows":
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            shape, _, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)(handle)
            return cls(path, handle.tell(), shape, dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(len(self))
            count = max(0, stop - start)
            return np.fromfile(self.path, self.dtype, count * self.row_bytes // self.dtype.itemsize,
                               offset=self.offset + start * self.row_bytes).reshape(count, *self.shape[1:])
        rows = np.asarray(rows, np.int64)
        order = np.argsort(rows, kind="stable")
        taken = np.empty((len(rows), *self.shape[1:]), self.dtype)
        for start in range(0, len(self), BLOCK_ROWS):  # each block read once, its wanted rows kept
            inside = order[(rows[order] >= start) & (rows[order] < start + BLOCK_ROWS)]
            if len(inside):
                taken[inside] = self[start:start + BLOCK_ROWS][rows[inside] - start]
        return taken

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[0:len(self)]
        return whole if dtype is None else whole.astype(dtype, copy=False)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def write(folder: Path, files: dict[str, bytes | Path], manifest: dict[str, Any], count: int, code_dim: int) -> None:
    """Replace ``folder`` with ``files`` (bytes, or files on disk moved in) and their manifest, atomically."""
    manifest = {**manifest, "format": FORMAT, "format_version": FORMAT_VERSION, "count": count, "code_dim": code_dim,
                "files": {name: _record(data) for name, data in files.items()}}
    try:
        atomic_folder.replace(folder, {**files, MANIFEST: json.dumps(manifest, indent=1).encode()},
                              complete=is_index, check=check_target)
    except OSError as error:
        raise DataError(f"could not write {folder} ({one_line(error)}); any index that was there is "
                        "unchanged") from None


def _record(data: bytes | Path) -> dict[str, Any]:
    """A file's size and sha256; a file on disk is read a block at a time."""
    if not isinstance(data, Path):
        return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with open(data, "rb") as handle:
        return _digest(handle, MAX_FILE_BYTES)


def _digest(handle, limit: int) -> dict[str, Any]:
    """Size and sha256 of what ``handle`` holds, read a block at a time up to ``limit + 1`` bytes."""
    digest, size = hashlib.sha256(), 0
    while size <= limit and (block := handle.read(min(HASH_BLOCK, limit + 1 - size))):
        digest.update(block)
        size += len(block)
    return {"bytes": size, "sha256": digest.hexdigest()}


def is_index(folder: Path) -> bool:
    return (folder / MANIFEST).is_file() and (folder / CODES).is_file()


def check_target(folder: Path) -> None:
    """Refuse to replace a file, a link or a folder that holds something other than an index."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()) or (
            folder.is_dir() and any(folder.iterdir()) and not is_index(folder)):
        raise DataError(f"{folder} is not an index folder and is left as it is; name a new or empty folder for --out")


def read_manifest(folder: Path) -> dict[str, Any]:
    """The checked manifest of the index folder ``folder`` (restored if a write was killed midway)."""
    folder = atomic_folder.restore(Path(folder), is_index)
    try:
        with open(folder / MANIFEST, "rb") as handle:
            data = read_at_most(handle, MAX_MANIFEST_BYTES)
        manifest = json.loads(data) if len(data) <= MAX_MANIFEST_BYTES else None
    except FileNotFoundError:
        raise DataError(f"{folder}: not an index folder (no {MANIFEST}); build one with "
                        "python -m explorer index") from None
    except (OSError, ValueError, RecursionError) as error:
        raise DataError(f"{folder}: {MANIFEST} is unreadable ({one_line(error)}); rebuild the index") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise DataError(f"{folder}: {MANIFEST} {problem}; rebuild the index with python -m explorer index")
    return manifest


def _manifest_problem(manifest: Any) -> str | None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return "is not an index manifest of this app"
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"has format version {shown(manifest.get('format_version'))}, not {FORMAT_VERSION}"
    count, dim, files = manifest.get("count"), manifest.get("code_dim"), manifest.get("files")
    if not (isinstance(count, int) and 0 < count <= MAX_ITEMS and isinstance(dim, int) and 0 < dim <= MAX_CODE_DIM):
        return f"declares {shown(count)} codes of {shown(dim)} dimensions, outside 1..{MAX_ITEMS:,} x 1..{MAX_CODE_DIM}"
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("bytes"), int) and 0 <= v["bytes"] <= MAX_FILE_BYTES
            and isinstance(v.get("sha256"), str) for v in files.values()) or CODES not in files:
        return "has no valid list of files"
    return None


def checked_path(folder: Path, manifest: dict[str, Any], name: str) -> Path:
    """The path of a file of the index folder, refused unless its size and sha256 (read a block at a time)
    are the manifest's."""
    limit = manifest["files"][name]["bytes"]
    _verify(folder, manifest, name, _opened(folder, name, lambda handle: _digest(handle, limit)))
    return folder / name


def read_file(folder: Path, manifest: dict[str, Any], name: str) -> bytes:
    """A file of the index folder, refused unless its size and sha256 are the manifest's."""
    data = _opened(folder, name, lambda handle: read_at_most(handle, manifest["files"][name]["bytes"]))
    _verify(folder, manifest, name, _record(data))
    return data


def _opened(folder: Path, name: str, read):
    try:
        with open(folder / name, "rb") as handle:
            return read(handle)
    except FileNotFoundError:
        raise DataError(f"{folder}: {name} is missing; rebuild the index with python -m explorer index") from None
    except OSError as error:
        raise DataError(f"{folder}: {name} cannot be read ({one_line(error)})") from None


def _verify(folder: Path, manifest: dict[str, Any], name: str, found: dict[str, Any]) -> None:
    record = manifest["files"][name]
    if found != {"bytes": record["bytes"], "sha256": record["sha256"]}:
        raise DataError(f"{folder}: {name} is damaged (its size or checksum is not the manifest's); rebuild the "
                        "index with python -m explorer index")


def npy_rows(folder: Path, manifest: dict[str, Any], name: str, dtype: str, shape_start: tuple[int, ...]) -> NpyRows:
    """A checked .npy file of the index folder, refused unless it is ``dtype`` and its shape starts
    ``shape_start``; its rows are read when they are asked for."""
    path = checked_path(folder, manifest, name)
    try:
        rows = NpyRows.of(path)
    except (ValueError, OSError) as error:
        raise DataError(f"{folder}: {name} is not an array file ({one_line(error)})") from None
    if rows.dtype != np.dtype(dtype) or tuple(rows.shape[:len(shape_start)]) != shape_start or (
            rows.offset + len(rows) * rows.row_bytes != manifest["files"][name]["bytes"]):
        raise DataError(f"{folder}: {name} holds {rows.dtype} {rows.shape}, not the manifest's {dtype} {shape_start}; "
                        "rebuild it")
    return rows


def sources(folder: Path, manifest: dict[str, Any]) -> list[str]:
    names = read_file(folder, manifest, SOURCES).decode("utf-8", "replace").split("\n")[:-1]
    if len(names) != manifest["count"]:
        raise DataError(f"{folder}: {SOURCES} lists {len(names)} items, not the manifest's {manifest['count']}; "
                        "rebuild it")
    return names


def read(folder: Path) -> Collection:
    """The index folder's codes, sources, labels and thumbnails, each checked against the manifest."""
    folder = atomic_folder.restore(Path(folder), is_index)
    manifest = read_manifest(folder)
    count, dim, files = manifest["count"], manifest["code_dim"], manifest["files"]
    codes = np.asarray(npy_rows(folder, manifest, CODES, "float32", (count, dim)))
    labels = np.asarray(npy_rows(folder, manifest, LABELS, "int64", (count,))) if LABELS in files else None
    thumbnails = None
    if THUMBNAILS in files:
        stored = npy_rows(folder, manifest, THUMBNAILS, "uint8", (count,))
        thumbnails = np.memmap(stored.path, np.uint8, "r", stored.offset, stored.shape)
    engine_files = {name: checked_path(folder, manifest, name) for name in files
                    if name not in (CODES, SOURCES, LABELS, THUMBNAILS)}
    return Collection(codes, sources(folder, manifest), labels, thumbnails, manifest, engine_files)
