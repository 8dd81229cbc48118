"""The goals table and the rendering of RESULTS.md (also what the terminal shows)."""
from __future__ import annotations

from typing import Callable

from benchmarks.common import Row

QUALITY_TOLERANCE = 0.01  # "equal test error": within 1 % (fused Adam and the shuffling order differ)

Check = Callable[[dict], "tuple[str, bool | str | None]"]  # results -> (measured, met, None for n/a, or a status)


BF16_ONLY = "met in bf16 only (opt-in --precision bf16)"


def _met_by_precision(met: set[str]) -> bool | str:
    """Met in fp32 (the default), met only with the opt-in bf16 autocast, or missed."""
    return True if "fp32" in met else BF16_ONLY if "bf16" in met else False


def _throughput(results: dict) -> tuple[str, bool | str | None]:
    summary = results.get("throughput", {}).get("deep_ae")
    if summary is None:
        return "not measured", None
    best, text = {}, []
    for name in ("trainer", "trainer_tuned", "trainer_bf16"):
        if name not in summary:
            continue
        side, plain = summary[name], summary["plain"]
        precision = side.get("precision", "fp32")
        holds = side["test_error"] <= plain["test_error"] * (1 + QUALITY_TOLERANCE)
        text.append(f"{side['ratio']:.2f}x at batch {side['batch']}, {precision} (error "
                    f"{side['test_error']:.2f} vs {plain['test_error']:.2f}{'' if holds else ', worse'})")
        if holds:
            best[precision] = max(best.get(precision, 0.0), side["ratio"])
    return "; ".join(text), _met_by_precision({precision for precision, ratio in best.items() if ratio >= 2.0})


def _quality(results: dict) -> tuple[str, bool | str | None]:
    runs = {name: results[key] for name, key in (("fp32", "quality"), ("bf16", "quality_bf16")) if key in results}
    if not runs:
        return "not measured", None
    text = "; ".join(f"{name} " + (f"{r['seconds']:.1f} s ({r['epochs']} epochs)" if r["seconds"] is not None
                                   else f"not reached within {r['budget_s']:.0f} s ({r['epochs']} epochs)")
                     for name, r in runs.items())
    return text, _met_by_precision({name for name, r in runs.items() if r["seconds"] is not None and r["seconds"] <= 60})


def _p95(key: str, limit_ms: float) -> Check:
    def check(results: dict) -> tuple[str, bool | None]:
        stats = results.get("latency", {}).get(key)
        if stats is None:
            return "n/a", None
        return f"p95 {stats['p95_ms']:.2f} ms", stats["p95_ms"] < limit_ms
    return check


def _fresh_umap(results: dict) -> tuple[str, bool | None]:
    fresh = results.get("fresh_umap", {})
    if not fresh:
        return "n/a", None
    text = ", ".join(f"{mode} {r['request_to_map_s']:.1f} s" for mode, r in fresh.items())
    return text, min(r["request_to_map_s"] for r in fresh.values()) < 15


def _simple(key: str, field: str, limit: float, unit: str) -> Check:
    def check(results: dict) -> tuple[str, bool | None]:
        value = (results.get(key) or {}).get(field)
        if value is None:
            return "n/a", None
        return f"{value:.{1 if unit == 's' else 0}f} {unit}", value < limit
    return check


def _interaction(results: dict) -> tuple[str, bool | None]:
    measured = [m for runs in results.get("interaction", {}).values() for m in runs]
    if not measured:
        return "n/a", None
    worst = max(measured, key=lambda m: m["max_ms"])  # "every interaction": the slowest single rerun
    return (f"slowest rerun {worst['max_ms']:.0f} ms ({worst['page']}: {worst['interaction']}; its median "
            f"{worst['median_ms']:.0f} ms) over {len(measured)} interactions", worst["max_ms"] < 300)


def _first_use(results: dict) -> tuple[str, bool | None]:
    slowest = results.get("first_use")
    if not slowest:
        return "n/a", None
    profile = "; ".join(f"{share:.0%} {place}" for place, share in slowest.get("profile", [])[:3])
    return (f"slowest step {slowest['seconds']:.2f} s ({slowest['dataset']}: {slowest['step']})"
            + (f"; profile: {profile}" if profile else ""), slowest["seconds"] <= 2.0)


GOALS: list[tuple[str, str, Check]] = [
    ("throughput vs plain loop, deep_ae, CPU", ">= 2.0x at equal or better test error", _throughput),
    ("time to quality, deep_ae-30 (<= 0.75 x PCA-30)", "<= 60 s", _quality),
    ("decode p95", "< 10 ms", _p95("decode", 10)),
    ("top-10 search over 60k p95", "< 5 ms", _p95("search", 5)),
    ("place a new point p95 (UMAP, warm)", "< 100 ms", _p95("place_umap", 100)),
    ("place a new point p95 (PCA)", "< 100 ms", _p95("place_pca", 100)),
    ("page interaction after the first load (issue 4)", "< 300 ms", _interaction),
    ("first UMAP of 10k points, fresh process (best way)", "< 15 s", _fresh_umap),
    ("cold start to first latent map", "< 8 s", _simple("cold_start", "seconds", 8, "s")),
    ("first use: every first page visit and shipped-model load (issue 12)", "<= 2 s", _first_use),
    ("peak memory training deep_ae", "< 2 GB (2048 MiB)", _simple("memory", "peak_mib", 2048, "MiB")),
    ("GPU epoch of deep_ae", "< 0.5 s", _simple("gpu", "epoch_seconds", 0.5, "s")),
]


def goal_rows(results: dict) -> list[Row]:
    out = []
    for name, target, check in GOALS:
        measured, met = check(results)
        status = met if isinstance(met, str) else "n/a" if met is None else ("met" if met else "MISSED")
        out.append(Row("goals", name, status, f"target {target}; measured {measured}"))
    return out


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(rows: list[Row]) -> str:
    lines = ["| section | measurement | result | detail |", "|---|---|---|---|"]
    lines += [f"| {_cell(r.section)} | {_cell(r.name)} | {_cell(r.value)} | {_cell(r.detail)} |" for r in rows]
    return "\n".join(lines)


def markdown(machine: dict, rows: list[Row], goals: list[Row], notes: list[str], seconds: float) -> str:
    header = ", ".join(f"{k} {v}" for k, v in machine.items())
    parts = ["# Benchmark results", "", "Written by `python -m benchmarks`; every ratio comes from runs alternated "
             "in the same process. Medians over runs; latencies are p50/p95 over single calls.", "",
             f"Machine: {header}. Run took {seconds / 60:.1f} min.", "", "## Goals", "", table(goals), "",
             "## Measurements", "", table(rows)]
    if notes:
        parts += ["", "## Notes", ""] + notes
    return "\n".join(parts) + "\n"
