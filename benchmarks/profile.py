"""Where the time goes, for RESULTS.md: torch.profiler over deep_ae training steps as the Trainer
runs them, and the DataLoader's share of the plain loop."""
from __future__ import annotations

import copy
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks import data as bdata
from explorer.tensors import as_tensor
from explorer.variants.base import adam


def training_profile(model, dataset, threads: int, steps: int = 8, rows: int = 10) -> str:
    """Top operators by self CPU time over ``steps`` batch-128 steps, as the Trainer runs them."""
    own = copy.deepcopy(model).train()
    optimizer = adam(own.parameters(), bdata.PLAIN_LR)
    x = as_tensor(dataset.x_train)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        def step(i):
            batch = x[i * bdata.PLAIN_BATCH:(i + 1) * bdata.PLAIN_BATCH]
            loss = sum(own.loss(batch).values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        step(0)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
            for i in range(1, steps + 1):
                step(i)
    finally:
        torch.set_num_threads(before)
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=40)


def dataloader_ms_per_batch(dataset, batches: int = 100) -> float:
    """Milliseconds per batch the plain loop spends in the DataLoader alone (index, collate)."""
    loader = DataLoader(TensorDataset(as_tensor(dataset.x_train)), batch_size=bdata.PLAIN_BATCH, shuffle=True)
    start, seen = time.perf_counter(), 0
    for _ in loader:
        seen += 1
        if seen == batches:
            break
    return (time.perf_counter() - start) / max(1, seen) * 1e3
