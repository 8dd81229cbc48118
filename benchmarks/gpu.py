"""Item 7: items 1 and 2 for deep_ae on the GPU, when CUDA is available.

The Trainer keeps the whole training set on the device and gathers batches there; loss sums stay
on the device until the epoch ends, so an epoch has no host sync per batch. The plain loop moves
each DataLoader batch to the device and reads ``loss.item()`` every batch, as pytorch/examples does.
The sync count is checked with torch's CUDA sync debug mode over a short fit.
"""
from __future__ import annotations

import warnings

import torch

from benchmarks import data as bdata
from benchmarks import throughput
from benchmarks.common import Row, Sizes
from explorer.training import Callback, Trainer

SECTION = "7 GPU"


def syncs_per_epoch(dataset, sizes: Sizes, device: torch.device, epochs: int = 2) -> tuple[float, int]:
    """Host syncs torch reports per epoch inside the batch loop of a Trainer fit (from the end of each
    epoch's first batch to the end of its last: the epoch-end reads and the validation and test passes,
    which sync once per inference batch, are not batches), and the batches per epoch."""
    data = bdata.subset(dataset, 8192)
    model = bdata.model("deep_ae", data, bdata.config("deep_ae", sizes, epochs=epochs))
    counts: list[int] = []

    class Count(Callback):
        def on_batch_end(self, trainer, progress):
            if progress.batch in (1, progress.n_batches):
                counts.append(sum("synchroniz" in str(w.message) for w in caught))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            trainer = Trainer(model, device=str(device), callbacks=[Count()]).fit(data)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    in_loop = sum(last - first for first, last in zip(counts[::2], counts[1::2]))
    batches = trainer.progress.n_batches
    return in_loop / epochs * batches / max(1, batches - 1), batches


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
                   f"inside the batch loop; {batches} batches per epoch, so a sync per batch would show >= {batches}",
                   {"syncs_per_epoch": syncs, "batches": batches}))
    quality, _ = throughput.time_to_quality(dataset, sizes, device, sizes.quality_batch, sizes.quality_lr)
    out.append(throughput.quality_row(quality, section=section))
    results["gpu"] = {"device": name, "epoch_seconds": epoch_s, "throughput": summary, "quality": quality,
                      "syncs_per_epoch": syncs}
    return out


# --- issue 17, item 3: the checks a GPU session runs in one call (benchmarks/gpu_checks.sh) ------------------

EPOCH_GOAL_S = 0.5  # a Fashion-MNIST epoch of deep_ae-30, data resident on the device


def checks(epochs: int = 3) -> dict:
    """deep_ae-30 on Fashion-MNIST on cuda:0, batch 128: where the training images live and as what, the
    median epoch (training only) in fp32 and bf16 against :data:`EPOCH_GOAL_S`, each run's test error,
    and host syncs per epoch."""
    from explorer.data.store import training_images
    dataset, sizes, device = bdata.dataset(Sizes.full()), Sizes.full(), torch.device("cuda:0")
    resident = training_images(dataset.x_train, device)
    found = {"device": torch.cuda.get_device_name(device), "torch": torch.__version__,
             "images_on": str(resident.home), "images_dtype": str(resident.images.dtype), "goal_s": EPOCH_GOAL_S}
    del resident
    for precision in ("fp32", "bf16"):
        model = bdata.model("deep_ae", dataset, bdata.config("deep_ae", sizes, epochs=epochs))
        trainer = Trainer(model, device=str(device), precision=precision).fit(dataset)
        seconds = sorted(record["seconds"] for record in trainer.history)
        found[precision] = {"epoch_seconds": seconds[len(seconds) // 2], "all_seconds": seconds,
                            "test_sq_err": trainer.history[-1]["test_sq_err"],
                            "goal_met": seconds[len(seconds) // 2] < EPOCH_GOAL_S}
    found["syncs_per_epoch"], found["batches_per_epoch"] = syncs_per_epoch(dataset, sizes, device)
    return found


if __name__ == "__main__":
    import json
    print(json.dumps(checks()))
