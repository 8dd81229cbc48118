"""Hostile files through the core's entry points (user data, checkpoints, query images, build), as the
CLI and the app call them. Each case ends in one of our errors with a one-line message, under 1 GB of
RSS, in a worker limited to 2 GB of address space (conftest.py), and leaves every earlier file as it was.

Here: declared sizes trusted before checking (1), malformed checkpoint configs (2), pickles inside
.npz (5). Zip traversal, links and damaged files (3, 4) are in test_core_files.py; kill -9 during a
save in test_core_save.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from explorer.checkpoint import CONFIG, WEIGHTS
from tests.hostile import files
from tests.hostile.conftest import refused, spoiled


# --- 1. declared sizes trusted before checking --------------------------------------------------

def test_npz_header_declaring_a_trillion_values(call, tmp_path):
    path = files.write_zip(tmp_path / "huge.npz", {"x.npy": files.npy((10**12,), data=bytes(64))})
    refused(call("tests.hostile.cases:load_data", path), "DataError", "huge.npz",
            "1,000,000,000,000 bytes uncompressed exceeds the 209,715,200-byte limit")


@pytest.mark.parametrize("shape, descr", [((10**6, 10**6), "<f8"), ((10, 1), "<U100000000"),
                                          ((2**40, 2**40, 2**40), "|u1")])
def test_npz_headers_declaring_more_than_the_limit(call, tmp_path, shape, descr):
    path = files.write_zip(tmp_path / "big.npz", {"x.npy": files.npy(shape, descr)})
    refused(call("tests.hostile.cases:load_data", path), "DataError", "big.npz", "limit")


def test_npz_whose_float32_copy_would_exceed_the_limit(call, tmp_path):
    path = files.zeros_npz(tmp_path / "zeros.npz", (80 * 2**20 // 64, 8, 8))  # 80 MB of uint8 in 80 kB
    assert path.stat().st_size < 2**20
    refused(call("tests.hostile.cases:load_data", path), "DataError", "as float32", "fewer or smaller")


def test_npz_members_declaring_four_gigabytes(call, tmp_path):
    path = files.write_zip(tmp_path / "lies.npz", {"x.npy": files.npy_of(np.zeros((4, 2, 2), np.uint8))})
    files.lie_about_sizes(path)
    refused(call("tests.hostile.cases:load_data", path), "DataError", "lies.npz")


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 3, (10**8, 1, 1), (60000, 28, 28, 255)])
def test_idx_headers_declaring_more_than_the_limit(call, tmp_path, dims):
    path = tmp_path / "evil-images-idx3-ubyte"
    path.write_bytes(files.idx_header(dims) + bytes(16))
    refused(call("tests.hostile.cases:load_data", path), "DataError", "limit")


def test_gzipped_idx_declaring_more_than_it_holds(call, tmp_path):
    import gzip
    path = tmp_path / "short-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(files.idx_header((60000, 28, 28)) + bytes(1000)))
    refused(call("tests.hostile.cases:load_data", path), "DataError", "truncated")


@pytest.mark.parametrize("width, height", [(12000, 12000), (20000, 20000), (5000, 5000), (100_000, 200)])
def test_query_png_with_too_many_pixels(call, tmp_path, width, height):
    path = tmp_path / "bomb.png"
    path.write_bytes(files.png(width, height))
    assert path.stat().st_size < 2**20
    refused(call("tests.hostile.cases:query_image", path), "DataError", "bomb.png", "too many pixels")


def test_png_whose_text_chunk_inflates_past_pils_bound(call, tmp_path):
    path = tmp_path / "text.png"
    path.write_bytes(files.png(8, 8, text_bytes=2**25))  # 32 kB on disk, 32 times PIL's text chunk limit
    refused(call("tests.hostile.cases:query_image", path), "DataError", "text.png", "is damaged")
    zipped = files.write_zip(tmp_path / "text.zip", {"a.png": path.read_bytes(), "b.png": files.image_bytes()})
    refused(call("tests.hostile.cases:load_data", zipped), "DataError", "a.png", "Decompressed")


def test_query_jpeg_declaring_too_many_pixels(call, tmp_path):
    path = tmp_path / "bomb.jpg"
    path.write_bytes(files.jpeg_declaring(65000, 65000))
    refused(call("tests.hostile.cases:query_image", path), "DataError", "bomb.jpg", "too many pixels")


def test_image_zip_holding_a_12000_square_png(call, tmp_path):
    path = files.write_zip(tmp_path / "bomb.zip", {"a.png": files.png(12000, 12000),
                                                    "b.png": files.image_bytes()})
    refused(call("tests.hostile.cases:load_data", path), "DataError", "a.png", "too many pixels")


def test_image_folder_holding_a_5000_square_png(call, tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(files.png(5000, 5000))
    (tmp_path / "pics" / "b.png").write_bytes(files.image_bytes())
    refused(call("tests.hostile.cases:load_data", tmp_path / "pics"), "DataError", "too many pixels")


def test_images_whose_float32_copy_would_exceed_the_limit(call, tmp_path):
    big = files.png(4096, 4096)  # each within the per-image bound; five of them are 336 MB as float32
    path = files.write_zip(tmp_path / "five.zip", {f"{i}.png": big for i in range(5)})
    refused(call("tests.hostile.cases:load_data", path), "DataError", "as float32", "fewer or smaller")


@pytest.mark.slow
def test_the_largest_image_set_accepted_stays_under_the_rss_bound(call, tmp_path):
    big = files.png(4096, 4096)  # four are exactly the float32 limit, 256 MiB
    outcome = call("tests.hostile.cases:load_data", files.write_zip(tmp_path / "four.zip",
                                                                            {f"{i}.png": big for i in range(4)}))
    assert outcome.error is None and outcome.crash is None and "(1, 4096, 4096)" in outcome.result
    assert outcome.peak_mb < 1024, outcome.peak_mb


def test_image_zip_members_declaring_four_gigabytes(call, tmp_path):
    path = files.write_zip(tmp_path / "lies.zip", {"a.png": files.image_bytes(), "b.png": files.image_bytes()})
    files.lie_about_sizes(path)
    refused(call("tests.hostile.cases:load_data", path), "DataError", "lies.zip", "exceeds")


@pytest.mark.parametrize("suffix, module, entry, error", [
    (".zip", "explorer.data.images", "load_data", "DataError"), (".npz", "explorer.data.npz", "load_data", "DataError"),
    (".zip", "explorer.checkpoint", "load_checkpoint_zip", "CheckpointError")])
def test_archives_with_more_members_than_the_limit(call, tmp_path, suffix, module, entry, error):
    path = files.write_zip(tmp_path / f"many{suffix}", {f"{i}.png": b"" for i in range(11)})
    refused(call("tests.hostile.cases:with_limit", module, "MAX_FILES", 10, entry, path), error,
            "more than 10 files")


def test_idx_labels_declaring_more_than_the_limit(call, tmp_path):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(files.idx_header((4, 8, 8)) + bytes(256))
    (tmp_path / "x-labels-idx1-ubyte").write_bytes(files.idx_header((2**32 - 1,)))
    refused(call("tests.hostile.cases:load_data", tmp_path / "x-images-idx3-ubyte"), "DataError",
            "x-labels-idx1-ubyte", "limit")


@pytest.mark.parametrize("hidden", ["1000000000", "5000000", "4000,4000,4000"])
def test_checkpoint_config_asking_for_huge_hidden_layers(call, tmp_path, good_checkpoint, hidden):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: r["config"].update(hidden=hidden))
    refused(call("tests.hostile.cases:load_checkpoint", folder), "CheckpointError",
            "does not describe a buildable model", "weights, over the limit")


@pytest.mark.parametrize("shape, expected", [([1, 100_000, 100_000], "input_shape"),
                                             ([3, 4096, 4096], "weights, over the limit")])
def test_checkpoint_config_asking_for_a_huge_input_shape(call, tmp_path, good_checkpoint, shape, expected):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: r["dataset"].update(input_shape=shape))
    r = call("tests.hostile.cases:load_checkpoint", folder)
    refused(r, "CheckpointError", expected)


def test_build_refuses_before_allocating(call):
    refused(call("tests.hostile.cases:build_model", "deep_ae", {"hidden": "1000000000"}, [1, 28, 28], 0),
            "ConfigError", "weights, over the limit", "narrower hidden layers")


@pytest.mark.parametrize("name, limit", [(WEIGHTS, "134,"), (CONFIG, "16,777,216")])
def test_checkpoint_files_over_their_size_limit(call, tmp_path, good_checkpoint, name, limit):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: None)
    with open(folder / name, "r+b") as handle:
        handle.truncate(2**31)  # sparse: 2 GB declared by the file system, nothing on disk
    refused(call("tests.hostile.cases:load_checkpoint", folder), "CheckpointError", name, "is over")


def test_checkpoint_zip_member_declaring_four_gigabytes(call, tmp_path, good_checkpoint):
    path = files.write_zip(tmp_path / "m.zip", {n: (good_checkpoint / n).read_bytes() for n in (WEIGHTS, CONFIG)})
    files.lie_about_sizes(path)
    refused(call("tests.hostile.cases:load_checkpoint_zip", path), "CheckpointError", "m.zip", "is over")


# --- 2. malformed checkpoint configs: a message, never a traceback ------------------------------

MALFORMED = [
    (files.record_change("config.hidden", "a"), "hidden widths must be 'auto' or comma-separated integers"),
    (files.record_change("config.hidden", "0,-3"), "hidden widths must be positive"),
    (files.record_change("config.hidden", "64," * 100), "characters long"),
    (files.record_change("dataset.name", ...), "field dataset.name is missing"),
    (files.record_change("dataset.name", ["digits"]), "field dataset.name must be a str"),
    (files.record_change("config.latent_dim", "8"), "latent_dim must be int"),
    (files.record_change("config.latent_dim", True), "latent_dim must be int"),
    (files.record_change("config.latent_dim", 10**30), "above its maximum"),
    (files.record_change("config.lr", float("nan")), "not a finite number"),
    (files.record_change("config.lr", float("inf")), "not a finite number"),
    (files.record_change("config.lr", 10**400), "not a finite number"),
    (files.record_change("config.recon_loss", {"a": [1, 2]}), "recon_loss must be str"),
    (files.record_change("config.evil", 1), "unknown DeepAEConfig fields"),
    (files.record_change("config", [1, 2]), "field config must be a dict"),
    (files.record_change("config", None), "field config must be a dict"),
    (files.record_change("evil", {"x": 1}), "unknown field 'evil'"),
    (files.record_change("dataset", "digits"), "field dataset must be a dict"),
    (files.record_change("dataset.input_shape", ["1", 8, 8]), "input_shape"),
    (files.record_change("dataset.input_shape", [1, 8]), "input_shape"),
    (files.record_change("dataset.input_shape", [2, 8, 8]), "input_shape"),
    (files.record_change("dataset.input_shape", [1, 0, 8]), "input_shape"),
    (files.record_change("dataset.input_shape", ...), "field dataset.input_shape is missing"),
    (files.record_change("dataset.class_names", [1, 2, 3]), "class_names must be a list of strings"),
    (files.record_change("n_classes", 7), "n_classes must be 0 or the 3 class names"),
    (files.record_change("n_classes", "3"), "field n_classes must be a int"),
    (files.record_change("variant", "nosuch"), "variant 'nosuch' is not one of"),
    (files.record_change("variant", ["deep_ae"]), "field variant must be a str"),
    (files.record_change("history", "abc"), "field history must be a list"),
    (files.record_change("history", [1, 2]), "history must be a list of"),
    (files.record_change("history", [{"stage": 1, "epoch": 1}]), "history must be a list of"),
    (files.record_change("history", [{"stage": "train", "epoch": 1, "loss": "high"}]), "history must be a list of"),
    (files.record_change("metrics", {"a": {"b": 1}}), "metrics and versions"),
    (files.record_change("weights_sha256", ...), "field weights_sha256 is missing"),
    (files.record_change("format_version", "1"), "checkpoint format '1' is not supported"),
    (lambda r: json.dumps([r]).encode(), "not an Autoencoder Explorer config"),
    (lambda r: b"null", "not an Autoencoder Explorer config"),
    (lambda r: b'"a string"', "not an Autoencoder Explorer config"),
    (lambda r: b"", "not valid JSON"),
    (lambda r: json.dumps(r).encode()[:200], "not valid JSON"),
    (lambda r: b'{"variant": "\xff\xfe deep_ae"}', "not valid JSON"),
    (lambda r: files.nested_json(200_000), "not valid JSON"),
    (lambda r: b'{"variant": "ae", "format_version": ' + b"9" * 100_000 + b"}", "not valid JSON"),
]


@pytest.mark.parametrize("change, expected", MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_malformed_checkpoint_config(call, tmp_path, good_checkpoint, change, expected):
    folder = spoiled(good_checkpoint, tmp_path, change)
    refused(call("tests.hostile.cases:load_checkpoint", folder), "CheckpointError", str(folder), expected)


def test_malformed_config_uploaded_as_two_files(call, tmp_path, good_checkpoint):
    folder = spoiled(good_checkpoint, tmp_path, files.record_change("dataset.name", ...))
    refused(call("tests.hostile.cases:load_checkpoint_files", folder / WEIGHTS, folder / CONFIG),
            "CheckpointError", "model.safetensors", "field dataset.name is missing")


def test_malformed_config_uploaded_as_a_zip(call, tmp_path, good_checkpoint):
    folder = spoiled(good_checkpoint, tmp_path, files.record_change("config.hidden", "a"))
    path = files.write_zip(tmp_path / "m.zip", {f"m/{n}": (folder / n).read_bytes() for n in (WEIGHTS, CONFIG)})
    refused(call("tests.hostile.cases:load_checkpoint_zip", path), "CheckpointError", "m.zip",
            "hidden widths must be")


# --- 5. pickles inside .npz: never unpickled ----------------------------------------------------

class Payload:
    """Unpickling this creates ``marker``: if the file appears, something ran a pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("key", ["x", "y"])
def test_pickled_objects_in_an_npz_are_never_unpickled(call, tmp_path, key):
    marker = tmp_path / "pwned"
    arrays = {"x": np.zeros((4, 2, 2), np.uint8), "y": np.arange(4)}
    arrays[key] = np.array([Payload(marker)] * 4, dtype=object)
    path = files.write_zip(tmp_path / "pickle.npz", {f"{k}.npy": files.npy_of(v) for k, v in arrays.items()})
    refused(call("tests.hostile.cases:load_data", path), "DataError", f"{key}.npy", "pickled data",
            "never loaded")
    assert not marker.exists()
