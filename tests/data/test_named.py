"""Named datasets: digits, Fashion-MNIST from the Debian files, the search order, status, the
cache, the fingerprint, and importing without heavy dependencies."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.data import (DataError, ImageDataset, dataset_status, list_datasets, load_dataset,
                           write_idx)
from explorer.data import registry
from explorer.data.dataset import split_indices

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """System and cache dirs inside tmp_path, no EXPLORER_DATA_DIR: nothing real is found."""
    monkeypatch.delenv(registry.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(registry, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def write_idx_set(directory: Path, n_train: int, n_test: int = 2) -> Path:
    """Four tiny gzip IDX files; n_train tells the test which directory was read."""
    rng = np.random.default_rng(n_train)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(directory / f"{split}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 3, 3), dtype=np.uint8))
        write_idx(directory / f"{split}-labels-idx1-ubyte.gz",
                  rng.integers(0, 10, n, dtype=np.uint8))
    return directory


def test_digits_split_shapes_range_and_labels():
    digits = registry.load_digits(dataset_status("digits").location)
    assert digits.x_train.shape == (1437, 1, 8, 8) and digits.x_test.shape == (360, 1, 8, 8)
    assert digits.x_train.dtype == np.float32 and digits.x_train.flags.c_contiguous
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0  # 0..16 divided by 16
    assert set(np.unique(digits.y_train)) == set(range(10)) and digits.y_train.dtype == np.int64
    assert digits.class_names == tuple("0123456789") and digits.input_shape == (1, 8, 8)
    train, test = split_indices(1797, seed=0)
    from sklearn.datasets import load_digits  # read here without it; the same numbers
    bunch = load_digits()
    np.testing.assert_array_equal(digits.y_test, bunch.target[test])
    np.testing.assert_array_equal(digits.x_test[:, 0], (bunch.images[test] / 16).astype(np.float32))
    assert digits.describe() == ("digits: 1437 train + 360 test images of (1, 8, 8), 10 classes "
                                 "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)")


def test_digits_fingerprint_stable_and_data_sensitive():
    location = dataset_status("digits").location
    first, second = registry.load_digits(location), registry.load_digits(location)
    assert first is not second and first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64
    changed = first.x_train.copy()
    changed[0, 0, 0, 0] += 1 / 16
    edited = ImageDataset("digits", changed, first.y_train, first.x_test, first.y_test,
                          first.class_names, "test")
    assert edited.fingerprint != first.fingerprint
    relabelled = ImageDataset("digits", first.x_train, first.y_train, first.x_test,
                              (first.y_test + 1) % 10, first.class_names, "test")
    assert relabelled.fingerprint != first.fingerprint


def test_arrays_are_read_only_so_the_cache_cannot_be_corrupted():
    digits = load_dataset("digits")
    assert load_dataset("digits") is digits  # cached in-process
    with pytest.raises(ValueError):
        digits.x_train[0, 0, 0, 0] = 5.0


IMPORT_AND_FINGERPRINT = """
import sys
import numpy as np
import explorer.data as data
heavy = [m for m in ("torch", "streamlit", "sklearn") if m in sys.modules]
x = np.arange(2 * 4, dtype=np.float32).reshape(2, 1, 2, 2) / 8
ds = data.ImageDataset("t", x, np.array([0, 1]), x[:1], np.array([1]), ("a", "b"), "test")
print(heavy, ds.fingerprint)
"""


def test_import_is_light_and_fingerprint_is_stable_across_processes():
    result = subprocess.run([sys.executable, "-c", IMPORT_AND_FINGERPRINT], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2], check=True)
    heavy, fingerprint = result.stdout.rsplit(" ", 1)
    assert heavy == "[]"
    x = np.arange(2 * 4, dtype=np.float32).reshape(2, 1, 2, 2) / 8
    here = ImageDataset("t", x, np.array([0, 1]), x[:1], np.array([1]), ("a", "b"), "test")
    assert fingerprint.strip() == here.fingerprint
    # Pinned: checkpoints store fingerprints, so changing the scheme must be deliberate.
    assert here.fingerprint == PINNED_FINGERPRINT


PINNED_FINGERPRINT = "f85f2d4f863309beca449020056625a3604f4a28647b8e6ce623e6c0d573999c"


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason="needs the Debian package: apt-get install -y dataset-fashion-mnist")
def test_fashion_mnist_from_debian_files(isolated, monkeypatch):
    monkeypatch.setattr(registry, "SYSTEM_DATA_DIR", DEBIAN_FASHION.parent)
    assert dataset_status("fashion-mnist").location == str(DEBIAN_FASHION)
    fashion = load_dataset("fashion-mnist")
    assert fashion.x_train.shape == (60000, 1, 28, 28)
    assert fashion.x_test.shape == (10000, 1, 28, 28)
    assert fashion.x_train.dtype == np.float32 and fashion.x_train.flags.c_contiguous
    assert fashion.x_train.min() == 0.0 and fashion.x_train.max() == 1.0
    assert fashion.n_classes == 10 and fashion.class_names[0] == "T-shirt/top"
    assert fashion.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(np.bincount(fashion.y_train), [6000] * 10)  # balanced classes
    np.testing.assert_array_equal(np.bincount(fashion.y_test), [1000] * 10)
    assert fashion.source == str(DEBIAN_FASHION)


def test_search_order_data_dir_then_env_then_system_then_cache(isolated, monkeypatch):
    explicit = write_idx_set(isolated / "explicit", n_train=3)
    env = write_idx_set(isolated / "env" / "mnist", n_train=5)  # <dir>/<name> form
    system = write_idx_set(isolated / "system" / "mnist", n_train=7)
    cache = write_idx_set(isolated / "cache" / "autoencoder-explorer" / "mnist", n_train=9)
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(isolated / "env"))
    assert len(load_dataset("mnist", data_dir=explicit).x_train) == 3
    assert dataset_status("mnist", data_dir=explicit).location == str(explicit)
    assert len(load_dataset("mnist").x_train) == 5
    assert load_dataset("mnist").source == str(env)
    monkeypatch.delenv(registry.DATA_DIR_ENV)
    assert load_dataset("mnist").source == str(system)
    assert len(load_dataset("mnist").x_train) == 7
    for path in system.iterdir():
        path.unlink()
    assert len(load_dataset("mnist").x_train) == 9
    assert dataset_status("mnist").location == str(cache)


def test_subfolder_named_after_the_dataset_beats_the_folder_itself(isolated):
    write_idx_set(isolated / "data", n_train=4)
    write_idx_set(isolated / "data" / "fashion-mnist", n_train=6)
    assert len(load_dataset("fashion-mnist", data_dir=isolated / "data").x_train) == 6
    assert len(load_dataset("mnist", data_dir=isolated / "data").x_train) == 4


def test_missing_dataset_status_and_error_say_how_to_get_it(isolated):
    status = dataset_status("fashion-mnist")
    assert not status.available and status.location is None
    assert "apt-get install -y dataset-fashion-mnist" in status.hint
    assert "--data-dir" in status.hint and "EXPLORER_DATA_DIR" in status.hint
    assert "python -m explorer download fashion-mnist" in status.hint
    assert str(isolated / "system" / "fashion-mnist") in status.hint
    with pytest.raises(DataError) as error:
        load_dataset("fashion-mnist")
    assert "\n" not in str(error.value) and "'fashion-mnist' is not available" in str(error.value)


def test_incomplete_directory_does_not_count(isolated):
    directory = write_idx_set(isolated / "partial", n_train=3)
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    assert not dataset_status("mnist", data_dir=directory).available


def test_list_datasets_reports_every_registered_name(isolated):
    statuses = {s.name: s for s in list_datasets()}
    assert list(statuses) == ["digits", "fashion-mnist", "mnist"]
    assert statuses["digits"].available and statuses["digits"].location.endswith("digits.csv.gz")
    assert not statuses["mnist"].available


def test_unknown_name(isolated):
    with pytest.raises(DataError) as error:
        load_dataset("cifar-10")
    message = str(error.value)
    assert "\n" not in message and "'cifar-10'" in message
    assert "digits, fashion-mnist, mnist" in message
    with pytest.raises(DataError, match="unknown dataset 'cifar-10'; choose one of: digits"):
        dataset_status("cifar-10")


def test_labels_beyond_class_names_refused(isolated):
    directory = write_idx_set(isolated / "bad", n_train=3)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.array([0, 1, 12], dtype=np.uint8))
    with pytest.raises(DataError) as error:
        load_dataset("mnist", data_dir=directory)
    assert "train-labels-idx1-ubyte.gz" in str(error.value) and "12" in str(error.value)
