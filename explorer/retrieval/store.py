"""An index folder: codes, where each came from, labels, thumbnails, the engine's files and a manifest.

Written as a whole by :mod:`explorer.atomic_folder` (a kill leaves the old folder or the new one).
Read trusting nothing: the manifest is bounded and checked, every other file must have the size and
sha256 the manifest records before it is parsed, and array headers must declare the recorded shape.
"""
from __future__ import annotations

import hashlib
import io
import json
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


@dataclass
class Collection:
    """What an index folder holds, in memory (the engine is loaded apart, by :func:`open_index`)."""
    codes: np.ndarray              # (N, K) float32
    sources: list[str]             # (N,) relative paths, zip members, or "<split>/<row>"
    labels: np.ndarray | None      # (N,) int64 class numbers, or None
    thumbnails: np.ndarray | None  # (N, C, h, w) uint8, or None
    manifest: dict[str, Any]
    engine_files: dict[str, bytes] = field(default_factory=dict)  # checked against the manifest
    prebuilt: dict[str, bytearray] = field(default_factory=dict)  # .npy files whose data the arrays above view

    @property
    def class_names(self) -> list[str]:
        return self.manifest.get("class_names", [])


class NpyFile:
    """An .npy file's bytes made before its data: ``array`` views the data part of ``data``, so filling
    the array fills the file, and the file is written without a second copy of the array in memory."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype):
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                      "fortran_order": False, "shape": tuple(shape)})
        offset = len(header.getvalue())
        self.data = bytearray(offset + int(np.prod(shape)) * np.dtype(dtype).itemsize)
        self.data[:offset] = header.getvalue()
        self.array = np.frombuffer(self.data, dtype, offset=offset).reshape(shape)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def write(folder: Path, collection: Collection, engine_files: dict[str, bytes]) -> None:
    """Replace ``folder`` with ``collection`` and ``engine_files``, atomically."""
    arrays = {CODES: collection.codes.astype(np.float32, copy=False), THUMBNAILS: collection.thumbnails,
              LABELS: None if collection.labels is None else collection.labels.astype(np.int64, copy=False)}
    files = {name: collection.prebuilt.get(name) or npy_bytes(array) for name, array in arrays.items()
             if array is not None}
    files.update({SOURCES: "".join(f"{source}\n" for source in collection.sources).encode(), **engine_files})
    manifest = {**collection.manifest, "format": FORMAT, "format_version": FORMAT_VERSION,
                "count": len(collection.codes), "code_dim": int(collection.codes.shape[1]),
                "files": {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                          for name, data in files.items()}}
    files[MANIFEST] = json.dumps(manifest, indent=1).encode()
    try:
        atomic_folder.replace(folder, files, complete=is_index, check=check_target)
    except OSError as error:
        raise DataError(f"could not write {folder} ({one_line(error)}); any index that was there is "
                        "unchanged") from None


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


def read_file(folder: Path, manifest: dict[str, Any], name: str) -> bytes:
    """A file of the index folder, refused unless its size and sha256 are the manifest's."""
    record = manifest["files"][name]
    try:
        with open(folder / name, "rb") as handle:
            data = read_at_most(handle, record["bytes"])
    except FileNotFoundError:
        raise DataError(f"{folder}: {name} is missing; rebuild the index with python -m explorer index") from None
    except OSError as error:
        raise DataError(f"{folder}: {name} cannot be read ({one_line(error)})") from None
    if len(data) != record["bytes"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise DataError(f"{folder}: {name} is damaged (its size or checksum is not the manifest's); rebuild the "
                        "index with python -m explorer index")
    return data


def _array(data: bytes, name: str, dtype: str, shape_start: tuple[int, ...], folder: Path) -> np.ndarray:
    """An .npy whose checksum matched, refused unless it is ``dtype`` and its shape starts ``shape_start``."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, declared = header(stream)
    except ValueError as error:
        raise DataError(f"{folder}: {name} is not an array file ({one_line(error)})") from None
    if declared != np.dtype(dtype) or fortran or tuple(shape[:len(shape_start)]) != shape_start or (
            np.prod(shape) * declared.itemsize != len(data) - stream.tell()):
        raise DataError(f"{folder}: {name} holds {declared} {shape}, not the manifest's {dtype} {shape_start}; "
                        "rebuild it")
    return np.frombuffer(data, declared, offset=stream.tell()).reshape(shape)


def read(folder: Path) -> Collection:
    """The index folder's codes, sources, labels and thumbnails, each checked against the manifest."""
    folder = atomic_folder.restore(Path(folder), is_index)
    manifest = read_manifest(folder)
    count, dim, files = manifest["count"], manifest["code_dim"], manifest["files"]
    codes = _array(read_file(folder, manifest, CODES), CODES, "float32", (count, dim), folder).copy()  # writable
    sources = read_file(folder, manifest, SOURCES).decode("utf-8", "replace").split("\n")[:-1]
    if len(sources) != count:
        raise DataError(f"{folder}: {SOURCES} lists {len(sources)} items, not the manifest's {count}; rebuild it")
    labels = _array(read_file(folder, manifest, LABELS), LABELS, "int64", (count,), folder) if LABELS in files else None
    thumbnails = (_array(read_file(folder, manifest, THUMBNAILS), THUMBNAILS, "uint8", (count,), folder)
                  if THUMBNAILS in files else None)
    engine_files = {name: read_file(folder, manifest, name) for name in files
                    if name not in (CODES, SOURCES, LABELS, THUMBNAILS)}
    return Collection(codes, sources, labels, thumbnails, manifest, engine_files)
