"""Item 6: peak resident memory of a fresh process training deep_ae-30 on Fashion-MNIST.

The child (``python -m benchmarks.memory [--quick]``) imports, loads the data, trains a number of
batches and one test pass with the Trainer, and prints its peak resident size (``VmHWM``) with the
resident size it had before training, so the table can say where the memory goes. Not
``ru_maxrss``: a child spawned by vfork + exec inherits its parent's high-water mark there, so a
child of a big benchmark process reports the parent's peak.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import Row, Sizes

ROOT = Path(__file__).resolve().parents[1]
BATCHES = 100  # peak memory is reached after the first batches and the first test pass


def _status_mib(field: str = "VmRSS") -> float:
    """A size from /proc/self/status in MiB: VmRSS now, VmHWM the peak of this process image."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
    return kib / 1024


def child(quick: bool) -> dict:
    import torch  # noqa: F401  (counted in the baseline)

    from benchmarks import data as bdata
    from benchmarks.common import Sizes
    from explorer.training import Callback, Trainer
    sizes = Sizes.quick_sizes() if quick else Sizes.full()
    after_import = _status_mib()
    dataset = bdata.dataset(sizes)
    after_data = _status_mib()

    class StopAfter(Callback):
        def on_batch_end(self, trainer, progress):
            if progress.batch >= BATCHES:
                trainer.request_stop()

    cfg = bdata.config("deep_ae", sizes, epochs=1)
    Trainer(bdata.model("deep_ae", dataset, cfg), device="cpu", callbacks=[StopAfter()]).fit(dataset)
    peak = _status_mib("VmHWM")
    return {"peak_mib": peak, "after_import_mib": after_import, "after_data_mib": after_data,
            "n_train": len(dataset.x_train), "batches": BATCHES}


def rows(sizes: Sizes) -> list[Row]:
    name = "peak RSS training deep_ae-30 (fresh process)"
    if sys.platform != "linux":
        return [Row("6 memory", name, "n/a (reads /proc; Linux only)")]
    done = subprocess.run([sys.executable, "-m", "benchmarks.memory", *(["--quick"] if sizes.quick else [])],
                          capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["failed"]
        return [Row("6 memory", name, f"n/a ({tail[0][:120]})")]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return [Row("6 memory", name, f"{result['peak_mib']:.0f} MiB",
                f"{result['after_import_mib']:.0f} MiB after imports, {result['after_data_mib']:.0f} MiB with "
                f"the data ({result['n_train']:,} images); {BATCHES} batches + a test pass", result)]


if __name__ == "__main__":
    print(json.dumps(child("--quick" in sys.argv[1:])))
