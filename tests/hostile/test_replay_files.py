"""Hostile replay files (replay.safetensors beside a checkpoint's weights): truncated, foreign, wrong
shapes and dtypes, huge declared sizes, NaN, labels past the classes, a file from another checkpoint.
Each is refused with one line, in the bounded worker (:mod:`tests.hostile.conftest`)."""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.checkpoint import CONFIG, REPLAY, WEIGHTS, dataset_record, save, zip_bytes
from explorer.registry import build, make_config
from explorer.replay import Replay, replay_bytes
from tests.conftest import make_image_dataset
from tests.hostile import files
from tests.hostile.conftest import refused, spoiled


def replay_of(checkpoint: str) -> list[int]:
    """As every page does with a loaded model: the epochs of its replay ([] when it has none)."""
    from explorer.checkpoint import load
    replay = getattr(load(checkpoint).model, "replay_", None)
    return [] if replay is None else replay.epochs.tolist()


@pytest.fixture(scope="module")
def with_replay(tmp_path_factory) -> Path:
    """A small deep_ae checkpoint (8x8 grey, 3 classes) carrying a 4-frame replay of 6 points."""
    dataset = make_image_dataset()
    model = build("deep_ae", make_config("deep_ae", latent_dim=2, hidden="32,16"), input_shape=(1, 8, 8))
    rng = np.random.default_rng(0)
    model.replay_ = Replay(np.arange(4), rng.normal(size=(4, 6, 2)).astype(np.float16),
                           np.array([9, 8, 7, 6], np.float32), np.array([0, 1, 2, 0, 1, 2]))
    return save(model, tmp_path_factory.mktemp("replay") / "m", dataset_record(dataset))


def replaced(good: Path, tmp_path: Path, data: bytes) -> Path:
    """A copy of ``good`` with another replay file, its sha256 updated in config.json so that it gets parsed."""
    digest = hashlib.sha256(data).hexdigest()
    folder = spoiled(good, tmp_path, lambda r: r.update(replay_sha256=digest))
    (folder / REPLAY).write_bytes(data)
    return folder


def tensors(good: Path, **changes) -> bytes:
    """The good replay's tensors with ``changes`` (a name -> None drops it), saved again."""
    from safetensors.torch import load, save as save_tensors
    stored = {**load((good / REPLAY).read_bytes()), **changes}
    return save_tensors({name: t.contiguous() for name, t in stored.items() if t is not None})


def header(text: str, data: bytes = b"") -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(8, "little") + raw + data


DAMAGED = [
    ("empty", lambda good: b"", "not a valid safetensors file"),
    ("truncated", lambda good: (good / REPLAY).read_bytes()[:200], "not a valid safetensors file"),
    ("huge header", lambda good: (2**62).to_bytes(8, "little") + b"{}", "not a valid safetensors file"),
    ("huge declared tensor", lambda good: header('{"positions":{"dtype":"F16","shape":[1099511627776,400,2],'
                                                 '"data_offsets":[0,16]}}', bytes(16)), "not a valid safetensors"),
    ("garbage", lambda good: os.urandom(4096), "not a valid safetensors file"),
    ("pickle", lambda good: pickle.dumps({"positions": 1}), "not a valid safetensors file"),
    ("too many frames", lambda good: tensors(good, positions=torch.zeros(2000, 1, 2, dtype=torch.float16),
                                             epochs=torch.arange(2000), test_error=torch.ones(2000)),
     "positions must be (frames <= 1024"),
    ("three columns", lambda good: tensors(good, positions=torch.zeros(4, 6, 3, dtype=torch.float16)),
     "positions must be (frames"),
    ("one epoch short", lambda good: tensors(good, epochs=torch.arange(3)), "one value per frame (4)"),
    ("epochs backwards", lambda good: tensors(good, epochs=torch.tensor([0, 2, 1, 3])), "ascending"),
    ("nan", lambda good: tensors(good, positions=torch.full((4, 6, 2), float("nan"), dtype=torch.float16)),
     "finite numbers"),
    ("infinite error", lambda good: tensors(good, test_error=torch.tensor([1, 2, float("inf"), 3])), "finite"),
    ("float64", lambda good: tensors(good, positions=torch.zeros(4, 6, 2, dtype=torch.float64)),
     "positions is stored as float64, not float16 or float32"),
    ("label past the classes", lambda good: tensors(good, labels=torch.tensor([0, 1, 2, 3, 1, 2])),
     "labels must be one class in [0, 3)"),
    ("no positions", lambda good: tensors(good, positions=None), "not epochs, positions and test_error"),
    ("a stranger tensor", lambda good: tensors(good, script=torch.zeros(1)), "not epochs, positions and test_error"),
]


@pytest.mark.parametrize("name, make, expected", DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damaged_replay(call, tmp_path, with_replay, name, make, expected):
    folder = replaced(with_replay, tmp_path, make(with_replay))
    message = refused(call("tests.hostile.test_replay_files:replay_of", folder), "CheckpointError", REPLAY, expected)
    assert message.startswith(str(folder))


def test_the_good_replay_loads(call, with_replay):
    outcome = call("tests.hostile.test_replay_files:replay_of", with_replay)
    assert outcome.error is None and outcome.crash is None and outcome.result == [0, 1, 2, 3]


def test_a_replay_from_another_checkpoint(call, tmp_path, with_replay):
    folder = spoiled(with_replay, tmp_path, lambda r: None)
    (folder / REPLAY).write_bytes(replay_bytes(Replay(np.arange(2), np.zeros((2, 6, 2), np.float16),
                                                      np.ones(2, np.float32), None)))
    refused(call("tests.hostile.test_replay_files:replay_of", folder), "CheckpointError", "does not belong")


def test_a_replay_over_its_size_limit(call, tmp_path, with_replay):
    folder = spoiled(with_replay, tmp_path, lambda r: None)
    (folder / REPLAY).write_bytes((with_replay / REPLAY).read_bytes())
    with open(folder / REPLAY, "r+b") as handle:
        handle.truncate(2**31)  # sparse: 2 GB declared by the file system, nothing on disk
    refused(call("tests.hostile.test_replay_files:replay_of", folder), "CheckpointError", REPLAY, "is over")


def test_a_damaged_replay_in_a_zip(call, tmp_path, with_replay):
    spoilt = replaced(with_replay, tmp_path, (with_replay / REPLAY).read_bytes()[:100])
    members = {name: (spoilt / name).read_bytes() for name in (WEIGHTS, CONFIG, REPLAY)}
    path = files.write_zip(tmp_path / "m.zip", members)
    refused(call("tests.hostile.cases:load_checkpoint_zip", path), "CheckpointError", "m.zip", REPLAY, "not a valid")


def test_a_zip_with_two_replays(call, tmp_path, with_replay):
    members = {name: (with_replay / name).read_bytes() for name in (WEIGHTS, CONFIG, REPLAY)}
    path = tmp_path / "m.zip"
    path.write_bytes(zip_bytes({**members, f"other/{REPLAY}": members[REPLAY]}))
    refused(call("tests.hostile.cases:load_checkpoint_zip", path), "CheckpointError", f"found 2 {REPLAY}")
