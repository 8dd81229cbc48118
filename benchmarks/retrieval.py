"""Issue 15: retrieval at scale. Each figure comes from a fresh child process, so its peak RSS
(VmHWM) is its own: ``python -m benchmarks.retrieval codes ENGINE N KIND`` builds an engine over N
30-D codes and times single top-10 queries; ``folder N`` indexes a folder of N 28x28 PNGs through the
shipped Fashion-MNIST deep_ae-30 (``python -m explorer index``'s code path).

Codes are "encoded" (Fashion-MNIST's 70k images, shifted by up to 2 pixels and noised, through
deep_ae-30: real codes with their clusters) or "random" (standard normal: no structure, the worst
case for any partitioning index). Recall@10 is against exact search, for held-out queries.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Row, Sizes, latency_text, time_interaction

SECTION = "11 retrieval"
ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "pretrained" / "fashion-mnist" / "deep_ae-30"
CACHE = Path(tempfile.gettempdir()) / "explorer-bench-retrieval"
FULL = {"codes": 1_000_000, "folders": (20_000, 100_000), "milvus": 100_000, "queries": 200}
QUICK = {"codes": 5_000, "folders": (100,), "milvus": 2_000, "queries": 20}
SHIFT, NOISE = 2, 0.05


def _peak_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def _children_peak_mib() -> float:
    """Peak RSS of this process's children (Milvus Lite's server), summed."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().split(") ")[1].split()[1] == str(os.getpid()):
                total += _peak_mib(entry.name)
        except (OSError, IndexError, StopIteration):
            continue
    return total


def augmented(images: np.ndarray, seed: int) -> np.ndarray:
    """Each (1, 28, 28) image shifted by up to SHIFT pixels each way and noised by N(0, NOISE)."""
    rng = np.random.default_rng(seed)
    dy, dx = rng.integers(-SHIFT, SHIFT + 1, 2)
    moved = np.roll(images, (int(dy), int(dx)), axis=(2, 3))
    return np.clip(moved + rng.normal(0, NOISE, moved.shape).astype(np.float32), 0, 1)


def codes_file(n: int, kind: str, quick: bool) -> Path:
    """(n + queries, 30) codes cached on disk; the last ``queries`` rows, a random sample, are the held-out
    queries: never indexed, drawn like the indexed ones."""
    queries = (QUICK if quick else FULL)["queries"]
    path = CACHE / f"codes-{kind}-{n}.npy"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    if kind == "random":
        codes = np.random.default_rng(0).standard_normal((n + queries, 30), dtype=np.float32)
    else:
        from explorer.checkpoint import load
        from explorer.data import load_dataset
        fashion, model = load_dataset("fashion-mnist"), load(MODEL).model
        images = np.concatenate([fashion.x_train, fashion.x_test])
        blocks, block = [], 0
        while sum(len(b) for b in blocks) < n + queries:
            blocks.append(model.encode_array(augmented(images, block), batch_size=4096))
            block += 1
        # shuffled, so the held-out last rows are a random sample of the same blocks (a random split)
        codes = np.random.default_rng(1).permutation(np.concatenate(blocks)[:n + queries])
    np.save(path, codes.astype(np.float32))
    return path


def measure_codes(engine: str, n: int, kind: str, quick: bool) -> dict:
    """Child: build ``engine`` over n codes; single-query top-10 latency and recall@10 vs exact."""
    from explorer.retrieval.engines import new_index
    from explorer.search import CodeIndex
    sizes = QUICK if quick else FULL
    everything = np.load(codes_file(n, kind, quick))
    codes, queries = everything[:n], everything[n:]
    started = time.perf_counter()
    index = new_index(engine, "euclidean", str(CACHE / f"milvus-{n}.db"), f"bench_{kind}_{n}").fit(codes)
    build_s = time.perf_counter() - started
    truth, _ = CodeIndex(chunk_size=10).fit(codes).search(queries, 10)  # 10 queries at a time: 40 MB at 1M
    found = np.concatenate([index.search(q[None], 10)[0] for q in queries])
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
    stats = time_interaction(lambda i: index.search(queries[i % len(queries)][None], 10), sizes["queries"])
    server = _children_peak_mib()
    getattr(index, "close", lambda: None)()
    return {**stats, "build_s": build_s, "recall_at_10": recall, "peak_mib": _peak_mib(), "server_peak_mib": server,
            "nprobe": getattr(index, "nprobe", None), "calibrated_recall": getattr(index, "recall_", None),
            "structure": getattr(index, "factory_", None)}


def png_folder(n: int, quick: bool = False) -> Path:
    """n 28x28 grey PNGs in ten class folders: Fashion-MNIST images, shifted and noised past 70k
    (the synthetic bars for --quick)."""
    from PIL import Image
    folder = CACHE / f"pngs-{'quick-' if quick else ''}{n}"
    if (folder / "done").is_file():
        return folder
    from benchmarks.data import synthetic
    from explorer.data import load_dataset
    source = synthetic(n, 1) if quick else load_dataset("fashion-mnist")
    images, labels = np.concatenate([source.x_train, source.x_test]), np.concatenate([source.y_train, source.y_test])
    for start in range(0, n, len(images)):
        batch = images if start == 0 else augmented(images, start)
        for i in range(min(len(images), n - start)):
            path = folder / f"class{labels[i]}" / f"{start + i:07d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.round(batch[i, 0] * 255).astype(np.uint8)).save(path)
    (folder / "done").touch()
    return folder


def measure_folder(n: int, quick: bool) -> dict:
    """Child: ``index`` a folder of n PNGs through deep_ae-30; images/s and peak RSS."""
    from explorer.retrieval.build import build
    folder = png_folder(n, quick)
    with tempfile.TemporaryDirectory(dir=CACHE) as out:
        started = time.perf_counter()
        manifest = build(MODEL, str(folder), Path(out) / "index", progress=False)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "images_per_s": manifest["counts"]["indexed"] / seconds, "peak_mib": _peak_mib(),
            "indexed": manifest["counts"]["indexed"], "engine": manifest["engine"]["kind"]}


def _child(*args: str, quick: bool) -> dict:
    """A measurement in a fresh process; in this one for --quick, a smoke run where RSS says little."""
    if quick:
        if args[0] == "codes":
            return measure_codes(args[1], int(args[2]), args[3], quick)
        return measure_folder(int(args[1]), quick)
    done = subprocess.run([sys.executable, "-m", "benchmarks.retrieval", *args, *(["--quick"] if quick else [])],
                          capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["failed"])[-1][:150])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _codes_row(engine: str, n: int, kind: str, quick: bool) -> Row:
    codes_file(n, kind, quick)  # encoded here, outside the measured child
    result = _child("codes", engine, str(n), kind, quick=quick)
    probe = f", {result['structure']} at nprobe {result['nprobe']}" if result.get("nprobe") else ""
    server = f" + Milvus server {result['server_peak_mib']:.0f} MiB" if result["server_peak_mib"] else ""
    return Row(SECTION, f"{engine} over {n:,} {kind} 30-D codes: single top-10",
               f"{latency_text(result)}, recall@10 {result['recall_at_10']:.3f}",
               f"build {result['build_s']:.1f} s{probe}; peak RSS {result['peak_mib']:.0f} MiB{server}", result)


def _folder_row(n: int, quick: bool) -> Row:
    png_folder(n, quick)  # made here, outside the measured child
    result = _child("folder", str(n), quick=quick)
    return Row(SECTION, f"index a folder of {n:,} 28x28 PNGs through deep_ae-30",
               f"{result['images_per_s']:.0f} images/s, peak RSS {result['peak_mib']:.0f} MiB",
               f"{result['seconds']:.1f} s, {result['indexed']:,} indexed, engine {result['engine']}", result)


def rows(sizes: Sizes) -> list[Row]:
    """Every retrieval figure of issue 15, in one run."""
    scale = QUICK if sizes.quick else FULL
    kinds = ("random",) if sizes.quick else ("encoded", "random")
    approximate = [_codes_row("faiss-ivf", scale["codes"], kind, sizes.quick) for kind in kinds]
    out = [row for kind, ivf in zip(kinds, approximate)  # each kind's exact row beside its approximate one
           for row in (_codes_row("exact", scale["codes"], kind, sizes.quick), ivf)]
    out += [_goal_row(row) for row in approximate]
    folders = [_folder_row(n, sizes.quick) for n in scale["folders"]]
    out += folders + ([_growth_row(*folders)] if len(folders) == 2 else [])
    out += [_codes_row(engine, scale["milvus"], kinds[0], sizes.quick) for engine in ("milvus", "faiss-ivf", "exact")]
    return out


def _growth_row(small: Row, large: Row) -> Row:
    """How much indexing's peak RSS grows with the collection (issue 15: it must not)."""
    grown = large.numbers["peak_mib"] - small.numbers["peak_mib"]
    images = large.numbers["indexed"] - small.numbers["indexed"]
    return Row(SECTION, f"indexing's peak RSS, {large.numbers['indexed']:,} images less {small.numbers['indexed']:,}",
               f"{grown:+.1f} MiB", f"{grown * 2**20 / images:.0f} bytes an image more", {"grown_mib": grown})


def _goal_row(row: Row) -> Row:
    """Issue 15's goals for one approximate index: build <= 60 s, p95 <= 5 ms at recall@10 >= 0.95, <= 1 GB."""
    result = row.numbers
    checks = {"build <= 60 s": result["build_s"] <= 60, "p95 <= 5 ms": result["p95_ms"] <= 5,
              "recall@10 >= 0.95": result["recall_at_10"] >= 0.95, "peak RSS <= 1024 MiB": result["peak_mib"] <= 1024}
    missed = [name for name, met in checks.items() if not met]
    return Row(SECTION, f"goals for {row.name.split(':')[0]}", "met" if not missed else "MISSED: " + ", ".join(missed),
               "build <= 60 s, single-query p95 <= 5 ms at recall@10 >= 0.95, peak RSS <= 1 GB")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    quick_run = "--quick" in sys.argv[1:]
    if arguments and arguments[0] == "codes":
        print(json.dumps(measure_codes(arguments[1], int(arguments[2]), arguments[3], quick_run)))
    elif arguments and arguments[0] == "folder":
        print(json.dumps(measure_folder(int(arguments[1]), quick_run)))
    else:
        for row in rows(Sizes.quick_sizes() if quick_run else Sizes.full()):
            print(f"| {row.name} | {row.value} | {row.detail} |", flush=True)
