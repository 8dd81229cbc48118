"""Hostile files through the core's entry points, continued (see test_core.py): zip members named
outside the archive, links and FIFOs in folders (3), and corrupt, empty and truncated files of every
format read: .npz and the .npy inside, IDX raw and gzipped, PNG/JPEG in archives and as queries,
safetensors, checkpoint zips (4).
"""
from __future__ import annotations

import io
import os
import pickle
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.checkpoint import CONFIG, WEIGHTS, zip_bytes
from tests.hostile import files
from tests.hostile.conftest import refused, spoiled, with_weights


# --- 3. zip traversal and links: nothing is read or written outside -----------------------------

@pytest.mark.parametrize("name", ["../../evil.png", "/tmp/evil.png", "cats/../../evil.png", "..\\evil.png"])
def test_image_zip_members_named_outside_the_archive(call, tmp_path, name):
    path = files.write_zip(tmp_path / "trip.zip", {name: files.image_bytes(), "b.png": files.image_bytes()})
    refused(call("tests.hostile.cases:load_data", path), "DataError", "named outside the archive")
    assert not any(p.exists() for p in (Path("/tmp/evil.png"), tmp_path.parent / "evil.png",
                                        tmp_path.parents[1] / "evil.png"))


def test_image_zip_member_that_is_a_link(call, tmp_path):
    link = zipfile.ZipInfo("a.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(link, "/etc/passwd")
        archive.writestr("b.png", files.image_bytes())
    refused(call("tests.hostile.cases:load_data", path), "DataError", "a.png is a link")


@pytest.mark.parametrize("name", ["../model.safetensors", "/abs/config.json"])
def test_checkpoint_zip_members_named_outside_the_archive(call, tmp_path, good_checkpoint, name):
    members = {n: (good_checkpoint / n).read_bytes() for n in (WEIGHTS, CONFIG)}
    members[name] = members.pop(Path(name).name)
    path = files.write_zip(tmp_path / "trip.zip", members)
    refused(call("tests.hostile.cases:load_checkpoint_zip", path), "CheckpointError", "named outside")


@pytest.mark.parametrize("target", ["/etc/hostname", "/dev/zero", "outside"])
def test_image_folder_with_a_link_to_outside(call, tmp_path, target):
    (tmp_path / "outside").write_bytes(files.image_bytes())
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "b.png").write_bytes(files.image_bytes())
    (folder / "a.png").symlink_to(tmp_path / target if target == "outside" else target)
    refused(call("tests.hostile.cases:load_data", folder), "DataError", "a.png is a link", "outside the folder")


def test_image_folder_with_a_fifo_named_like_an_image(call, tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "b.png").write_bytes(files.image_bytes())
    os.mkfifo(folder / "a.png")  # reading it would block for ever
    refused(call("tests.hostile.cases:load_data", folder, timeout=60), "DataError", "a.png is not a regular file")


def test_image_folder_with_a_link_loop_is_read_once(call, tmp_path):
    folder = tmp_path / "pics"
    (folder / "cats").mkdir(parents=True)
    (folder / "dogs").mkdir()
    for name in ("cats/a.png", "cats/b.png", "dogs/a.png", "dogs/b.png"):
        (folder / name).write_bytes(files.image_bytes())
    (folder / "cats" / "loop").symlink_to(folder)
    outcome = call("tests.hostile.cases:load_data", folder)
    assert outcome.crash is None and outcome.error is None, outcome
    assert outcome.result.startswith("upload:pics: 3 train + 1 test images") and outcome.peak_mb < 1024


# --- 4. corrupt, empty and truncated files of every format read ---------------------------------

def _npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.arange(4 * 8 * 8, dtype=np.uint8).reshape(4, 8, 8), y=np.arange(4))
    return buffer.getvalue()


def _flipped(data: bytes, at: float) -> bytes:
    spoilt = bytearray(data)
    spoilt[int(len(data) * at)] ^= 0xFF
    return bytes(spoilt)


DAMAGED_DATA = [
    ("empty.npz", lambda: b"", "not a readable .npz"),
    ("half.npz", lambda: _npz_bytes()[:len(_npz_bytes()) // 2], "not a readable .npz"),
    ("flipped.npz", lambda: _flipped(_npz_bytes(), 0.3), "data.npz"),
    ("garbage.npz", lambda: os.urandom(4096), "not a readable .npz"),
    ("short-member.npz", lambda: zip_bytes({"x.npy": files.npy((4, 8, 8), data=bytes(100))}), "declares 256 bytes"),
    ("long-member.npz", lambda: zip_bytes({"x.npy": files.npy((4, 8, 8), data=bytes(300))}), "declares 256 bytes"),
    ("bad-header.npz", lambda: zip_bytes({"x.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': 3}    \n"}), "not a readable"),
    ("bad-version.npz", lambda: zip_bytes({"x.npy": b"\x93NUMPY\x09\x09" + bytes(20)}), "not a readable"),
    ("complex.npz", lambda: zip_bytes({"x.npy": files.npy_of(np.zeros((4, 2, 2), np.complex64))}), "dtype complex64"),
    ("structured.npz", lambda: zip_bytes({"x.npy": files.npy_of(np.zeros(4, "u1,f4"))}), "are not images"),
    ("empty-images-idx3-ubyte", lambda: b"", "not an IDX file"),
    ("header-images-idx3-ubyte", lambda: files.idx_header((4, 8, 8))[:9], "truncated"),
    ("short-images-idx3-ubyte", lambda: files.idx_header((4, 8, 8)) + bytes(100), "truncated"),
    ("long-images-idx3-ubyte", lambda: files.idx_header((4, 8, 8)) + bytes(300), "data after"),
    ("bad-images-idx3-ubyte.gz", lambda: b"\x1f\x8b\x08\x00" + os.urandom(200), "corrupt or unreadable"),
    ("cut-images-idx3-ubyte.gz", lambda: _gzip(files.idx_header((4, 8, 8)) + bytes(256))[:30], "images-idx3"),
    ("empty.zip", lambda: b"", "not a readable zip"),
    ("half.zip", lambda: zip_bytes({"a.png": files.image_bytes(), "b.png": files.image_bytes()})[:150],
     "not a readable zip"),
    ("zero-png.zip", lambda: zip_bytes({"a.png": b"", "b.png": files.image_bytes()}), "a.png is not a readable"),
    ("cut-png.zip", lambda: zip_bytes({"a.png": files.image_bytes()[:40], "b.png": files.image_bytes()}), "a.png"),
    ("flipped-png.zip", lambda: zip_bytes({"a.png": _flipped(files.image_bytes((32, 32)), 0.7),
                                            "b.png": files.image_bytes((32, 32))}), "a.png"),
    ("cut-jpeg.zip", lambda: zip_bytes({"a.jpg": files.image_bytes(kind="JPEG")[:200],
                                         "b.jpg": files.image_bytes(kind="JPEG")}), "a.jpg"),
    ("gif-as-png.zip", lambda: zip_bytes({"a.png": files.image_bytes(kind="GIF"), "b.png": files.image_bytes()}),
     "a.png is not a readable PNG or JPEG"),
]


def _gzip(data: bytes) -> bytes:
    import gzip
    return gzip.compress(data)


@pytest.mark.parametrize("name, make, expected", DAMAGED_DATA, ids=[d[0] for d in DAMAGED_DATA])
def test_damaged_user_data(call, tmp_path, name, make, expected):
    path = tmp_path / ("data.npz" if name.endswith(".npz") else name)
    path.write_bytes(make())
    refused(call("tests.hostile.cases:load_data", path), "DataError", expected)


DAMAGED_QUERIES = [
    ("empty.png", lambda: b"", "is not an image file"),
    ("cut.png", lambda: files.image_bytes((64, 64))[:60], "is damaged"),
    ("flipped.png", lambda: _flipped(files.image_bytes((64, 64)), 0.6), "is damaged"),
    ("cut.jpg", lambda: files.image_bytes((64, 64), kind="JPEG")[:100], "is damaged"),
    ("garbage.png", lambda: os.urandom(2048), "is not an image file"),
    ("tiff.png", lambda: files.image_bytes(kind="TIFF"), "is not an image file"),
]


@pytest.mark.parametrize("name, make, expected", DAMAGED_QUERIES, ids=[d[0] for d in DAMAGED_QUERIES])
def test_damaged_query_image(call, tmp_path, name, make, expected):
    path = tmp_path / name
    path.write_bytes(make())
    message = refused(call("tests.hostile.cases:query_image", path), "DataError", name, expected)
    assert "BytesIO" not in message


def _safetensors_header(length: int) -> bytes:
    return length.to_bytes(8, "little") + b"{}"


DAMAGED_WEIGHTS = [
    ("empty", lambda good: b"", "not a valid safetensors file"),
    ("half", lambda good: good[:len(good) // 2], "not a valid safetensors file"),
    ("huge header", lambda good: _safetensors_header(2**62), "not a valid safetensors file"),
    ("garbage", lambda good: os.urandom(4096), "not a valid safetensors file"),
    ("pickle", lambda good: pickle.dumps({"a": 1}), "not a valid safetensors file"),
    ("nan", lambda good: _tensors(good, lambda t: t.fill_(float("nan"))), "NaN or infinite"),
    ("complex", lambda good: _tensors(good, lambda t: t.to(torch.complex64)), "stored as torch.complex64"),
    ("float8", lambda good: _tensors(good, lambda t: t.to(torch.float8_e4m3fn)), "stored as torch.float8_e4m3fn"),
    ("infinite half", lambda good: _tensors(good, lambda t: t.half().fill_(float("inf"))), "NaN or infinite"),
    ("wrong shape", lambda good: _tensors(good, lambda t: t[:1]), "do not match a deep_ae"),
]


def _tensors(good: bytes, change) -> bytes:
    from safetensors.torch import load, save as save_tensors
    return save_tensors({name: change(tensor).contiguous() for name, tensor in load(good).items()})


@pytest.mark.parametrize("name, make, expected", DAMAGED_WEIGHTS, ids=[d[0] for d in DAMAGED_WEIGHTS])
def test_damaged_weights(call, tmp_path, good_checkpoint, name, make, expected):
    folder = with_weights(good_checkpoint, tmp_path, make((good_checkpoint / WEIGHTS).read_bytes()))
    refused(call("tests.hostile.cases:load_checkpoint", folder), "CheckpointError", expected)


def _checkpoint_zip(good: Path, **members) -> bytes:
    return zip_bytes({**{n: (good / n).read_bytes() for n in (WEIGHTS, CONFIG)}, **members})


DAMAGED_ZIPS = [
    ("empty", lambda good: b"", "not a zip file this app can read"),
    ("half", lambda good: _checkpoint_zip(good)[:400], "not a zip file this app can read"),
    ("flipped", lambda good: _flipped(_checkpoint_zip(good), 0.2), "m.zip"),
    ("no weights", lambda good: zip_bytes({CONFIG: (good / CONFIG).read_bytes()}), "found 0 model.safetensors"),
    ("two configs", lambda good: _checkpoint_zip(good, **{"other/config.json": b"{}"}), "found 2 config.json"),
]


@pytest.mark.parametrize("name, make, expected", DAMAGED_ZIPS, ids=[d[0] for d in DAMAGED_ZIPS])
def test_damaged_checkpoint_zip(call, tmp_path, good_checkpoint, name, make, expected):
    path = tmp_path / "m.zip"
    path.write_bytes(make(good_checkpoint))
    refused(call("tests.hostile.cases:load_checkpoint_zip", path), "CheckpointError", "m.zip", expected)


def test_checkpoint_folder_with_weights_missing(call, tmp_path, good_checkpoint):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: None)
    (folder / WEIGHTS).unlink()
    refused(call("tests.hostile.cases:load_checkpoint", folder), "CheckpointError", "not a checkpoint folder")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_checkpoint_weights_that_are_links_to_endless_devices(call, tmp_path, good_checkpoint, target):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: None)
    (folder / WEIGHTS).unlink()
    (folder / WEIGHTS).symlink_to(target)
    refused(call("tests.hostile.cases:load_checkpoint", folder, timeout=60), "CheckpointError",
            "not a checkpoint folder")


def test_checkpoint_files_that_are_fifos(call, tmp_path, good_checkpoint):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: None)
    (folder / CONFIG).unlink()
    os.mkfifo(folder / CONFIG)
    refused(call("tests.hostile.cases:load_checkpoint", folder, timeout=60), "CheckpointError",
            "not a checkpoint folder")
