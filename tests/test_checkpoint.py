"""Checkpoints: atomic writes, strict loads, and one-line refusals of anything foreign."""
from __future__ import annotations

import hashlib
import json
import os
import pickle

import pytest
import torch

from explorer.checkpoint import (CONFIG, REPLAY, WEIGHTS, checkpoint_files, dataset_record, load, load_zip, save,
                                 zip_bytes)
from explorer.errors import CheckpointError
from explorer.registry import make_config
from explorer.training import train


@pytest.fixture
def trained(tiny_dataset):
    return train(tiny_dataset, make_config("deep_ae", epochs=2, latent_dim=3), device="cpu"), tiny_dataset


def save_trained(trained, folder, **kwargs):
    trainer, dataset = trained
    return save(trainer.model, folder, dataset_record(dataset), trainer.history, {"x": 1}, **kwargs)


def test_config_json_records_what_rebuilds_and_explains_the_model(trained, tmp_path):
    folder = save_trained(trained, tmp_path / "m")
    record = json.loads((folder / CONFIG).read_text())
    assert record["format_version"] == 1 and record["variant"] == "deep_ae"
    assert record["config"]["latent_dim"] == 3
    assert record["dataset"]["fingerprint"] == trained[1].fingerprint
    assert record["dataset"]["input_shape"] == [1, 8, 8] and record["dataset"]["class_names"] == ["bar0", "bar1", "bar2"]
    assert len(record["history"]) == 2 and record["metrics"] == {"x": 1}
    assert {"torch", "numpy", "python", "explorer"} <= set(record["versions"])
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG, WEIGHTS, REPLAY]  # train() records a replay
    assert record["replay_sha256"] == hashlib.sha256((folder / REPLAY).read_bytes()).hexdigest()


def test_killed_save_leaves_the_good_checkpoint(trained, tmp_path, monkeypatch):
    folder = save_trained(trained, tmp_path / "m")
    good = (folder / WEIGHTS).read_bytes()
    real_rename = os.rename

    def dies_on_swap(src, dst):
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(os, "rename", dies_on_swap)
    with torch.no_grad():
        next(trained[0].model.parameters()).add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        save_trained(trained, folder)
    monkeypatch.setattr(os, "rename", real_rename)
    assert (folder / WEIGHTS).read_bytes() == good
    load(folder)


def test_save_interrupted_between_renames_still_loads(trained, tmp_path, monkeypatch):
    folder = save_trained(trained, tmp_path / "m")
    real_rename, calls = os.rename, []

    def second_rename_dies(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", second_rename_dies)
    with pytest.raises(KeyboardInterrupt):
        save_trained(trained, folder)
    monkeypatch.setattr(os, "rename", real_rename)
    assert not folder.exists()
    assert load(folder).variant == "deep_ae"


def one_line_error(folder) -> str:
    with pytest.raises(CheckpointError) as caught:
        load(folder)
    message = str(caught.value)
    assert "\n" not in message and str(folder) in message
    return message


def test_pickle_renamed_to_safetensors_is_refused_without_unpickling(trained, tmp_path):
    folder = save_trained(trained, tmp_path / "m")
    payload = pickle.dumps(trained[0].model.state_dict())
    (folder / WEIGHTS).write_bytes(payload)
    record = json.loads((folder / CONFIG).read_text())
    import hashlib
    record["weights_sha256"] = hashlib.sha256(payload).hexdigest()
    (folder / CONFIG).write_text(json.dumps(record))
    assert "not a valid safetensors file" in one_line_error(folder)


def test_truncated_weights_are_refused(trained, tmp_path):
    folder = save_trained(trained, tmp_path / "m")
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    assert "does not belong" in one_line_error(folder)


def test_weights_from_another_checkpoint_are_refused(trained, tmp_path):
    a = save_trained(trained, tmp_path / "a")
    with torch.no_grad():
        next(trained[0].model.parameters()).mul_(2)
    b = save_trained(trained, tmp_path / "b")
    (a / WEIGHTS).write_bytes((b / WEIGHTS).read_bytes())
    assert "sha256" in one_line_error(a)


def test_config_that_does_not_match_the_weights_is_refused(trained, tmp_path):
    folder = save_trained(trained, tmp_path / "m")
    record = json.loads((folder / CONFIG).read_text())
    record["config"]["latent_dim"] = 4
    (folder / CONFIG).write_text(json.dumps(record))
    assert "do not match a deep_ae" in one_line_error(folder)


@pytest.mark.parametrize("content, expected", [
    (b"\x80\x04not json", "not valid JSON"),
    (json.dumps({"hello": 1}).encode(), "not an Autoencoder Explorer config"),
    (json.dumps({"variant": "ae", "format_version": 99}).encode(), "format 99"),
])
def test_foreign_configs_are_refused(trained, tmp_path, content, expected):
    folder = save_trained(trained, tmp_path / "m")
    (folder / CONFIG).write_bytes(content)
    assert expected in one_line_error(folder)


def test_missing_folder_is_refused(tmp_path):
    assert "not a checkpoint folder" in one_line_error(tmp_path / "nothing")


def test_float16_storage_round_trips_within_half_precision(trained, tmp_path):
    folder = save_trained(trained, tmp_path / "m", weights_dtype=torch.float16)
    model = load(folder).model
    x = torch.from_numpy(trained[1].x_test.copy())
    with torch.inference_mode():
        original = trained[0].model.eval().reconstruct(x)
        assert (model.reconstruct(x) - original).abs().max() < 5e-3
    assert next(model.parameters()).dtype == torch.float32


def test_zip_upload_round_trip(trained):
    trainer, dataset = trained
    files = checkpoint_files(trainer.model, dataset_record(dataset), trainer.history)
    checkpoint = load_zip(zip_bytes(files))
    assert checkpoint.variant == "deep_ae" and checkpoint.dataset["name"] == "synthetic"
    with pytest.raises(CheckpointError, match="not a zip file"):
        load_zip(b"plain bytes")
