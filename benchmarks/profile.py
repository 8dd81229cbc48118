"""Where the time goes, for RESULTS.md: torch.profiler over deep_ae training steps as the Trainer
runs them, the DataLoader's share of the plain loop, and the floor that the model's matrix products
alone put under a training step."""
from __future__ import annotations

import copy
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks import data as bdata
from benchmarks.common import median
from explorer.threads import torch_threads
from explorer.tensors import as_tensor
from explorer.variants.base import adam


def dataloader_ms_per_batch(dataset, batches: int = 100) -> float:
    """Milliseconds per batch the plain loop spends in the DataLoader alone (index, collate)."""
    loader = DataLoader(TensorDataset(as_tensor(dataset.x_train)), batch_size=bdata.PLAIN_BATCH, shuffle=True)
    start, seen = time.perf_counter(), 0
    for _ in loader:
        seen += 1
        if seen == batches:
            break
    return (time.perf_counter() - start) / max(1, seen) * 1e3


MATMUL_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear")


def matmul_share(table_source) -> float:
    """Share of self CPU time spent in matrix products, from ``profiler.key_averages()``."""
    total = sum(event.self_cpu_time_total for event in table_source)
    products = sum(event.self_cpu_time_total for event in table_source if event.key in MATMUL_OPS)
    return products / total if total else float("nan")


def training_profile(model, dataset, threads: int, steps: int = 8, rows: int = 10) -> tuple[str, float]:
    """Top operators by self CPU time over ``steps`` batch-128 steps, as the Trainer runs them, and
    the share of that time spent in matrix products."""
    own = copy.deepcopy(model).train()
    optimizer = adam(own.parameters(), bdata.PLAIN_LR)
    x = as_tensor(dataset.x_train)

    def step(i):
        start = i * bdata.PLAIN_BATCH % max(1, len(x) - bdata.PLAIN_BATCH)  # wraps on --quick's tiny sets
        batch = x[start:start + bdata.PLAIN_BATCH]
        loss = sum(own.loss(batch).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with torch_threads(threads):
        step(0)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
            for i in range(1, steps + 1):
                step(i)
    averages = profiler.key_averages()
    table = averages.table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=40)
    return table, matmul_share(averages)


def gemm_floor_seconds(model, batch: int, threads: int, dtype: torch.dtype = torch.float32, repeats: int = 30) -> float:
    """Seconds per training step spent in the model's matrix products alone: for every
    ``nn.Linear`` (in -> out) the three GEMMs of one step at ``batch`` rows, forward
    (B, in) @ (in, out), input gradient (B, out) @ (out, in) and weight gradient (out, B) @ (B, in),
    timed back to back with nothing else in the step. No training loop, however lean, runs a step
    of this model faster than this with the same BLAS, precision and threads."""
    shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    generator = torch.Generator().manual_seed(0)
    operands = [(torch.rand(batch, i, generator=generator).to(dtype), torch.rand(i, o, generator=generator).to(dtype),
                 torch.rand(batch, o, generator=generator).to(dtype)) for i, o in shapes]

    def one_step():
        for x, w, dy in operands:
            x @ w            # forward        (B, out)
            dy @ w.T         # grad of input  (B, in)
            dy.T @ x         # grad of weight (out, in)

    with torch_threads(threads):
        one_step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            one_step()
            times.append(time.perf_counter() - start)
    return median(times)
