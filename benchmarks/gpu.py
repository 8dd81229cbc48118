"""Item 7: items 1 and 2 for deep_ae on the GPU, when CUDA is available.

The Trainer keeps the whole training set on the device and gathers batches there; loss sums stay
on the device until the epoch ends, so an epoch has no host sync per batch. The plain loop moves
each DataLoader batch to the device and reads ``loss.item()`` every batch, as pytorch/examples does.
"""
from __future__ import annotations

import torch

from benchmarks import data as bdata
from benchmarks import throughput
from benchmarks.common import Row, Sizes

SECTION = "7 GPU"


def rows(dataset, sizes: Sizes, results: dict) -> list[Row]:
    if not torch.cuda.is_available():
        return [Row(SECTION, "deep_ae throughput and time to quality on the GPU", "no GPU here")]
    device = torch.device("cuda:0")
    name = torch.cuda.get_device_name(device)
    summary = throughput.compare("deep_ae", dataset, sizes, device)
    out = throughput.rows(summary, section=f"{SECTION} ({name})")
    epoch_s = summary["trainer"]["epoch_seconds"]
    out.append(Row(f"{SECTION} ({name})", "deep_ae epoch, Trainer (batch 128, training only)", f"{epoch_s:.2f} s",
                   f"tuned batch {summary['trainer_tuned']['batch']}: "
                   f"{summary['trainer_tuned']['epoch_seconds']:.2f} s", {"epoch_seconds": epoch_s}))
    batch, lr = bdata.tuned(sizes)
    quality, _ = throughput.time_to_quality(dataset, sizes, device, batch, lr)
    out.append(throughput.quality_row(quality, section=f"{SECTION} ({name})"))
    results["gpu"] = {"device": name, "epoch_seconds": epoch_s, "throughput": summary, "quality": quality}
    return out
