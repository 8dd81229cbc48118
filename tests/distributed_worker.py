"""Run by tests/test_distributed.py under ``torchrun --nproc-per-node 2``: trains every variant (tiny, on the
bars) with the Trainer under DistributedDataParallel, and writes what each rank saw to <out>/rank<r>.json.

For each run: the status or the refusal's message, and whether every rank ends with the same weights;
deep_ae twice with seed 0 and once with seed 1 (a run repeats for a given world size); deep_ae from a
memory-mapped store, when its path is given."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from explorer.data.store import stored_dataset
from explorer.distributed import session
from explorer.errors import ConfigError
from explorer.registry import list_variants
from explorer.training import train
from tests.conftest import make_image_dataset, tiny_config


def weights(model) -> torch.Tensor:
    return torch.cat([value.detach().flatten().float() for value in model.state_dict().values()])


def same_on_every_rank(flat: torch.Tensor) -> bool:
    gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return all(torch.equal(gathered[0], other) for other in gathered)


def outcome(dataset, config, seed: int = 0) -> dict:
    try:
        trainer = train(dataset, config, device="cpu", seed=seed)
    except ConfigError as error:
        return {"refused": str(error)}
    flat = weights(trainer.model)
    return {"status": trainer.status, "same_on_every_rank": same_on_every_rank(flat),
            "digest": hashlib.sha256(flat.numpy().tobytes()).hexdigest(), "history": trainer.history}


def main(out: Path, store: str | None) -> None:
    bars = make_image_dataset(n_train=100)  # 80 fit images: every batch of 16 splits evenly between 2 ranks
    with session("cpu") as (world, _):
        found = {spec.name: outcome(bars, tiny_config(spec.name, batch_size=16)) for spec in list_variants()}
        found["rbm persistent"] = outcome(bars, tiny_config("rbm", batch_size=16, persistent=True))
        found["deep_ae again"] = outcome(bars, tiny_config("deep_ae", batch_size=16))
        found["deep_ae seed 1"] = outcome(bars, tiny_config("deep_ae", batch_size=16), seed=1)
        if store is not None:
            found["deep_ae from a store"] = outcome(stored_dataset(store), tiny_config("deep_ae", batch_size=16))
        found["world"] = {"rank": world.rank, "size": world.size}
    (out / f"rank{world.rank}.json").write_text(json.dumps(found))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
