"""Items 1, 2 and 7: training throughput against a pytorch/examples loop, and time to quality.

The peer is the loop of pytorch/examples ``vae/main.py``: a DataLoader over a TensorDataset
(per-sample indexing, then collation), batch 128, Adam at 1e-3, ``loss.item()`` every batch and a
test pass every epoch. Both sides train the same model class from the same initial weights for the
same epochs and report the same test error (squared error summed over pixels, per test image).
Sides alternate within each round, and the side that goes first rotates, so load drifts on a
shared machine hit every side alike; a ratio is taken within each round, then the median.
"""
from __future__ import annotations

import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks import data as bdata
from benchmarks.common import Row, Sizes, median
from explorer.baselines import pca_baseline
from explorer.devices import bf16_is_fast
from explorer.losses import squared_error_per_image
from explorer.tensors import as_tensor
from explorer.threads import torch_threads
from explorer.training import Callback, Trainer

QUALITY_FACTOR = 0.75  # time to quality: test error <= 0.75 x PCA's with as many components


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(model, dataset, epochs: int, device: torch.device, batch_size: int = bdata.PLAIN_BATCH,
               lr: float = bdata.PLAIN_LR) -> dict:
    """pytorch/examples' train/test loop around ``model.loss``; returns seconds and test error."""
    model.to(device)
    train_loader = DataLoader(TensorDataset(as_tensor(dataset.x_train)), batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(TensorDataset(as_tensor(dataset.x_test)), batch_size=batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        train_loss = 0.0
        for (batch,) in train_loader:
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = sum(model.loss(batch).values())
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        model.eval()
        test_error = 0.0
        with torch.no_grad():
            for (batch,) in test_loader:
                batch = batch.to(device)
                test_error += squared_error_per_image(model.reconstruct(batch), batch).sum().item()
        test_error /= len(dataset.x_test)
    _sync(device)
    return {"seconds": time.perf_counter() - start, "test_error": test_error}


class _Threads(Callback):
    """Notes the thread count the Trainer chose for each epoch."""

    def __init__(self):
        self.chosen = []

    def on_epoch_end(self, trainer, record):
        self.chosen.append(torch.get_num_threads())


def trainer_run(model, dataset, device: torch.device, precision: str = "fp32") -> dict:
    threads = _Threads()
    _sync(device)
    start = time.perf_counter()
    trainer = Trainer(model, device=str(device), seed=0, callbacks=[threads], precision=precision).fit(dataset)
    _sync(device)
    seconds = time.perf_counter() - start
    epoch_seconds = [record["seconds"] for record in trainer.history]
    return {"seconds": seconds, "test_error": trainer.history[-1]["test_sq_err"],
            "epoch_seconds": median(epoch_seconds), "threads_chosen": threads.chosen}


def sides(sizes: Sizes, device: torch.device) -> dict[str, tuple[int, float, int | None, str]]:
    """Name -> (batch, lr, threads, precision) of each side: the peer as written (torch's thread
    count), our Trainer at the peer's batch and rate, the Trainer at its tuned batch, the Trainer
    with bf16 autocast where the hardware runs bf16 matmuls, and on a CPU with several threads the
    peer pinned to one thread (what the Trainer's thread choice picks on a busy machine)."""
    batch, lr = bdata.tuned(sizes)
    same = (bdata.PLAIN_BATCH, bdata.PLAIN_LR, None)
    out = {"plain": (*same, "fp32"), "trainer": (*same, "fp32"), "trainer_tuned": (batch, lr, None, "fp32")}
    if bf16_is_fast(device.type):
        out["trainer_bf16"] = (*same, "bf16")
    if device.type == "cpu" and torch.get_num_threads() > 1:
        out["plain_1_thread"] = (bdata.PLAIN_BATCH, bdata.PLAIN_LR, 1, "fp32")
    return out


def _pinned_plain(model, dataset, epochs: int, device: torch.device, threads: int) -> dict:
    with torch_threads(threads):
        return plain_loop(model, dataset, epochs, device)


def _run_side(name: str, setting: tuple, variant: str, dataset, sizes: Sizes, device: torch.device,
              epochs: int) -> dict:
    batch, lr, threads, precision = setting
    model = bdata.model(variant, dataset, bdata.config(variant, sizes, epochs=epochs, batch_size=batch, lr=lr))
    if not name.startswith("plain"):
        result = trainer_run(model, dataset, device, precision)
    elif threads is None:
        result = plain_loop(model, dataset, epochs, device)
    else:
        result = _pinned_plain(model, dataset, epochs, device, threads)
    result["samples_per_s"] = epochs * len(dataset.x_train) / result["seconds"]
    return result


def compare(variant: str, dataset, sizes: Sizes, device: torch.device, rounds: int | None = None) -> dict:
    """Alternating runs of every side; per side the median samples/s and test error, and the
    median over rounds of each Trainer side's speed ratio to the plain loop."""
    epochs, settings = sizes.epochs[variant], sides(sizes, device)
    dataset = bdata.subset(dataset, sizes.subset.get(variant))
    # One short untimed run of every side first: the first training of a model in a process pays
    # one-off costs (allocator growth, kernel selection) that would land on whichever side goes first.
    warm = bdata.subset(dataset, 16 * bdata.PLAIN_BATCH)
    for name, setting in settings.items():
        _run_side(name, setting, variant, warm, sizes, device, 1)
    runs: dict[str, list[dict]] = {name: [] for name in settings}
    names = list(runs)
    for r in range(rounds or sizes.rounds[variant]):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(_run_side(name, settings[name], variant, dataset, sizes, device, epochs))
    summary = {"variant": variant, "epochs": epochs, "device": str(device), "runs": runs,
               "n_train": len(dataset.x_train), "threads": torch.get_num_threads()}
    for name, results in runs.items():
        summary[name] = {"batch": settings[name][0], "lr": settings[name][1], "threads": settings[name][2],
                         "precision": settings[name][3],
                         "samples_per_s": median([r["samples_per_s"] for r in results]),
                         "test_error": median([r["test_error"] for r in results])}
        if name != "plain":
            summary[name]["ratio"] = median([mine["samples_per_s"] / peer["samples_per_s"]
                                             for mine, peer in zip(results, runs["plain"])])
        if name.startswith("trainer"):
            summary[name]["epoch_seconds"] = median([r["epoch_seconds"] for r in results])
            summary[name]["threads_chosen"] = [n for r in results for n in r["threads_chosen"]]
    return summary


LABELS = {"trainer": "Trainer, same batch/lr", "trainer_tuned": "Trainer, tuned batch",
          "trainer_bf16": "Trainer, same batch/lr, bf16 autocast", "plain_1_thread": "plain loop pinned to 1 thread"}


def rows(summary: dict, section: str = "1 throughput") -> list[Row]:
    plain, out = summary["plain"], []
    variant, epochs = summary["variant"], summary["epochs"]
    out.append(Row(section, f"{variant} plain loop (DataLoader, batch {plain['batch']}, lr {plain['lr']:.1e}, "
                            f"{summary['threads']} threads)",
                   f"{plain['samples_per_s']:.0f} samples/s", f"test error {plain['test_error']:.2f} after "
                   f"{epochs} epoch(s) on {summary['n_train']:,} images", {"samples_per_s": plain["samples_per_s"],
                                                                          "test_error": plain["test_error"]}))
    for name, label in LABELS.items():
        if name not in summary:
            continue
        side = summary[name]
        out.append(Row(section, f"{variant} {label} (batch {side['batch']}, lr {side['lr']:.1e})",
                       f"{side['ratio']:.2f}x plain ({side['samples_per_s']:.0f} samples/s)",
                       f"test error {side['test_error']:.2f} vs plain {plain['test_error']:.2f}"
                       + (f"; threads chosen per epoch {side['threads_chosen']}" if side.get("threads_chosen") else ""),
                       {"ratio": side["ratio"], "samples_per_s": side["samples_per_s"],
                        "test_error": side["test_error"], "batch": side["batch"], "lr": side["lr"]}))
    return out


class _StopAtQuality(Callback):
    def __init__(self, threshold: float, budget_s: float):
        self.threshold, self.budget_s, self.reached_s = threshold, budget_s, None

    def on_train_start(self, trainer):
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer, record):
        elapsed = time.perf_counter() - self.start
        if record["test_sq_err"] <= self.threshold and self.reached_s is None:
            self.reached_s = elapsed
        if self.reached_s is not None or elapsed > self.budget_s:
            trainer.request_stop()


def time_to_quality(dataset, sizes: Sizes, device: torch.device, batch: int, lr: float,
                    precision: str = "fp32") -> tuple[dict, object]:
    """Wall time (per-epoch test passes included) for deep_ae-30 to reach 0.75 x PCA-30's test error,
    with the Trainer at ``precision`` (fp32, the default, or the opt-in bf16 autocast)."""
    pca = pca_baseline(dataset, bdata.LATENT["deep_ae"])
    pca_error = float(pca.reconstruction_errors(dataset.x_test).mean())
    threshold = QUALITY_FACTOR * pca_error
    cfg = bdata.config("deep_ae", sizes, epochs=1000, batch_size=batch, lr=lr)
    stop = _StopAtQuality(threshold, sizes.quality_budget_s)
    model = bdata.model("deep_ae", dataset, cfg)
    _sync(device)
    trainer = Trainer(model, device=str(device), seed=0, callbacks=[stop], precision=precision).fit(dataset)
    result = {"pca_error": pca_error, "threshold": threshold, "seconds": stop.reached_s, "precision": precision,
              "epochs": len(trainer.history), "test_error": trainer.history[-1]["test_sq_err"],
              "batch": batch, "lr": lr, "budget_s": sizes.quality_budget_s,
              "epoch_seconds": median([r["seconds"] for r in trainer.history])}
    return result, trainer.model


def quality_row(result: dict, section: str = "2 time to quality") -> Row:
    where = f"batch {result['batch']}, lr {result['lr']:.1e}; PCA-30 {result['pca_error']:.2f}"
    precision = result.get("precision", "fp32")
    if result["seconds"] is None:
        value = f"not reached in {result['epochs']} epochs / {result['budget_s']:.0f} s budget"
    else:
        value = f"{result['seconds']:.1f} s ({result['epochs']} epochs)"
    return Row(section, f"deep_ae-30 to test error <= {result['threshold']:.2f}"
               + (", bf16 autocast (opt-in)" if precision == "bf16" else ""), value,
               f"{where}; reached {result['test_error']:.2f}", result)
