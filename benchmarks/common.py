"""What every benchmark shares: sizes for --quick and full runs, rows, timers and the machine."""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is. ``full()`` is the issue's sizes; ``quick()`` runs in seconds."""
    quick: bool
    dataset: str                 # "fashion-mnist", or "synthetic" (28x28 random bars) for --quick
    n_train: int | None          # None: the whole split
    n_test: int | None
    deep_hidden: str             # deep_ae encoder widths (784-1000-500-250-30 in the paper)
    vae_hidden: str
    conv_channels: int
    epochs: dict[str, int]       # epochs per throughput run, per variant
    rounds: dict[str, int]       # alternating rounds (each side runs once per round), per variant
    subset: dict[str, int]       # throughput on the first N training images only, per variant
    quality_budget_s: float      # time-to-quality run stops after this
    latency_calls: int           # calls per latency figure (p50 / p95 over them)
    search_n: int                # codes in the search index (the 60k training codes)
    projection_n: int            # codes a map is fitted on
    fresh_process: bool          # run the fresh-process rows (UMAP JIT, memory, cold start)
    umap: bool                   # fit UMAP in this process (its numba JIT alone takes ~20 s)
    tuned_batch: int = 512       # the Trainer's tuned batch (learning rate scaled by sqrt)
    quality_batch: int = 128     # batch and rate of the time-to-quality run
    quality_lr: float = 1e-3
    extra: dict = field(default_factory=dict)

    @classmethod
    def full(cls) -> "Sizes":
        return cls(quick=False, dataset="fashion-mnist", n_train=None, n_test=None,
                   deep_hidden="1000,500,250", vae_hidden="512", conv_channels=32,
                   epochs={"deep_ae": 1, "vae": 1, "conv_ae": 1}, rounds={"deep_ae": 3, "vae": 3, "conv_ae": 2},
                   subset={"conv_ae": 10_000}, quality_budget_s=900.0,
                   latency_calls=200, search_n=60_000, projection_n=10_000, fresh_process=True, umap=True)

    @classmethod
    def quick_sizes(cls) -> "Sizes":
        return cls(quick=True, dataset="synthetic", n_train=256, n_test=64, deep_hidden="64,32,16",
                   vae_hidden="32", conv_channels=4, epochs={"deep_ae": 1, "vae": 1, "conv_ae": 1},
                   rounds={"deep_ae": 1, "vae": 1, "conv_ae": 1}, subset={"conv_ae": 128}, quality_budget_s=1.0, latency_calls=20, search_n=2_000, projection_n=200,
                   fresh_process=False, umap=False, tuned_batch=256)


@dataclass
class Row:
    """One line of the results table. ``value`` is what is printed; ``numbers`` go to --json."""
    section: str
    name: str
    value: str
    detail: str = ""
    numbers: dict = field(default_factory=dict)


def na(section: str, name: str, reason: str) -> Row:
    return Row(section, name, f"n/a ({reason})")


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    values = np.asarray(samples_s) * 1e3
    return {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)),
            "calls": len(values)}


INTERACTION_PAUSE_S = 0.01  # between timed UI calls: users act at most every few tens of ms


def time_calls(fn: Callable[[int], object], calls: int, warmup: int = 3, pause_s: float = 0.0) -> dict[str, float]:
    """p50 / p95 of ``fn(i)`` over ``calls`` calls after ``warmup`` untimed ones, ``pause_s`` apart."""
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(calls):
        if pause_s:
            time.sleep(pause_s)
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def time_interaction(fn: Callable[[int], object], calls: int, warmup: int = 3) -> dict[str, float]:
    """UI call latency: calls spaced :data:`INTERACTION_PAUSE_S` apart, as a user makes them (the
    p50/p95 the goals use), and back to back (``b2b_*``), which on a loaded machine also measures how
    often the scheduler preempts a process that never sleeps."""
    spaced = time_calls(fn, calls, warmup, INTERACTION_PAUSE_S)
    b2b = time_calls(fn, calls, 0)
    return {**spaced, "b2b_p50_ms": b2b["p50_ms"], "b2b_p95_ms": b2b["p95_ms"]}


def latency_text(stats: dict[str, float]) -> str:
    return f"p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms"


def b2b_text(stats: dict[str, float]) -> str:
    return f"back to back: p50 {stats['b2b_p50_ms']:.2f} ms, p95 {stats['b2b_p95_ms']:.2f} ms"


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"
    except OSError:
        return "unknown"


def machine() -> dict[str, str]:
    """CPU count, torch version, device and load: the header of RESULTS.md."""
    import torch
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_count": str(os.cpu_count()), "torch_threads": str(torch.get_num_threads()),
            "torch": torch.__version__, "python": platform.python_version(), "gpu": cuda,
            "load_average_1_5_15": load_average()}
