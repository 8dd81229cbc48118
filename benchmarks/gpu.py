"""Item 7: items 1 and 2 for deep_ae on the GPU, when CUDA is available.

The Trainer keeps the whole training set on the device and gathers batches there; loss sums stay
on the device until the epoch ends, so an epoch has no host sync per batch. The plain loop moves
each DataLoader batch to the device and reads ``loss.item()`` every batch, as pytorch/examples does.
The sync count is checked with torch's CUDA sync debug mode over a short fit.
"""
from __future__ import annotations

import math
import warnings

import torch

from benchmarks import data as bdata
from benchmarks import throughput
from benchmarks.common import Row, Sizes
from explorer.training import Trainer

SECTION = "7 GPU"


def syncs_per_epoch(dataset, sizes: Sizes, device: torch.device, epochs: int = 2) -> tuple[float, int]:
    """Host syncs torch reports per epoch of a Trainer fit, and the batches per epoch."""
    data = bdata.subset(dataset, 8192)
    model = bdata.model("deep_ae", data, bdata.config("deep_ae", sizes, epochs=epochs))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            Trainer(model, device=str(device)).fit(data)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    return syncs / epochs, math.ceil(len(data.x_train) / bdata.PLAIN_BATCH)


def rows(dataset, sizes: Sizes, results: dict) -> list[Row]:
    if not torch.cuda.is_available():
        return [Row(SECTION, "deep_ae throughput and time to quality on the GPU", "no GPU here")]
    device = torch.device("cuda:0")
    name = torch.cuda.get_device_name(device)
    section = f"{SECTION} ({name})"
    summary = throughput.compare("deep_ae", dataset, sizes, device)
    out = throughput.rows(summary, section=section)
    epoch_s = summary["trainer"]["epoch_seconds"]
    out.append(Row(section, "deep_ae epoch, Trainer (batch 128, training only)", f"{epoch_s:.2f} s",
                   f"tuned batch {summary['trainer_tuned']['batch']}: "
                   f"{summary['trainer_tuned']['epoch_seconds']:.2f} s", {"epoch_seconds": epoch_s}))
    syncs, batches = syncs_per_epoch(dataset, sizes, device)
    out.append(Row(section, "host syncs per Trainer epoch (torch.cuda sync debug mode)", f"{syncs:.0f}",
                   f"{batches} batches per epoch; a sync per batch would show >= {batches}",
                   {"syncs_per_epoch": syncs, "batches": batches}))
    quality, _ = throughput.time_to_quality(dataset, sizes, device, sizes.quality_batch, sizes.quality_lr)
    out.append(throughput.quality_row(quality, section=section))
    results["gpu"] = {"device": name, "epoch_seconds": epoch_s, "throughput": summary, "quality": quality,
                      "syncs_per_epoch": syncs}
    return out
