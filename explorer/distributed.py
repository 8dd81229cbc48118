"""Training on several processes with PyTorch's own engine: torchrun starts them, torch.distributed joins
them (gloo on the CPU, NCCL on CUDA), DistributedDataParallel averages their gradients.

Every rank draws the same seeded permutation each epoch and takes its own part of each global batch
(:func:`shard`), so the ranks' parts of a step are that step's batch of a single process, and DDP's
averaged gradient is the single-process gradient of the batch (up to float rounding). Only rank 0
prints and writes. Without torchrun's environment everything here is a no-op: one process, world size 1.

Every rank must take every step, so what ends training early must end it on all of them: divergence and
the validation rules do (they read the epoch's averaged figures and the same weights); a stop request
(the app's Stop button, which never runs under torchrun) reaches one process only, so torchrun runs are
stopped with Ctrl-C, which it passes to every rank.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import torch
from torch import Tensor, nn

from explorer.errors import ConfigError, ExplorerError

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder, Stage

# What torchrun (and any launcher following its convention) sets in every worker's environment.
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""
    rank: int = 0
    size: int = 1
    local_rank: int = 0  # the rank on this machine: which GPU it takes

    @property
    def is_main(self) -> bool:
        """Rank 0, the one that prints progress and writes the checkpoint."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def launched() -> bool:
    """Whether torchrun started this process (its environment names a rank and a rendezvous)."""
    return all(name in os.environ for name in LAUNCH_VARIABLES)


def current() -> World:
    """The world of the started process group, or :data:`SINGLE` when none is."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def rank_device(device: str, local_rank: int) -> str:
    """The device this rank trains on: ``cuda:<local rank>`` for auto or cuda where CUDA is, else ``device``.
    One named GPU (``cuda:1``) is refused when several ranks share this machine: they would all take it."""
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if device.startswith("cuda:") and local_size > 1:
        raise ConfigError(f"--device {device} would put all {local_size} ranks on this machine on one GPU; "
                          "pass --device cuda (or auto): each rank takes cuda:<its local rank>")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{local_rank}"
    return device


@contextmanager
def session(device: str = "auto") -> Iterator[tuple[World, str]]:
    """Inside torchrun: joins the process group for the block (NCCL when this rank trains on CUDA, gloo
    otherwise) and leaves it after; yields the world and this rank's device. Outside: (SINGLE, device).
    A user error inside is rank 0's to say (and its exit status); the other ranks end quietly."""
    if not launched():
        yield SINGLE, device
        return
    import torch.distributed as dist

    from explorer.devices import resolve_device
    local_rank = int(os.environ["LOCAL_RANK"])
    device = rank_device(device, local_rank)
    resolved = resolve_device(device)  # an absent device is refused before the rendezvous
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    world = current()
    try:
        yield world, device
    except ExplorerError:
        if world.is_main:
            raise
        # A user error inside is every rank's alike (a refused variant, a label-less dataset): rank 0 says it
        # and exits 2. The others end quietly, with 0, as torchrun stops every rank once one fails, and
        # could stop rank 0 before it has said why.
        raise SystemExit(0) from None
    finally:
        dist.destroy_process_group()


def shard(batch: Tensor, world: World) -> Tensor:
    """This rank's part of one global ``batch`` of indices (B,): near-equal contiguous parts
    (``torch.tensor_split``), so the ranks' parts together are the batch. Where the batch is smaller than
    the world (an epoch's last), a rank left without a part takes the batch's first index: every rank
    must step, since DDP's gradient all-reduce waits for all of them."""
    if not world.distributed:
        return batch
    part = torch.tensor_split(batch, world.size)[world.rank]
    return part if len(part) else batch[:1]


def mean_over_ranks(sums: dict[str, Tensor], world: World) -> dict[str, Tensor]:
    """Each loss term's sum averaged over the ranks, in one all-reduce (once an epoch, not per batch):
    every rank then records, and decides on, the same figures (a divergence stops them all)."""
    if not world.distributed or not sums:
        return sums
    import torch.distributed as dist
    names = sorted(sums)
    stacked = torch.stack([sums[name].float() for name in names])
    dist.all_reduce(stacked)
    return dict(zip(names, stacked / world.size))


class _Objectives(nn.Module):
    """The model's objective methods (``model.objectives``: ``loss`` for most) as one module's forward,
    chosen by name: what DDP runs, so that each arms its gradient all-reduce."""

    def __init__(self, model: "Autoencoder"):
        super().__init__()
        self.model = model

    def forward(self, name: str, *args: Tensor | None) -> dict[str, Tensor]:
        return getattr(type(self.model), name)(self.model, *args)


@contextmanager
def data_parallel(model: "Autoencoder", world: World, seed: int) -> Iterator[Callable[["Stage"], "Stage"]]:
    """Trains ``model`` with DistributedDataParallel for the block; yields what makes a stage safe for it.

    DDP averages only the gradients of a forward it ran (its forward arms the all-reduce that backward
    fires), and every variant's step computes its objectives through the methods ``model.objectives``
    names (``loss``; the AAE's three phases): so for the block each goes through DDP, and the variants
    train under DDP unchanged. A stage whose step updates weights without calling one (greedy layer-wise
    pretraining) is refused at its first step, on every rank alike, before the ranks' weights part. Buffers
    are synced once, at the wrap, not at every forward: each rank keeps its own persistent CD chains. Each
    rank reseeds torch after the wrap (rank 0's weights are broadcast to all), so noise and samples differ
    between ranks and repeat for a given world size."""
    if not world.distributed or not any(p.requires_grad for p in model.parameters()):
        yield lambda stage: stage  # one process, or a closed-form fit (PCA) that every rank makes alike
        return
    from torch.nn.parallel import DistributedDataParallel
    device = model.device
    # torch 2.13 renamed broadcast_buffers; the GPU machines' torch 2.11 knows only the old name
    renamed = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    # Several objectives (the AAE's three phases) each use part of the weights: DDP must look for the rest.
    wrapped = DistributedDataParallel(_Objectives(model), device_ids=[device.index] if device.type == "cuda" else None,
                                      find_unused_parameters=len(model.objectives) > 1,
                                      **{"forward_sync_buffers" if renamed else "broadcast_buffers": False})
    torch.manual_seed(seed * 1_000_003 + world.rank)
    calls = [0]

    def through_ddp(name: str) -> Callable[..., dict[str, Tensor]]:
        def objective(*args: Tensor | None) -> dict[str, Tensor]:
            calls[0] += 1
            return wrapped(name, *args)
        return objective

    def checked(stage: "Stage") -> "Stage":
        def step(x: Tensor, y: Tensor | None) -> dict[str, Tensor]:
            before = calls[0]
            terms = stage.step(x, y)
            if calls[0] == before:
                raise ConfigError(f"{model.variant_name}'s {stage.name!r} stage updates weights without its objectives, "
                                  "so DistributedDataParallel cannot average its gradients; train "
                                  f"{model.variant_name} in one process (without torchrun)")
            return terms
        return dataclasses.replace(stage, step=step)

    for name in model.objectives:
        model.__dict__[name] = through_ddp(name)  # an instance attribute, found before the class's method
    try:
        yield checked
    finally:
        for name in model.objectives:
            model.__dict__.pop(name, None)
