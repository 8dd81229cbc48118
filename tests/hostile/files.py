"""Hostile files, written byte by byte where a library would refuse to write them: .npy headers that
declare what is not there, zip entries that lie about their size, PNGs of 12000x12000 pixels in a
few kilobytes. Every builder streams, so none of them allocates what the file declares.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def npy(shape, descr: str = "|u1", data: bytes = b"", fortran: bool = False) -> bytes:
    """An .npy file: a valid header declaring ``shape`` of ``descr``, followed by ``data`` only."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    return buffer.getvalue() + data


def npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zeros_npz(path: Path, shape, dtype=np.uint8) -> Path:
    """A valid .npz whose x is ``shape`` of zeros, deflated as it is written: a big array, a small file."""
    n_bytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            member.write(npy(shape, np.dtype(dtype).str))
            chunk = bytes(1 << 22)
            for start in range(0, n_bytes, len(chunk)):
                member.write(chunk[:min(len(chunk), n_bytes - start)])
    return path


def lie_about_sizes(path: Path, declared: int = 0xFFFFFFF0) -> Path:
    """Patch every member's uncompressed size, in its local header and the central directory."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        while start != -1:
            data[start + offset:start + offset + 4] = struct.pack("<I", declared)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    return path


def png(width: int, height: int, text_bytes: int = 0) -> bytes:
    """A black 1-bit PNG of ``width`` x ``height``, compressed row by row: 12000 x 12000 is ~20 kB;
    with a compressed text chunk (zTXt) that inflates to ``text_bytes`` if asked."""
    compressor, row = zlib.compressobj(9), bytes(1 + (width + 7) // 8)  # filter byte, then the bits
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    if text_bytes:
        compressor = zlib.compressobj(9)
        text = b"".join(compressor.compress(bytes(1 << 20)) for _ in range(text_bytes >> 20)) + compressor.flush()
        header += _chunk(b"zTXt", b"Comment\0\0" + text)
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def image_bytes(size=(8, 8), mode="L", kind="PNG", value=128) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, value).save(buffer, kind)
    return buffer.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header is patched to declare ``width`` x ``height``."""
    data = bytearray(image_bytes(kind="JPEG"))
    frame = data.find(b"\xff\xc0")
    data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def idx_header(dims, type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def record_change(path: str, value):
    """A change to the record: ``value`` at the dotted ``path``, or the key removed for ``...``."""
    def change(record):
        *parents, key = path.split(".")
        for parent in parents:
            record = record[parent]
        if value is ...:
            del record[key]
        else:
            record[key] = value
    return change
