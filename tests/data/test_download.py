"""download() without a network: files are served from a file:// URL or a patched opener."""
import gzip
import hashlib
import importlib
import io

import numpy as np
import pytest

from explorer.data import DataError, download, load_dataset, registry, write_idx
from explorer.data.download import RemoteFile, Source

# explorer.data.download is the function, which shadows the module of the same name
download_module = importlib.import_module("explorer.data.download")

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A tiny Fashion-MNIST served from tmp_path/server via file://, with its md5s registered."""
    root = tmp_path / "server"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 5), ("t10k", 3)):
        write_idx(root / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 4, 4),
                                                                       dtype=np.uint8))
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    files = tuple(RemoteFile(n, "md5:" + hashlib.md5((root / n).read_bytes()).hexdigest())
                  for n in NAMES)
    monkeypatch.setitem(download_module.SOURCES, "fashion-mnist",
                        Source(root.as_uri() + "/", files))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(registry.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(registry, "SYSTEM_DATA_DIR", tmp_path / "system")
    return root


def test_matching_checksums_write_the_files_where_load_looks(server, tmp_path):
    dest = download("fashion-mnist")
    assert dest == tmp_path / "cache" / "autoencoder-explorer" / "fashion-mnist"
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)  # no temp files left
    for name in NAMES:
        assert (dest / name).read_bytes() == (server / name).read_bytes()
    data = load_dataset("fashion-mnist")
    assert data.source == str(dest) and data.x_train.shape == (5, 1, 4, 4)


def test_explicit_destination(server, tmp_path):
    dest = download("fashion-mnist", tmp_path / "mine")
    assert dest == tmp_path / "mine" and len(list(dest.iterdir())) == 4


def test_checksum_mismatch_raises_and_leaves_no_file(server, tmp_path, monkeypatch):
    source = download_module.SOURCES["fashion-mnist"]
    wrong = RemoteFile(NAMES[2], "md5:" + "0" * 32)
    files = source.files[:2] + (wrong,) + source.files[3:]
    monkeypatch.setitem(download_module.SOURCES, "fashion-mnist", Source(source.base_url, files))
    with pytest.raises(DataError) as error:
        download("fashion-mnist", tmp_path / "dest")
    message = str(error.value)
    assert "\n" not in message and NAMES[2] in message and "md5 checksum" in message
    assert "does not match the expected " + "0" * 32 in message
    assert "apt-get install -y dataset-fashion-mnist" in message and "--data-dir" in message
    # The two files before it were verified and kept; the bad one left nothing behind.
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == sorted(NAMES[:2])


def test_corrupted_bytes_in_transit_detected(server, tmp_path, monkeypatch):
    real_open = download_module._open_url

    def flip_a_byte(url):
        data = bytearray(real_open(url).read())
        data[-1] ^= 0xFF
        return io.BytesIO(bytes(data))

    monkeypatch.setattr(download_module, "_open_url", flip_a_byte)
    with pytest.raises(DataError, match="checksum"):
        download("fashion-mnist", tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_network_failure_says_what_else_to_do(server, tmp_path, monkeypatch):
    source = download_module.SOURCES["fashion-mnist"]
    offline = Source((tmp_path / "nowhere").as_uri() + "/", source.files)
    monkeypatch.setitem(download_module.SOURCES, "fashion-mnist", offline)
    with pytest.raises(DataError) as error:
        download("fashion-mnist", tmp_path / "dest")
    message = str(error.value)
    assert "\n" not in message and message.startswith("could not download file://")
    assert "apt-get install -y dataset-fashion-mnist" in message
    assert list((tmp_path / "dest").iterdir()) == []


def test_present_verified_files_are_not_fetched_again(server, tmp_path, monkeypatch):
    download("fashion-mnist", tmp_path / "dest")

    def no_network(url):
        raise OSError("network must not be used")

    monkeypatch.setattr(download_module, "_open_url", no_network)
    assert download("fashion-mnist", tmp_path / "dest") == tmp_path / "dest"
    (tmp_path / "dest" / NAMES[1]).write_bytes(gzip.compress(b"damaged"))
    with pytest.raises(DataError, match="network must not be used"):
        download("fashion-mnist", tmp_path / "dest")  # the damaged file is fetched again


def test_endless_response_is_cut_off(server, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "MAX_DOWNLOAD_BYTES", 10)
    with pytest.raises(DataError, match="more than 10 bytes"):
        download("fashion-mnist", tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_digits_and_unknown_names_are_not_downloadable():
    with pytest.raises(DataError, match="cannot download 'digits'.*fashion-mnist, mnist"):
        download("digits")


def test_official_checksums_are_the_published_ones():
    fashion = {f.name: f.checksum for f in download_module.SOURCES["fashion-mnist"].files}
    assert fashion["train-images-idx3-ubyte.gz"] == "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    mnist = download_module.SOURCES["mnist"]
    assert mnist.base_url == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert all(len(f.checksum) == 4 + 32 for s in download_module.SOURCES.values() for f in s.files)
