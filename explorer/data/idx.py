"""IDX files, the format MNIST and Fashion-MNIST ship in; raw, or gzip-compressed when the name
ends in ``.gz``.

Layout (http://yann.lecun.com/exdb/mnist/): the magic number ``00 00 <type> <ndims>``, then
``ndims`` big-endian uint32 sizes, then the items in C order, big-endian. Types: 0x08 uint8,
0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from explorer.data.dataset import DEFAULT_MAX_BYTES, check_float32_size, size_limit_error
from explorer.errors import DataError

IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CHUNK = 1 << 22  # bytes per read: bounded memory per call, few Python-level iterations


def read_idx(path: str | Path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> np.ndarray:
    """The array stored in an IDX file, native byte order, shape as its header declares.

    Refuses (with :class:`DataError`) a wrong magic number, a header declaring more than
    ``max_bytes`` of data (None: no limit) or more values than a dataset may hold as float32
    (:data:`~explorer.limits.MAX_DATASET_BYTES`, always), a file shorter or longer than its header
    declares (an uncompressed one before anything is allocated), and corrupt gzip data.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with _open_for_read(path) as stream:
            dtype, shape, header_bytes = _read_header(stream, path)
            n_bytes = math.prod(shape) * dtype.itemsize
            if max_bytes is not None and n_bytes > max_bytes:
                raise size_limit_error(path, n_bytes, max_bytes)
            check_float32_size(path, math.prod(shape))  # what the images become, even from trusted files
            if not _is_gzip(path):  # its length is known: refuse a wrong one before allocating
                _check_length(path, path.stat().st_size, header_bytes + n_bytes, shape)
            array = _read_payload(stream, path, dtype, shape, header_bytes)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt or unreadable ({error}); download or copy the file "
                        "again") from None
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``), atomically:
    readers never see a half-written file."""
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    code = next((c for c, t in IDX_TYPES.items() if t.newbyteorder("=") == native), None)
    if code is None or not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions of uint8, int8, int16, int32, float32 "
                         f"or float64, not {array.ndim} dimensions of {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw:
            # mtime=0 keeps .gz output byte-identical across runs
            stream = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if _is_gzip(path) else raw
            with stream:
                stream.write(header)
                stream.write(payload)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open_for_read(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _read_header(stream: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """(item dtype, shape, header length in bytes) from the magic number and the sizes."""
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES or magic[3] == 0:
        raise DataError(f"{path}: not an IDX file (magic 0x{magic.hex() or 'empty'}; expected "
                        "0x0000 followed by a type byte 08..0e and the number of dimensions)")
    ndims = magic[3]
    sizes = stream.read(4 * ndims)
    header_bytes = 4 + 4 * ndims
    if len(sizes) < 4 * ndims:
        raise DataError(f"{path}: truncated: expected at least {header_bytes} header bytes, "
                        f"found {4 + len(sizes)}")
    return IDX_TYPES[magic[2]], struct.unpack(f">{ndims}I", sizes), header_bytes


def _read_payload(stream: BinaryIO, path: Path, dtype: np.dtype, shape: tuple[int, ...],
                  header_bytes: int) -> np.ndarray:
    """Read exactly the declared items straight into the array (no intermediate bytes copy)."""
    array = np.empty(shape, dtype=dtype)
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    expected = len(buffer)
    found = 0
    while found < expected:
        n_read = stream.readinto(buffer[found:found + _CHUNK])
        if not n_read:
            break
        found += n_read
    _check_length(path, header_bytes + found + len(stream.read(1)), header_bytes + expected, shape)
    return array


def _check_length(path: Path, found: int, declared: int, shape: tuple[int, ...]) -> None:
    if found < declared:
        raise DataError(f"{path}: truncated: expected {declared} bytes, found {found}")
    if found > declared:
        raise DataError(f"{path}: has data after the {declared} bytes its header declares (shape {shape}); "
                        "the file is damaged or not an IDX file")


def read_idx_pair(images_path: Path, labels_path: Path | None, *,
                  max_bytes: int | None = DEFAULT_MAX_BYTES
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """(images, labels or None) from an images file and its optional labels file, refusing
    labels that are not one-dimensional or whose count differs from the images'."""
    images = read_idx(images_path, max_bytes=max_bytes)
    if labels_path is None:
        return images, None
    labels = read_idx(labels_path, max_bytes=max_bytes)
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: labels must be one-dimensional, found shape "
                        f"{labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels; use the labels file that belongs to these images")
    return images, labels
