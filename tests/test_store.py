"""The uint8 training-image store: exact conversion, a memory-mapped .npy read a batch at a time, its checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data import ImageDataset
from explorer.data.dataset import unit_images
from explorer.data.store import (STORE_TEST_IMAGES, TrainingImages, compact, create_store, open_store,
                                 stored_dataset, training_images)
from explorer.errors import DataError
from explorer.training import train
from tests.conftest import make_image_dataset, tiny_config


def uint8_images(n=50, shape=(6, 5), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def write_store(path, images: np.ndarray):
    store = create_store(path, len(images), images.shape[1:])
    store[:] = images
    store.flush()
    return path


def test_a_batch_of_a_mapped_store_is_the_float32_of_its_rows_bitwise(tmp_path):
    images = uint8_images()
    mapped = open_store(write_store(tmp_path / "s.npy", images))
    assert isinstance(mapped, np.memmap) and mapped.shape == (50, 6, 5) and not mapped.flags.writeable
    store = training_images(mapped, torch.device("cpu"))
    index = torch.tensor([7, 0, 49, 7])
    batch = store.batch(index)
    assert batch.dtype == torch.float32 and batch.shape == (4, 1, 6, 5)
    assert np.array_equal(batch.numpy(), unit_images(images[[7, 0, 49, 7]]))


def test_a_split_of_stored_images_maps_positions_to_rows_without_copying(tmp_path):
    images = uint8_images()
    store = training_images(open_store(write_store(tmp_path / "s.npy", images)), torch.device("cpu"))
    part = store.subset(torch.tensor([10, 20, 30]))
    inner = part.subset(torch.tensor([2, 0]))
    assert len(part) == 3 and part.images is store.images
    assert np.array_equal(inner.batch(torch.tensor([0, 1])).numpy(), unit_images(images[[30, 10]]))
    assert np.array_equal(part.whole().numpy(), unit_images(images[[10, 20, 30]]))


def test_the_mean_image_of_a_split_is_read_a_chunk_at_a_time_and_is_exact(tmp_path, monkeypatch):
    monkeypatch.setattr("explorer.data.store.MEAN_CHUNK", 7)  # the 24 images: 3 full chunks and a short one
    images = uint8_images()
    store = training_images(open_store(write_store(tmp_path / "s.npy", images)), torch.device("cpu"))
    part = store.subset(torch.arange(3, 50, 2))
    expected = unit_images(images[3:50:2]).astype(np.float64).mean(0)
    assert part.mean_image().shape == (1, 6, 5)
    assert np.allclose(part.mean_image().numpy(), expected, atol=1e-6)


def test_float_images_in_memory_are_shared_on_the_cpu():
    x = unit_images(uint8_images())
    store = training_images(x, torch.device("cpu"))
    assert store.images.data_ptr() == x.ctypes.data and store.images.dtype == torch.float32


def test_compact_keeps_idx_data_as_exact_uint8_and_other_data_as_it_is():
    idx_like = torch.from_numpy(unit_images(uint8_images()))
    codes = compact(idx_like)
    assert codes.dtype == torch.uint8 and codes.nbytes * 4 == idx_like.nbytes
    assert torch.equal(TrainingImages(codes, torch.device("cpu")).whole(), idx_like)
    sixteenths = torch.arange(17, dtype=torch.float32).reshape(1, 1, 1, 17) / 16  # digits: k / 16
    assert compact(sixteenths) is sixteenths


def test_stored_dataset_holds_out_a_seeded_sorted_test_sample_and_trains_on_the_rest(tmp_path):
    images = uint8_images(n=40)
    path = write_store(tmp_path / "s.npy", images)
    data = stored_dataset(path, seed=3)
    rows = data.x_train.rows.numpy()
    test = [i for i in range(40) if i not in set(rows)]
    assert len(data.x_test) == 8 and len(data.x_train) == 32 and np.all(np.diff(rows) > 0)
    assert np.array_equal(data.x_test, unit_images(images[test]))
    assert data.input_shape == (1, 6, 5) and data.n_classes == 0 and data.y_train is None
    assert np.array_equal(stored_dataset(path, seed=3).x_train.rows.numpy(), rows)
    assert not np.array_equal(stored_dataset(path, seed=4).x_train.rows.numpy(), rows)


def test_the_test_sample_of_a_large_store_is_capped(tmp_path):
    n = 5 * STORE_TEST_IMAGES + 10
    path = write_store(tmp_path / "s.npy", np.zeros((n, 2, 2), np.uint8))
    data = stored_dataset(path)
    assert len(data.x_test) == STORE_TEST_IMAGES and len(data.x_train) == n - STORE_TEST_IMAGES


@pytest.mark.parametrize("array, expected", [
    (np.zeros((4, 3, 3), np.float32), "holds float32"),
    (np.zeros((4, 3), np.uint8), r"not shape \(4, 3\)"),
    (np.zeros((1, 3, 3), np.uint8), "at least 2 images"),
    (np.asfortranarray(np.zeros((4, 3, 3), np.uint8)), "Fortran order"),
])
def test_open_store_refuses_what_is_not_a_store_in_one_line(tmp_path, array, expected):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=expected) as error:
        open_store(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_open_store_refuses_a_header_declaring_more_than_the_file_holds(tmp_path):
    path = write_store(tmp_path / "s.npy", uint8_images())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="more than the file holds"):
        open_store(path)


def test_open_store_refuses_a_file_that_is_not_npy(tmp_path):
    path = tmp_path / "s.npy"
    path.write_bytes(b"PK\x03\x04 not numpy")
    with pytest.raises(DataError, match="not a readable .npy store"):
        open_store(path)
    with pytest.raises(DataError, match="not a readable .npy store"):
        open_store(tmp_path / "absent.npy")


def test_create_store_refuses_shapes_past_its_bounds(tmp_path):
    with pytest.raises(DataError, match="exceed the store's bounds"):
        create_store(tmp_path / "s.npy", 10, (5000, 5000))
    assert not (tmp_path / "s.npy").exists()


def test_training_from_a_mapped_store_is_training_from_the_same_images_in_memory(tmp_path):
    bars = make_image_dataset(n_train=64)
    codes = np.rint(bars.x_train[:, 0] * 255).astype(np.uint8)
    stored = stored_dataset(write_store(tmp_path / "bars.npy", codes))
    rows = stored.x_train.rows.numpy()
    in_memory = ImageDataset("bars", unit_images(codes[rows]), None, stored.x_test, None, (), "tests")
    config = tiny_config("deep_ae", epochs=2, batch_size=8)
    from_store, from_memory = (train(data, config, device="cpu", seed=0) for data in (stored, in_memory))
    for name, value in from_memory.model.state_dict().items():
        assert torch.equal(from_store.model.state_dict()[name], value), name
    assert [r["val_sq_err"] for r in from_store.history] == [r["val_sq_err"] for r in from_memory.history]


def test_a_closed_form_fit_reads_the_whole_store_split(tmp_path):
    codes = uint8_images(n=40, shape=(4, 4))
    stored = stored_dataset(write_store(tmp_path / "s.npy", codes))
    pca = train(stored, tiny_config("pca", latent_dim=2), device="cpu").model
    assert pca.mean.shape == (16,) and float(pca.mean.max()) <= 1.0 and float(pca.explained_variance[0]) > 0
