"""Training on several processes (torchrun + DistributedDataParallel on gloo): each rank's shard of a
batch, the rank's device, and two-process runs on this machine's CPUs."""
from __future__ import annotations

import pytest
import torch

from explorer import distributed
from explorer.distributed import SINGLE, World, shard
from explorer.errors import ConfigError


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
