"""User data from arrays: .npz files and IDX pairs; shapes, scaling, labels, split, refusals."""
import zipfile

import numpy as np
import pytest

from explorer.data import DataError, load_dataset, load_user_data, write_idx
from explorer.data.dataset import split_indices
from tests.conftest import refused


def save_npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_npz_uint8_nhw_is_scaled_and_split_as_documented(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(10, 5, 6), dtype=np.uint8)
    x[0, 0, 0], x[1, 0, 0] = 0, 255
    data = load_user_data(save_npz(tmp_path, x=x), seed=3)
    train, test = split_indices(10, seed=3)
    assert (len(train), len(test)) == (8, 2)
    assert data.name == "upload:data.npz" and data.source == str(tmp_path / "data.npz")
    assert data.x_train.shape == (8, 1, 5, 6) and data.x_test.shape == (2, 1, 5, 6)
    assert data.x_train.dtype == np.float32 and data.x_train.flags.c_contiguous
    np.testing.assert_array_equal(data.x_train[:, 0], x[train].astype(np.float32) / 255)
    np.testing.assert_array_equal(data.x_test[:, 0], x[test].astype(np.float32) / 255)
    assert data.y_train is None and data.class_names == () and data.n_classes == 0
    assert data.describe() == "upload:data.npz: 8 train + 2 test images of (1, 5, 6), unlabeled"


def test_split_depends_on_seed_only(tmp_path):
    path = save_npz(tmp_path, x=np.arange(20 * 4, dtype=np.uint8).reshape(20, 2, 2))
    a, b, c = (load_user_data(path, seed=s) for s in (0, 0, 1))
    assert a.fingerprint == b.fingerprint and a.fingerprint != c.fingerprint
    assert len(c.x_train) == 16 and len(c.x_test) == 4


def test_npz_nhwc_colour_floats_become_nchw(tmp_path):
    x = np.random.default_rng(2).random((5, 4, 3, 3))  # (N, H, W, C) float64 in [0, 1)
    data = load_user_data(save_npz(tmp_path, x=x))
    train, _ = split_indices(5, seed=0)
    assert data.input_shape == (3, 4, 3)
    np.testing.assert_array_equal(data.x_train, x[train].transpose(0, 3, 1, 2).astype(np.float32))


def test_npz_flat_square_rows_become_images(tmp_path):
    x = np.linspace(0, 1, 4 * 16).reshape(4, 16)
    data = load_user_data(save_npz(tmp_path, x=x))
    assert data.input_shape == (1, 4, 4)
    train, _ = split_indices(4, seed=0)
    np.testing.assert_allclose(data.x_train.reshape(len(train), 16), x[train], rtol=1e-6)


def test_npz_labels_become_sorted_classes(tmp_path):
    x = np.zeros((6, 2, 2), dtype=np.uint8)
    y = np.array([7, 3, 7, 3, 3, 7])
    data = load_user_data(save_npz(tmp_path, x=x, y=y))
    assert data.class_names == ("3", "7") and data.n_classes == 2
    train, test = split_indices(6, seed=0)
    np.testing.assert_array_equal(data.y_train, (y[train] == 7).astype(np.int64))
    np.testing.assert_array_equal(data.y_test, (y[test] == 7).astype(np.int64))


def test_npz_string_labels(tmp_path):
    path = save_npz(tmp_path, x=np.zeros((4, 2, 2)), y=np.array(["dog", "cat", "dog", "cat"]))
    assert load_user_data(path).class_names == ("cat", "dog")


def test_npz_nan_refused(tmp_path):
    x = np.full((4, 3, 3), 0.5)
    x[2, 1, 1] = np.nan
    refused(save_npz(tmp_path, x=x), "NaN")


def test_npz_inf_refused(tmp_path):
    x = np.full((4, 3, 3), 0.5)
    x[0, 0, 0] = np.inf
    refused(save_npz(tmp_path, x=x), "inf")


def test_npz_floats_up_to_255_refused(tmp_path):
    x = np.random.default_rng(3).integers(0, 256, (4, 3, 3)).astype(np.float32)
    x[0, 0, 0] = 255
    refused(save_npz(tmp_path, x=x), "values outside [0,1]", "255", "divide")


def test_npz_integers_beyond_255_refused(tmp_path):
    refused(save_npz(tmp_path, x=np.array([[[0, 300]], [[1, 2]]], dtype=np.int32)),
            "values outside [0,1]", "0..255", "0..300")


def test_npz_non_square_flat_rows_refused(tmp_path):
    refused(save_npz(tmp_path, x=np.zeros((4, 15))), "can't infer an image shape", "(4, 15)")


def test_npz_without_x_lists_what_it_found(tmp_path):
    refused(save_npz(tmp_path, x_train=np.zeros((4, 2, 2)), y_train=np.zeros(4)),
            "no array named 'x'", "x_train, y_train")


def test_npz_label_count_mismatch_refused(tmp_path):
    refused(save_npz(tmp_path, x=np.zeros((4, 2, 2)), y=np.zeros(3, dtype=int)),
            "labels of shape (3,)", "4 images")


def test_npz_pickled_objects_are_never_loaded(tmp_path):
    refused(save_npz(tmp_path, x=np.array([{"a": 1}, None], dtype=object)), "pickled data", "never loaded")


def test_npz_single_image_refused(tmp_path):
    refused(save_npz(tmp_path, x=np.zeros((1, 2, 2))), "need at least 2")


def test_npz_declared_size_over_limit_refused(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x=np.zeros((100, 10, 10), dtype=np.uint8))  # 10 kB, compresses well
    assert path.stat().st_size < 1000  # the declared uncompressed size is what counts
    refused(path, "exceeds the 1,000-byte limit", "max_bytes", max_bytes=1000)


def test_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"not a zip file at all")
    refused(path, "not a readable .npz")


def test_idx_pair_as_user_data(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (10, 4, 4), dtype=np.uint8)
    write_idx(tmp_path / "my-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "my-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8) % 2 + 5)
    data = load_user_data(tmp_path / "my-images-idx3-ubyte.gz")
    train, _ = split_indices(10, seed=0)
    assert data.class_names == ("5", "6") and data.input_shape == (1, 4, 4)
    np.testing.assert_array_equal(data.y_train, train % 2)
    np.testing.assert_array_equal(data.x_train[:, 0], images[train] / np.float32(255))


def test_idx_images_without_labels_are_unlabeled(tmp_path):
    write_idx(tmp_path / "a-images-idx3-ubyte", np.zeros((3, 2, 2), dtype=np.uint8))
    assert load_user_data(tmp_path / "a-images-idx3-ubyte").y_train is None


def test_idx_pair_count_mismatch_names_both_files(tmp_path):
    images, labels = tmp_path / "b-images-idx3-ubyte", tmp_path / "b-labels-idx1-ubyte"
    write_idx(images, np.zeros((4, 2, 2), dtype=np.uint8))
    write_idx(labels, np.zeros(3, dtype=np.uint8))
    refused(images, str(labels), "4 images", "3 labels")


def test_idx_declared_size_over_limit(tmp_path):
    path = tmp_path / "c-images-idx3-ubyte"
    write_idx(path, np.zeros((20, 10, 10), dtype=np.uint8))
    refused(path, "2,000 bytes", "1,000-byte limit", max_bytes=1000)


def test_load_dataset_reads_paths_and_refuses_unknown_ones(tmp_path):
    path = save_npz(tmp_path, x=np.zeros((3, 2, 2), dtype=np.uint8))
    assert load_dataset(path).name == "upload:data.npz"
    assert load_dataset(str(path)).x_train.shape == (2, 1, 2, 2)
    with pytest.raises(DataError) as error:
        load_dataset(str(tmp_path / "missing.npz"))
    assert "missing.npz" in str(error.value) and "digits, fashion-mnist, mnist" in str(error.value)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    refused(path, "unsupported file type")


def test_zip_member_read_is_capped_even_if_headers_lie(tmp_path):
    from explorer.data.images import read_member_capped
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.png", bytes(5000))
    with zipfile.ZipFile(path) as archive, pytest.raises(DataError) as error:
        read_member_capped(archive, archive.getinfo("big.png"), path, budget=1000)
    assert f"{path}:big.png" in str(error.value) and "1,000-byte limit" in str(error.value)
