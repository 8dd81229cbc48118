"""Training on several processes (torchrun + DistributedDataParallel on gloo): each rank's shard of a
batch, the rank's device, and two-process runs on this machine's CPUs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import distributed
from explorer.checkpoint import load
from explorer.cli import main
from explorer.data import load_dataset
from explorer.data.store import create_store
from explorer.distributed import SINGLE, World, shard
from explorer.errors import ConfigError
from explorer.registry import list_variants
from explorer.training import train
from tests.conftest import make_image_dataset, tiny_config

ROOT = Path(__file__).resolve().parents[1]
REFUSED = {"stacked_ae", "dbn_ae"}  # greedy layer-wise pretraining (the AAE's three phases train under DDP)


@pytest.mark.parametrize("batch, world_size", [(128, 2), (127, 2), (10, 3), (1, 2), (2, 4), (100, 7)])
def test_the_ranks_shards_together_are_the_batch_and_differ_by_at_most_one(batch, world_size):
    index = torch.randperm(1000)[:batch]
    parts = [shard(index, World(rank, world_size)) for rank in range(world_size)]
    assert all(len(part) >= 1 for part in parts)  # every rank steps, or DDP's all-reduce waits forever
    if batch >= world_size:
        assert torch.equal(torch.cat(parts), index)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    else:  # a last batch smaller than the world: the ranks without a part repeat its first index
        assert torch.equal(torch.cat(parts[:batch]), index) and all(torch.equal(p, index[:1]) for p in parts[batch:])


def test_one_process_keeps_the_whole_batch_and_its_sums():
    index = torch.arange(5)
    sums = {"recon": torch.tensor(3.0)}
    assert shard(index, SINGLE) is index and distributed.mean_over_ranks(sums, SINGLE) is sums


def test_outside_torchrun_there_is_one_process_and_the_device_asked_for(monkeypatch):
    for name in distributed.LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with distributed.session("cpu") as (world, device):
        assert world == SINGLE and world.is_main and not world.distributed and device == "cpu"
    assert distributed.current() == SINGLE


def test_each_rank_takes_its_own_gpu_and_one_named_gpu_is_refused_for_several_ranks(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert distributed.rank_device("auto", 1) == "cuda:1" and distributed.rank_device("cuda", 0) == "cuda:0"
    assert distributed.rank_device("cpu", 1) == "cpu"
    with pytest.raises(ConfigError, match="one GPU; pass --device cuda"):
        distributed.rank_device("cuda:1", 0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert distributed.rank_device("cuda:1", 0) == "cuda:1"


# --- two processes on this machine's CPUs (torchrun --standalone, gloo) -----------------------------------

def torchrun(*args: str, processes: int = 2, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --standalone --nproc-per-node <processes> <args>`` from the repository."""
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc-per-node={processes}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> list[dict]:
    """What each of two ranks saw training every variant under DDP (tests/distributed_worker.py)."""
    out = tmp_path_factory.mktemp("ddp")
    bars = make_image_dataset(n_train=120)
    store = create_store(out / "bars.npy", len(bars.x_train), bars.x_train.shape[1:])
    store[:] = np.rint(bars.x_train * 255).astype(np.uint8)
    store.flush()
    done = torchrun("tests/distributed_worker.py", str(out), str(out / "bars.npy"))
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def test_every_backprop_variant_trains_under_ddp_with_the_same_weights_on_both_ranks(sweep):
    for rank, found in enumerate(sweep):
        assert found["world"] == {"rank": rank, "size": 2}
        trained = {name for name, run in found.items() if run.get("status") == "finished"}
        assert trained == {spec.name for spec in list_variants()} - REFUSED | {
            "rbm persistent", "deep_ae again", "deep_ae seed 1", "deep_ae from a store"}
        assert all(found[name]["same_on_every_rank"] for name in trained)
    assert all(sweep[0][name]["digest"] == sweep[1][name]["digest"] for name in sweep[0] if "digest" in sweep[0][name])


def test_greedy_stages_are_refused_in_one_line_on_every_rank(sweep):
    for found in sweep:
        for name in REFUSED:
            message = found[name]["refused"]
            assert "\n" not in message and message.startswith(f"{name}'s ") and "in one process" in message
        assert "'layer1' stage" in found["stacked_ae"]["refused"] and "'rbm1' stage" in found["dbn_ae"]["refused"]


def test_a_seed_repeats_a_two_process_run_and_another_seed_does_not(sweep):
    found = sweep[0]
    assert found["deep_ae again"]["digest"] == found["deep_ae"]["digest"]
    assert found["deep_ae seed 1"]["digest"] != found["deep_ae"]["digest"]
    untimed = [[{k: v for k, v in record.items() if k != "seconds"} for record in found[name]["history"]]
               for name in ("deep_ae again", "deep_ae")]
    assert untimed[0] == untimed[1]


def test_two_processes_match_one_process_taking_the_same_global_batches(sweep):
    single = train(make_image_dataset(n_train=100), tiny_config("deep_ae", batch_size=16), device="cpu", seed=0)
    two, one = sweep[0]["deep_ae"]["history"][-1], single.history[-1]
    # Every batch halves evenly, so DDP's averaged gradient is the batch's gradient up to the order of float sums.
    for key in ("recon", "val_sq_err", "test_sq_err"):
        assert two[key] == pytest.approx(one[key], rel=1e-5), key


@pytest.fixture(scope="module")
def fashion_subset(tmp_path_factory) -> Path:
    """2,500 labelled Fashion-MNIST training images as an .npz: 2,000 to train (1,800 fit, 200 validate), 500 to test."""
    fashion = load_dataset("fashion-mnist")
    path = tmp_path_factory.mktemp("fashion") / "fashion-2500.npz"
    np.savez(path, x=np.rint(fashion.x_train[:2500, 0] * 255).astype(np.uint8), y=fashion.y_train[:2500])
    return path


def test_torchrun_trains_deep_ae_on_fashion_like_one_process_and_rank_0_saves_what_the_app_loads(
        fashion_subset, tmp_path, capsys):
    flags = ["train", "deep_ae", "--dataset", str(fashion_subset), "--epochs", "1", "--device", "cpu", "--seed", "0"]
    done = torchrun("-m", "explorer", *flags, "--out", str(tmp_path / "two"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("saved ") == 1 and done.stderr.count("epoch 1/1") >= 1  # rank 0 alone speaks
    assert main([*flags, "--out", str(tmp_path / "one")]) == 0
    two, one = load(tmp_path / "two"), load(tmp_path / "one")
    assert two.metrics["processes"] == 2 and one.metrics["processes"] == 1
    error_two, error_one = two.metrics["test_sq_err_per_image"], one.metrics["test_sq_err_per_image"]
    assert error_two == pytest.approx(error_one, rel=0.01)  # the same global batches: equal up to float sums
    dataset = load_dataset(str(fashion_subset))
    assert float(two.model.reconstruction_errors(dataset.x_test).mean()) == pytest.approx(error_two, rel=1e-5)


@pytest.mark.slow
def test_torchrun_refuses_a_greedy_variant_in_one_line_from_rank_0(tmp_path):
    done = torchrun("-m", "explorer", "train", "stacked_ae", "--dataset", "digits", "--hidden", "16",
                    "--pretrain-epochs", "1", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "m"))
    errors = [line[line.index("error: "):] for line in done.stderr.splitlines() if "error: " in line]
    assert done.returncode != 0 and not (tmp_path / "m").exists()
    assert errors == [("error: stacked_ae's 'layer1' stage updates weights without its objectives, so "
                       "DistributedDataParallel cannot average its gradients; train stacked_ae in one process "
                       "(without torchrun)")]


@pytest.mark.slow
def test_a_full_fashion_epoch_on_two_processes_matches_one_process(tmp_path, capsys):
    flags = ["train", "deep_ae", "--dataset", "fashion-mnist", "--epochs", "1", "--device", "cpu", "--seed", "0"]
    done = torchrun("-m", "explorer", *flags, "--out", str(tmp_path / "two"), timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert main([*flags, "--out", str(tmp_path / "one")]) == 0
    two, one = load(tmp_path / "two"), load(tmp_path / "one")
    assert two.history[-1]["recon"] == pytest.approx(one.history[-1]["recon"], rel=1e-3)
    assert two.metrics["test_sq_err_per_image"] == pytest.approx(one.metrics["test_sq_err_per_image"], rel=0.01)
