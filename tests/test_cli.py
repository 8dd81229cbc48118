"""``python -m explorer``: the commands later tooling relies on, and one-line user errors."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from explorer.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_names_variants_and_datasets(capsys):
    code, out, _ = run(capsys, "list", "--json")
    listing = json.loads(out)
    names = {v["name"] for v in listing["variants"]}
    assert code == 0 and names == {"rbm", "ae", "deep_ae", "stacked_ae", "dbn_ae", "sparse_ae", "denoising_ae",
                                   "contractive_ae", "conv_ae", "lstm_ae", "vae", "cvae", "aae", "pca"}
    digits = next(d for d in listing["datasets"] if d["name"] == "digits")
    assert digits["available"] is True
    assert {d["name"] for d in listing["datasets"]} >= {"digits", "fashion-mnist", "mnist"}


def test_train_then_eval_json(capsys, tmp_path):
    out_dir = tmp_path / "m"
    code, out, err = run(capsys, "train", "deep_ae", "--dataset", "digits", "--latent-dim", "4",
                         "--epochs", "3", "--hidden", "32,16", "--device", "cpu", "--out", str(out_dir))
    assert code == 0, err
    assert "saved" in out and "epoch 3/3" in err  # the tqdm bar
    code, out, _ = run(capsys, "eval", str(out_dir), "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["variant"] == "deep_ae" and metrics["latent_dim"] == 4
    for key in ("test_sq_err_per_image", "val_sq_err_per_image", "pca_sq_err_per_image", "precision_at_10",
                "precision_at_10_pixels"):
        assert isinstance(metrics[key], float) and metrics[key] > 0
    assert metrics["dataset"] == "digits"
    history = json.loads((out_dir / "config.json").read_text())["history"]
    kept = [record for record in history if record.get("kept")]
    assert len(kept) == 1 and metrics["val_sq_err_per_image"] == pytest.approx(kept[0]["val_sq_err"], rel=1e-3)
    assert "validation images" in err  # the CLI says which epoch's weights it kept


def test_train_flags_come_from_the_variant_config(capsys):
    with pytest.raises(SystemExit):
        main(["train", "vae", "--help"])
    out = capsys.readouterr().out
    assert "--beta" in out and "--recon-loss {bce,mse}" in out and "--hidden" in out


@pytest.mark.parametrize("order", [
    ("ae", "--dataset", "digits", "--epochs", "1"),
    ("--dataset", "digits", "ae", "--epochs", "1"),
    ("--epochs", "1", "--dataset", "digits", "ae"),
    ("--epochs=1", "--dataset=digits", "ae"),
])
def test_train_takes_options_and_the_variant_in_any_order(capsys, tmp_path, order):
    code, out, err = run(capsys, "train", *order, "--latent-dim", "2", "--device", "cpu", "--out", str(tmp_path / "m"))
    assert code == 0, err
    code, out, _ = run(capsys, "eval", str(tmp_path / "m"), "--json")
    metrics = json.loads(out)
    assert metrics["variant"] == "ae" and metrics["dataset"] == "digits" and metrics["latent_dim"] == 2


def test_train_on_a_user_npz(capsys, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mine.npz", x=rng.uniform(0, 1, (40, 6, 6)).astype(np.float32), y=rng.integers(0, 2, 40))
    code, _, err = run(capsys, "train", "ae", "--dataset", str(tmp_path / "mine.npz"), "--epochs", "2",
                       "--device", "cpu", "--out", str(tmp_path / "m"))
    assert code == 0, err
    code, out, _ = run(capsys, "eval", str(tmp_path / "m"), "--json")
    assert code == 0 and json.loads(out)["n_test"] == 8


@pytest.mark.parametrize("argv, expected", [
    (["train", "nosuch", "--out", "x"], "unknown variant 'nosuch'"),
    (["train", "ae", "--dataset", "nosuch", "--out", "x"], "nosuch"),
    (["train", "ae", "--device", "cuda:7", "--epochs", "1", "--out", "x"], "not available"),
    (["train", "ae", "--latent-dim", "0", "--out", "x"], "below its minimum"),
    (["eval", "/nonexistent/folder"], "not a checkpoint folder"),
    (["train", "ae", "--recon-loss", "l7", "--out", "x"], "invalid choice"),
])
def test_user_errors_exit_2_with_one_line(capsys, argv, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = None
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and err.count("\n") == 1, err


def test_bad_data_file_gives_one_line_from_the_real_entry_point(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.full((10, 4, 4), np.nan, np.float32))
    result = subprocess.run([sys.executable, "-m", "explorer", "train", "ae", "--dataset", str(bad),
                             "--out", str(tmp_path / "m")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "bad.npz" in result.stderr and "Traceback" not in result.stderr
