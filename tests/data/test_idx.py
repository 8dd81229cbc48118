"""IDX reading and writing: round trips, and one refusal per kind of damage."""
import gzip
import struct

import numpy as np
import pytest

from explorer.data import DataError, read_idx, write_idx
from explorer.data.idx import read_idx_pair


def one_line_naming(error: pytest.ExceptionInfo, *names) -> str:
    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert str(name) in message
    return message


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_uint8_round_trip(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write_idx(path, images)
    back = read_idx(path)
    assert back.dtype == np.uint8 and back.shape == (7, 5, 3)
    np.testing.assert_array_equal(back, images)
    assert back.flags.writeable
    raw = gzip.decompress(path.read_bytes()) if suffix else path.read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", raw[4:16]) == (7, 5, 3)
    assert len(raw) == 16 + 7 * 5 * 3


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_other_types_round_trip_in_native_byte_order(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / "a.idx.gz", array)
    back = read_idx(tmp_path / "a.idx.gz")
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_gz_output_is_byte_identical_across_writes(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", labels)
    write_idx(tmp_path / "b.gz", labels)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert [p.name for p in tmp_path.iterdir()].count("a.gz") == 1  # no temp files left


def test_write_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.complex64))


def test_wrong_magic(tmp_path):
    path = tmp_path / "image.idx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError) as error:
        read_idx(path)
    message = one_line_naming(error, path, "not an IDX file")
    assert "0x89504e47" in message


def test_truncated(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    write_idx(path, np.ones((4, 3, 3), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])  # 16 header + 36 data bytes, minus 10
    with pytest.raises(DataError) as error:
        read_idx(path)
    one_line_naming(error, path, "truncated: expected 52 bytes, found 42")


def test_truncated_header(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + bytes(5))  # 3 dimensions need 12 size bytes
    with pytest.raises(DataError) as error:
        read_idx(path)
    one_line_naming(error, path, "truncated")


def test_trailing_garbage(tmp_path):
    path = tmp_path / "labels.idx.gz"
    write_idx(path, np.arange(5, dtype=np.uint8))
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b"extra"))
    with pytest.raises(DataError) as error:
        read_idx(path)
    one_line_naming(error, path, "has data after the 13 bytes its header declares")


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((50, 8, 8), dtype=np.uint8))
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)  # zero the second half
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as error:
        read_idx(path)
    one_line_naming(error, path, "corrupt")


def test_not_gzip_despite_suffix(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"plain text, not gzip")
    with pytest.raises(DataError) as error:
        read_idx(path)
    one_line_naming(error, path, "corrupt")


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as error:
        read_idx(tmp_path / "absent.idx")
    one_line_naming(error, tmp_path / "absent.idx", "no such file")


def test_declared_size_over_limit_refused_before_reading(tmp_path):
    path = tmp_path / "huge.idx"
    # A 16-byte header claiming 1000 x 1000 x 1000 uint8 items: refused, never allocated.
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 1000, 1000, 1000))
    with pytest.raises(DataError) as error:
        read_idx(path, max_bytes=1000)
    one_line_naming(error, path, "1,000,000,000 bytes", "1,000-byte limit", "max_bytes")


def test_image_and_label_count_mismatch(tmp_path):
    images, labels = tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte"
    write_idx(images, np.zeros((6, 2, 2), dtype=np.uint8))
    write_idx(labels, np.zeros(5, dtype=np.uint8))
    with pytest.raises(DataError) as error:
        read_idx_pair(images, labels)
    one_line_naming(error, images, labels, "6 images", "5 labels")
