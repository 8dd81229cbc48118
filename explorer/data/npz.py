"""Arrays from an ``.npz`` without ``np.load``: each ``.npy`` header is read first, and what it declares
(dtype, shape, bytes) is checked against the limits and against the archive before an array exists.

``np.load`` would allocate whatever a header declares (a 10^12-element header: 931 GiB) and, with
``allow_pickle``, run pickled code; here object arrays are refused from their header, never read.
"""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from explorer.data.dataset import size_limit_error
from explorer.errors import DataError, one_line
from explorer.limits import MAX_FILES, ZIP_ERRORS, zip_member_count

KINDS = "biufU"  # booleans, integers, floats, and text for labels
_CHUNK = 1 << 22


@dataclass(frozen=True)
class Header:
    """What one member's ``.npy`` header declares."""
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # where the data starts in the member

    @property
    def n_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


Check = Callable[[dict[str, Header]], None]  # refuses, from the headers alone, what a caller cannot take


def read_npz(path: Path, keys: tuple[str, ...], max_bytes: int, check: Check | None = None
             ) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays named ``keys`` that ``path`` holds, and the names of all its arrays.

    Refused with :class:`DataError` before reading any data: a damaged archive, more than ``max_bytes``
    declared in all, a dtype outside :data:`KINDS` (pickled objects included), a header that
    disagrees with its member's size. ``check(headers)`` may refuse more from the headers alone.
    """
    try:
        with open(path, "rb") as raw:
            if zip_member_count(raw) > MAX_FILES:
                raise DataError(f"{path}: holds more than {MAX_FILES:,} files; not an .npz of image arrays")
            with zipfile.ZipFile(raw) as archive:
                return _read_arrays(archive, path, keys, max_bytes, check)
    except ZIP_ERRORS + (ValueError,) as error:  # numpy's header parser raises ValueError
        raise DataError(f"{path}: not a readable .npz ({one_line(error)}); save it with np.savez") from None


def _read_arrays(archive: zipfile.ZipFile, path: Path, keys: tuple[str, ...], max_bytes: int,
                 check: Check | None) -> tuple[dict[str, np.ndarray], list[str]]:
    members = {n[:-4]: archive.getinfo(n) for n in archive.namelist() if n.endswith(".npy")}
    present = [key for key in keys if key in members]
    headers = {}
    for key in present:
        with archive.open(members[key]) as stream:
            headers[key] = _header(stream, members[key], path)
    declared = sum(header.n_bytes for header in headers.values())
    if declared > max_bytes:
        raise size_limit_error(path, declared, max_bytes)
    if check is not None:
        check(headers)
    for key in present:
        _check_fills(headers[key], members[key], path)
    arrays = {}
    for key in present:
        with archive.open(members[key]) as stream:
            arrays[key] = _payload(stream, headers[key], f"{path}:{members[key].filename}")
    return arrays, sorted(members)


def _header(stream: BinaryIO, info: zipfile.ZipInfo, path: Path) -> Header:
    """The member's header, refused unless its data is plain numbers or text."""
    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read(stream)
    name = f"{path}:{info.filename}"
    if dtype.hasobject:
        raise DataError(f"{name}: holds Python objects (pickled data), which are never loaded; save numbers, "
                        "e.g. x.astype(np.uint8)")
    if dtype.kind not in KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f"{name}: arrays of dtype {dtype} are not images or labels; save integers or floats "
                        "(and labels as integers or strings)")
    return Header(tuple(shape), dtype, fortran_order, stream.tell())


def _check_fills(header: Header, info: zipfile.ZipInfo, path: Path) -> None:
    if header.offset + header.n_bytes != info.file_size:
        raise DataError(f"{path}:{info.filename}: its header declares {header.n_bytes:,} bytes of {header.dtype} "
                        f"{header.shape} but the archive holds {info.file_size - header.offset:,}; the file is "
                        "damaged, save it again")


def _payload(stream: BinaryIO, header: Header, name: str) -> np.ndarray:
    """Exactly the declared bytes, read into the array itself (no copy), then one more read, which
    is the end of the member and makes zipfile check its CRC."""
    stream.read(header.offset)
    shape = header.shape[::-1] if header.fortran_order else header.shape
    array = np.empty(shape, header.dtype)
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    found = 0
    while found < len(buffer):
        n_read = stream.readinto(buffer[found:found + _CHUNK])
        if not n_read:
            raise DataError(f"{name}: truncated after {found:,} of {len(buffer):,} bytes; save the file again")
        found += n_read
    if stream.read(1):
        raise DataError(f"{name}: has data after its array; the file is damaged, save it again")
    return array.T if header.fortran_order else array
