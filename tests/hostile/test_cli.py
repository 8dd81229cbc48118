"""Hostile inputs through ``python -m explorer``: each ends with exit status 2 and one line on stderr
(no traceback), under 1 GB of RSS, and no earlier file is moved, replaced or changed. The cases run
``explorer.cli.main`` in the bounded worker (conftest.py); one runs the real entry point.

Classes: declared sizes (files and flags), malformed checkpoint configs (eval) and flags, data loss
through ``--out``, damaged files.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.checkpoint import CONFIG, WEIGHTS
from tests.hostile import files
from tests.hostile.conftest import ROOT, cli_refused, snapshot, spoiled

TRAIN = ["train", "ae", "--dataset", "digits", "--epochs", "1", "--latent-dim", "2", "--device", "cpu"]
DIVERGES = ["train", "vae", "--dataset", "digits", "--epochs", "2", "--latent-dim", "2", "--lr", "10",
            "--device", "cpu"]  # non-finite loss in its first epoch, with the default seed


def cli(call, *argv):
    return call("tests.hostile.cases:cli", [str(word) for word in argv])


# --- declared sizes, from files and from flags --------------------------------------------------

def _huge_npz(tmp_path):
    return files.write_zip(tmp_path / "huge.npz", {"x.npy": files.npy((10**12,))})


def _bomb_zip(tmp_path):
    return files.write_zip(tmp_path / "bomb.zip", {"a.png": files.png(12000, 12000), "b.png": files.image_bytes()})


def _huge_idx(tmp_path):
    path = tmp_path / "evil-images-idx3-ubyte"
    path.write_bytes(files.idx_header((2**32 - 1,) * 3))
    return path


def _zeros_npz(tmp_path):
    return files.zeros_npz(tmp_path / "zeros.npz", (80 * 2**20 // 64, 8, 8))


@pytest.mark.parametrize("make, expected", [(_huge_npz, "exceeds the 209,715,200-byte limit"),
                                            (_bomb_zip, "too many pixels"), (_huge_idx, "exceeds"),
                                            (_zeros_npz, "as float32")])
def test_train_on_data_declaring_too_much(call, tmp_path, make, expected):
    out = tmp_path / "m"
    cli_refused(cli(call, *TRAIN, "--dataset", make(tmp_path), "--out", out), "error:", expected)
    assert not out.exists()


@pytest.mark.parametrize("hidden", ["1000000000", "5000000"])
def test_train_with_huge_hidden_widths(call, tmp_path, hidden):
    cli_refused(cli(call, "train", "deep_ae", "--hidden", hidden, "--epochs", "1", "--device", "cpu",
                    "--out", tmp_path / "m"), "weights, over the limit", "narrower hidden layers")


@pytest.mark.parametrize("flags, expected", [
    (["--hidden", "a"], "hidden widths must be 'auto' or comma-separated integers"),
    (["--hidden", "64," * 100], "characters long"),
    (["--lr", "nan"], "not a finite number"),
    (["--lr", "inf"], "not a finite number"),
    (["--latent-dim", "true"], "invalid int value"),
    (["--latent-dim", "9" * 5000], "invalid int value"),
])
def test_train_with_malformed_flags(call, tmp_path, flags, expected):
    cli_refused(cli(call, "train", "deep_ae", *flags, "--epochs", "1", "--device", "cpu", "--out", tmp_path / "m"),
                expected)


# --- malformed checkpoint configs, through eval --------------------------------------------------

@pytest.mark.parametrize("change, expected", [
    (files.record_change("config.hidden", "a"), "hidden widths must be"),
    (files.record_change("config.hidden", "1000000000"), "weights, over the limit"),
    (files.record_change("dataset.name", ...), "field dataset.name is missing"),
    (files.record_change("dataset.input_shape", [1, 100_000, 100_000]), "input_shape"),
    (files.record_change("config.latent_dim", "8"), "latent_dim must be int"),
    (files.record_change("evil", 1), "unknown field 'evil'"),
    (files.record_change("history", [{"stage": "train"}]), "history must be a list of"),
    (lambda r: b"[]", "not an Autoencoder Explorer config"),
    (lambda r: b"\xff\xfe\x00garbage", "not valid JSON"),
    (lambda r: files.nested_json(100_000), "not valid JSON"),
])
def test_eval_of_a_malformed_checkpoint(call, tmp_path, good_checkpoint, change, expected):
    folder = spoiled(good_checkpoint, tmp_path, change)
    cli_refused(cli(call, "eval", folder), str(folder), expected)


@pytest.mark.parametrize("damage, expected", [
    (lambda folder: (folder / WEIGHTS).write_bytes(b""), "does not belong"),
    (lambda folder: (folder / CONFIG).unlink(), "not a checkpoint folder"),
    (lambda folder: (folder / CONFIG).write_bytes(b""), "not valid JSON"),
])
def test_eval_of_a_damaged_checkpoint(call, tmp_path, good_checkpoint, damage, expected):
    folder = spoiled(good_checkpoint, tmp_path, lambda r: None)
    damage(folder)
    cli_refused(cli(call, "eval", folder), expected)


@pytest.mark.parametrize("name, data, expected", [
    ("empty.npz", b"", "not a readable .npz"),
    ("empty.zip", b"", "not a readable zip"),
    ("t-images-idx3-ubyte", b"", "not an IDX file"),
    ("pickle.npz", None, "pickled data"),
])
def test_train_on_damaged_data(call, tmp_path, name, data, expected):
    path = tmp_path / name
    if data is None:
        files.write_zip(path, {"x.npy": files.npy_of(np.array([{"a": 1}, None], dtype=object))})
    else:
        path.write_bytes(data)
    cli_refused(cli(call, *TRAIN, "--dataset", path, "--out", tmp_path / "m"), expected)


# --- data loss through --out ----------------------------------------------------------------------

def _file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("a week of notes")
    return path


def _foreign_folder(tmp_path):
    folder = tmp_path / "thesis"
    (folder / "chapters").mkdir(parents=True)
    (folder / "chapters" / "one.tex").write_text("\\chapter{One}")
    return folder


@pytest.mark.parametrize("make, expected", [
    (_file, "is a file, not a checkpoint folder"),
    (_foreign_folder, "is a folder that holds other files"),
    (lambda tmp_path: Path("/dev/null"), "is a file"),
])
def test_out_that_is_not_a_checkpoint_is_never_replaced(call, tmp_path, make, expected):
    target = make(tmp_path)
    line = cli_refused(cli(call, *TRAIN, "--out", target), expected, "name a new folder")
    assert "epoch" not in line and target.exists()  # refused before training, and left where it was


def test_out_that_is_a_link_to_a_checkpoint(call, tmp_path, good_checkpoint):
    link = tmp_path / "link"
    link.symlink_to(good_checkpoint)
    before = snapshot(good_checkpoint)
    cli_refused(cli(call, *TRAIN, "--out", link), "is a link")
    assert link.is_symlink() and snapshot(good_checkpoint) == before


@pytest.mark.parametrize("make", [lambda tmp_path: Path("/proc/hostile-out/m"),
                                  lambda tmp_path: _file(tmp_path) / "m"])
def test_unwritable_out_is_refused_before_training(call, tmp_path, make):
    cli_refused(cli(call, *TRAIN, "--out", make(tmp_path)), "cannot save to", "choose another place")


def test_a_diverged_run_never_replaces_a_checkpoint_unless_asked(call, tmp_path, good_checkpoint):
    out = spoiled(good_checkpoint, tmp_path, lambda r: None)
    before = snapshot(out)
    outcome = cli(call, *DIVERGES, "--out", out)
    assert outcome.crash is None and outcome.result == 1, outcome
    assert snapshot(out) == before
    kept = out.with_name(f"{out.name}-diverged")
    assert f"kept the earlier checkpoint in {out}" in outcome.stderr and "--replace-diverged" in outcome.stderr
    assert outcome.stdout.startswith(f"saved {kept}:") and (kept / WEIGHTS).is_file()
    assert outcome.peak_mb < 1024

    outcome = cli(call, *DIVERGES, "--out", out, "--replace-diverged")
    assert outcome.result == 1 and outcome.stdout.startswith(f"saved {out}:")
    assert json.loads((out / CONFIG).read_text())["variant"] == "vae"


def test_a_good_run_replaces_a_checkpoint_and_says_where(call, tmp_path, good_checkpoint):
    out = spoiled(good_checkpoint, tmp_path, lambda r: None)
    outcome = cli(call, *TRAIN, "--out", out)
    assert outcome.crash is None and outcome.result == 0, outcome
    assert outcome.stdout.startswith(f"saved {out}:") and json.loads((out / CONFIG).read_text())["variant"] == "ae"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spoiled"]  # no staging or old copy left
    assert outcome.peak_mb < 1024


def test_the_real_entry_point_refuses_an_out_that_is_a_file(tmp_path):
    target = _file(tmp_path)
    before = snapshot(target)
    result = subprocess.run([sys.executable, "-m", "explorer", *TRAIN, "--out", str(target)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {target} is a file")
    assert snapshot(target) == before
