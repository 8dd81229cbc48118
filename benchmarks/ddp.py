"""Item 9 (issue 17): training past one process and past RAM.

Memory: a fresh process trains deep_ae-30 for :data:`RSS_BATCHES` batches (and the epoch's validation and
test passes) from a uint8 store memory-mapped from disk, at 60k images (Fashion-MNIST's training split)
and at 600k (the split ten times, each copy shifted by a pixel or two); and, for contrast, from the same
images held in memory as float32. Anonymous memory (``RssAnon``: the process's own) and file-backed
memory (``RssFile``: the store's pages it has read, and the libraries) are sampled every few batches.

Throughput: one Fashion-MNIST epoch of deep_ae-30 (batch 128) in one process, and in two processes
under ``torchrun --nproc-per-node 2`` (DistributedDataParallel on gloo, each rank half of every batch).

The children: ``python -m benchmarks.ddp rss <store.npy> <mapped|float32>`` and ``... epoch``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import Row, Sizes, median

SECTION = "9 distributed and stored data"
ROOT = Path(__file__).resolve().parents[1]
RSS_BATCHES = 300
SIZES = (60_000, 600_000)
SHIFTS = ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1), (0, 2))  # (rows, columns)
ROUNDS = 2  # alternating 1- and 2-process epochs


def write_fashion_store(path: Path, n_images: int) -> Path:
    """Fashion-MNIST's training images as a uint8 store of ``n_images``: copy k is shifted by SHIFTS[k]."""
    from explorer.data import load_dataset
    from explorer.data.store import create_store
    images = np.rint(load_dataset("fashion-mnist").x_train[:, 0] * 255).astype(np.uint8)  # exact: IDX bytes
    store = create_store(path, n_images, images.shape[1:])
    for start in range(0, n_images, len(images)):
        count = min(len(images), n_images - start)
        store[start:start + count] = np.roll(images[:count], SHIFTS[start // len(images) % len(SHIFTS)], axis=(1, 2))
    store.flush()
    del store
    return path


def _status_mib() -> dict[str, float]:
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def rss_child(path: str, mode: str) -> dict:
    """Trains deep_ae-30 on the store at ``path``, mapped or read into memory as float32; RSS as it goes."""
    import torch

    from benchmarks import data as bdata
    from explorer.data import ImageDataset
    from explorer.data.dataset import unit_images
    from explorer.data.store import stored_dataset
    from explorer.training import Callback, Trainer
    before = _status_mib()  # the interpreter, torch and explorer
    data = stored_dataset(path)
    if mode == "float32":
        train = data.x_train.images[data.x_train.rows].numpy()  # (N, 1, H, W) uint8, read whole
        data = ImageDataset(data.name, unit_images(train[:, 0]), None, data.x_test, None, (), data.source)
    after_data, peaks = _status_mib(), {"RssAnon": 0.0, "RssFile": 0.0}

    class Sample(Callback):
        def on_batch_end(self, trainer, progress):
            if progress.batch % 10 == 0:
                now = _status_mib()
                peaks.update({name: max(peaks[name], now[name]) for name in peaks})
            if progress.batch >= RSS_BATCHES:
                trainer.request_stop()

    sizes = Sizes.full()
    model = bdata.model("deep_ae", data, bdata.config("deep_ae", sizes, epochs=1))
    Trainer(model, device="cpu", callbacks=[Sample()]).fit(data)
    end = _status_mib()
    return {"mode": mode, "n_images": len(data.x_train) + len(data.x_test), "before_mib": before["VmRSS"],
            "after_data_mib": after_data["VmRSS"], "peak_mib": end["VmHWM"],
            "anon_peak_mib": max(peaks["RssAnon"], end["RssAnon"]), "file_peak_mib": max(peaks["RssFile"], end["RssFile"]),
            "threads": torch.get_num_threads()}


def epoch_child() -> dict | None:
    """One epoch of deep_ae-30 on Fashion-MNIST, in this process or as one rank of torchrun's; rank 0 reports."""
    import torch

    from benchmarks import data as bdata
    from explorer.data import load_dataset
    from explorer.distributed import session
    from explorer.training import Trainer
    dataset = load_dataset("fashion-mnist")
    with session("cpu") as (world, _):
        model = bdata.model("deep_ae", dataset, bdata.config("deep_ae", Sizes.full(), epochs=1))
        trainer = Trainer(model, device="cpu").fit(dataset)
    record = trainer.history[-1]
    fit_images = trainer.progress.samples_seen if trainer.progress else 0
    if not world.is_main:
        return None
    return {"processes": world.size, "threads_per_process": torch.get_num_threads(), "seconds": record["seconds"],
            "images": fit_images, "samples_per_s": fit_images / record["seconds"],
            "test_sq_err": record["test_sq_err"]}


def _child(args: list[str], processes: int = 1, timeout: int = 1800) -> dict:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
                if processes > 1 else [sys.executable])
    # The cores shared out: each of the processes gets its part of them (torchrun's default is one thread each).
    threads = {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // processes))} if processes > 1 else {}
    done = subprocess.run([*launcher, "-m", "benchmarks.ddp", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), **threads}, check=False)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["failed"])[-1][:150])
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_rows(folder: Path) -> tuple[list[Row], dict]:
    out, found = [], {}
    for n in SIZES:
        path = write_fashion_store(folder / f"fashion-{n}.npy", n)
        for mode in ("mapped", "float32"):
            result = found[f"{mode}_{n}"] = _child(["rss", str(path), mode])
            out.append(Row(SECTION, f"peak RSS, deep_ae-30 from {n:,} images {'memory-mapped uint8' if mode == 'mapped' else 'in memory as float32'}",
                           f"{result['peak_mib']:.0f} MiB",
                           f"own (anonymous) {result['anon_peak_mib']:.0f} MiB, file-backed {result['file_peak_mib']:.0f} "
                           f"MiB (the store's pages read, and libraries); {result['after_data_mib']:.0f} MiB with the "
                           f"data open; {RSS_BATCHES} batches + the epoch's validation and test passes", result))
        path.unlink()
    return out, found


def throughput_rows() -> tuple[list[Row], dict]:
    runs = {1: [], 2: []}
    for _ in range(ROUNDS):
        for processes in (1, 2):
            runs[processes].append(_child(["epoch"], processes))
    rate = {p: median([r["samples_per_s"] for r in found]) for p, found in runs.items()}
    out = [Row(SECTION, f"deep_ae-30 Fashion-MNIST epoch, {p} process{'es' if p > 1 else ''} "
                        f"({runs[p][0]['threads_per_process']} thread(s) each)",
               f"{rate[p]:.0f} samples/s", f"median of {ROUNDS} epochs (training only, batch 128); test error "
                                           f"{runs[p][-1]['test_sq_err']:.3f}", {"runs": runs[p], "samples_per_s": rate[p]})
           for p in runs]
    ratio = rate[2] / rate[1]
    out.append(Row(SECTION, "2 processes / 1 process, samples/s", f"{ratio:.2f}x",
                   "one 2-core machine shared with other sessions while measured; see the note", {"ratio": ratio}))
    return out, {"rate": rate, "ratio": ratio}


def rows(sizes: Sizes, results: dict) -> list[Row]:
    if sizes.quick:
        return [Row(SECTION, "stored-data RSS and 1 / 2 process throughput", "skipped (--quick)")]
    with tempfile.TemporaryDirectory(prefix="explorer-store-") as folder:
        memory, found = rss_rows(Path(folder))
    speed, ratio = throughput_rows()
    results["distributed"] = {"rss": found, "throughput": ratio}
    return memory + speed


if __name__ == "__main__":
    command = sys.argv[1]
    result = rss_child(sys.argv[2], sys.argv[3]) if command == "rss" else epoch_child()
    if result is not None:
        print(json.dumps(result))
