"""Item 4 and the "place a point" rows of item 3: PCA / UMAP maps of 10k codes.

In this process: PCA and UMAP fit times (UMAP after its numba code is compiled), and one new point
placed per call. In fresh processes (:mod:`benchmarks.umap_fresh`): the first UMAP fit with an
empty numba cache, with a filled one, and with the filled cache plus the app's background warm-up.
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

from benchmarks.common import Row, Sizes, b2b_text, latency_text, median
from benchmarks.latency import place_stats

FRESH_MODES = (("cold", "empty numba cache"), ("cache", "numba cache filled by the cold run"),
               ("background", "cache filled, JIT warmed in a thread at start-up as the app does, map asked for 8 s later"))


def _projection():
    try:
        from explorer import projection
    except ImportError:
        return None
    return projection


def in_process(codes: np.ndarray, new_codes: np.ndarray, sizes: Sizes, results: dict) -> list[Row]:
    projection = _projection()
    names = ("4 projection", "3 latency")
    if projection is None:
        return [Row(names[0], "PCA / UMAP fit", "n/a (explorer/projection.py not written yet)"),
                Row(names[1], "place 1 new point", "n/a (explorer/projection.py not written yet)")]
    out = []
    pca_times = [projection.PCAProjector().fit(codes).fit_seconds_ for _ in range(3)]
    out.append(Row(names[0], f"PCA fit on {len(codes):,} codes (K={codes.shape[1]})",
                   f"{median(pca_times) * 1e3:.1f} ms", "median of 3", {"seconds": median(pca_times)}))
    projectors = [("PCA", projection.PCAProjector().fit(codes))]
    if sizes.umap:
        out.append(_umap_warm(projection, codes, projectors))
    else:
        out += [Row(names[0], f"UMAP fit on {len(codes):,} codes, warm (JIT done)", "skipped (--quick)"),
                Row(names[1], f"place 1 new point on a UMAP map of {len(codes):,}", "skipped (--quick)")]
    for kind, projector in projectors:
        stats = place_stats(projector, new_codes, sizes.latency_calls)
        results.setdefault("latency", {})[f"place_{kind.lower()}"] = stats
        out.append(Row(names[1], f"place 1 new point on a {kind} map of {len(codes):,}", latency_text(stats),
                       f"first call {stats['first_ms']:.1f} ms; {b2b_text(stats)}", stats))
    return out


def _umap_warm(projection, codes: np.ndarray, projectors: list) -> Row:
    """UMAP's fit time once numba has compiled (after the app's background warm-up fit)."""
    start = time.perf_counter()
    projection.warm_umap_in_background(delay_s=0).join()
    warm_s = time.perf_counter() - start
    umap = projection.UMAPProjector().fit(codes)
    projectors.append(("UMAP", umap))
    return Row("4 projection", f"UMAP fit on {len(codes):,} codes, warm (JIT done)", f"{umap.fit_seconds_:.1f} s",
               f"warm-up fit in this process took {warm_s:.1f} s", {"seconds": umap.fit_seconds_, "warmup_s": warm_s})


def _fresh(codes_path: Path, mode: str, cache_dir: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-m", "benchmarks.umap_fresh", str(codes_path), mode],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1],
                          timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fresh_process(codes: np.ndarray, sizes: Sizes, results: dict) -> list[Row]:
    section = "4 projection"
    if not sizes.fresh_process:
        return [Row(section, f"first UMAP in a fresh process ({label})", "skipped (--quick)")
                for _, label in FRESH_MODES]
    if _projection() is None:
        return [Row(section, "first UMAP in a fresh process", "n/a (explorer/projection.py not written yet)")]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        codes_path = Path(tmp) / "codes.npy"
        np.save(codes_path, codes)
        shared_cache = Path(tmp) / "numba-cache"
        for mode, label in FRESH_MODES:
            # cold fills shared_cache, the others reuse it (as every process after a machine's first does)
            try:
                result = _fresh(codes_path, mode, shared_cache)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                out.append(Row(section, f"first UMAP in a fresh process ({label})", f"n/a ({error})"))
                continue
            results.setdefault("fresh_umap", {})[mode] = result
            out.append(Row(section, f"first UMAP in a fresh process ({label})",
                           f"{result['request_to_map_s']:.1f} s from request to map",
                           f"{result['since_start_s']:.1f} s since process start; fit {result['fit_s']:.1f} s "
                           f"on {result['n']:,} codes", result))
    return out
