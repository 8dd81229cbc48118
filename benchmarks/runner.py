"""``python -m benchmarks``: run every section, print rows as they come, then the goals, and write
RESULTS.md (full runs; --quick writes only where --results says) and --json."""
from __future__ import annotations

import argparse
import json
import time
import traceback
from contextlib import nullcontext
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import torch

from benchmarks import (classroom, coldstart, firstuse, gpu, interaction, latency, levers, map_interaction, maps, memory,
                        notes, profile, report, throughput)
from benchmarks import data as bdata
from benchmarks import ddp, retrieval
from benchmarks.common import Row, Sizes, machine
from explorer.threads import torch_threads

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
VARIANTS = ("deep_ae", "vae", "conv_ae")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds; for the smoke test")
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument("--results", type=Path, help="markdown output (default: benchmarks/RESULTS.md for full "
                                                     "runs, none for --quick)")
    parser.add_argument("--epochs", type=int, help="epochs per throughput run, all variants")
    parser.add_argument("--rounds", type=int, help="alternating rounds per throughput comparison")
    parser.add_argument("--render", type=Path, metavar="JSON", help="only rewrite the markdown from a --json file")
    return parser.parse_args(argv)


class Run:
    """Collects rows (printed as they arrive), results for the goals, and notes."""

    def __init__(self, sizes: Sizes):
        self.sizes, self.rows, self.results, self.notes = sizes, [], {}, []

    def add(self, rows: list[Row]) -> None:
        for row in rows:
            print(f"[{row.section}] {row.name}: {row.value}" + (f"  ({row.detail})" if row.detail else ""), flush=True)
        self.rows += rows

    def section(self, section: str, name: str, fn: Callable[[], list[Row]]) -> None:
        """Run one benchmark; a crash becomes an "error (...)" row so the other sections still run."""
        start = time.perf_counter()
        try:
            self.add(fn())
        except Exception as error:  # noqa: BLE001  (a benchmark's failure is a result to report)
            traceback.print_exc()
            self.add([Row(section, name, f"error ({type(error).__name__}: {str(error)[:150]})")])
        print(f"    ({section} / {name}: {time.perf_counter() - start:.1f} s)", flush=True)


def training_sections(run: Run, dataset, cpu: torch.device) -> dict:
    """Items 1 and 2; returns the time-to-quality model (or None) for the later sections."""
    sizes, out = run.sizes, {}

    def one(variant):
        def go():
            summary = throughput.compare(variant, dataset, sizes, cpu)
            run.results.setdefault("throughput", {})[variant] = summary
            return throughput.rows(summary)
        return go

    for variant in VARIANTS:
        run.section("1 throughput", variant, one(variant))

    def quality(precision: str, key: str):
        def go():
            result, model = throughput.time_to_quality(dataset, sizes, cpu, sizes.quality_batch, sizes.quality_lr,
                                                       precision)
            run.results[key] = result
            out.setdefault("model", model)  # the fp32 model, trained first, serves the later sections
            return [throughput.quality_row(result)]
        return go

    run.section("2 time to quality", "deep_ae-30", quality("fp32", "quality"))
    run.section("2 time to quality", "deep_ae-30, bf16", quality("bf16", "quality_bf16"))
    return out


def explore_sections(run: Run, dataset, model) -> None:
    """Levers, latency, maps: all on the time-to-quality model."""
    sizes, codes = run.sizes, {}
    chosen = run.results.get("throughput", {}).get("deep_ae", {}).get("trainer", {}).get("threads_chosen")
    threads = max(set(chosen), key=chosen.count) if chosen else torch.get_num_threads()  # the Trainer's pick
    run.section("0 levers", "training steps", lambda: levers.training_rows(model, dataset, sizes, threads))

    def lat():
        rows, found = latency.run(model, dataset, sizes, run.results)
        codes.update(found)
        return rows

    run.section("3 latency", "decode / search / denoise", lat)
    run.section("0 levers", "decode", lambda: levers.decode_rows(model, codes["test_codes"], sizes))
    run.section("0 levers", "search", lambda: levers.search_rows(codes["train_codes"], codes["test_codes"], sizes))
    fit_codes = codes["test_codes"][:sizes.projection_n]
    run.section("4 projection", "in process", lambda: maps.in_process(fit_codes, codes["train_codes"], sizes,
                                                                      run.results))
    run.section("4 projection", "fresh process", lambda: maps.fresh_process(fit_codes, sizes, run.results))


def process_sections(run: Run, dataset) -> None:
    def keep(key: str, rows: list[Row], field: str) -> list[Row]:
        if field in rows[0].numbers:
            run.results[key] = rows[0].numbers
        return rows

    quick_row = [Row("6 memory", "peak RSS training deep_ae-30 (fresh process)", "skipped (--quick)")]
    run.section("6 memory", "peak RSS", lambda: keep("memory", memory.rows(run.sizes), "peak_mib")
                if run.sizes.fresh_process else quick_row)
    run.section("3 latency", "page interactions", lambda: interaction.rows(run.sizes, run.results))
    run.section(map_interaction.SECTION, "10,000-point maps", lambda: map_interaction.rows(run.sizes, run.results))
    run.section("5 cold start", coldstart.NAME, lambda: keep("cold_start", coldstart.rows(run.sizes), "seconds"))
    run.section(firstuse.SECTION, "walk", lambda: keep("first_use", firstuse.rows(run.sizes), "seconds"))
    run.section("7 GPU", "deep_ae", lambda: gpu.rows(dataset, run.sizes, run.results))
    run.section(ddp.SECTION, "stored data and processes", lambda: ddp.rows(run.sizes, run.results))
    run.section(classroom.SECTION, "30 sessions", lambda: keep("classroom", classroom.rows(run.sizes), "errors"))


def ceiling_section(run: Run, dataset, model) -> None:
    """Where deep_ae's training time goes (torch.profiler, in this run) and the floor that its matrix
    products alone put under a step, in fp32 and bf16: how far any loop could beat the plain one."""
    plain = run.results.get("throughput", {}).get("deep_ae", {}).get("plain")
    if model is None or plain is None:
        return
    threads = torch.get_num_threads()
    table, share = profile.training_profile(model, dataset, threads)
    run.results["profile"] = {"matmul_share": share, "threads": threads}
    run.notes += [f"Where deep_ae training time goes (torch.profiler, 8 steps of batch 128, {threads} thread(s), "
                  f"the Trainer's fused Adam; self CPU time; matrix products {share:.0%} of it):", "", "```",
                  table, "```", "",
                  f"The plain loop's DataLoader alone (TensorDataset indexing + collate) costs "
                  f"{profile.dataloader_ms_per_batch(dataset):.2f} ms per batch of 128.", ""]

    def floors():
        plain_step = bdata.PLAIN_BATCH / plain["samples_per_s"]
        out = []
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            floor = profile.gemm_floor_seconds(model, bdata.PLAIN_BATCH, threads, dtype)
            run.results.setdefault("gemm_floor", {})[name] = {"seconds": floor, "max_ratio": plain_step / floor}
            out.append(Row("1 throughput", f"deep_ae step's matrix products alone, {name} (batch 128, {threads} "
                           "thread(s))", f"{floor * 1e3:.2f} ms: any {name} loop <= {plain_step / floor:.2f}x plain",
                           f"the plain loop takes {plain_step * 1e3:.2f} ms a step, test pass included",
                           {"seconds": floor, "max_ratio": plain_step / floor}))
        return out

    run.section("1 throughput", "matmul floor", floors)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # --quick is a smoke run: one thread keeps it to seconds on a busy machine (see ThreadChoice);
    # callers in-process get their thread count back
    with torch_threads(1) if args.quick else nullcontext():
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    if args.render is not None:
        write(json.loads(args.render.read_text()), args.results or RESULTS)
        return 0
    sizes = Sizes.quick_sizes() if args.quick else Sizes.full()
    if args.epochs:
        sizes = replace(sizes, epochs={k: args.epochs for k in sizes.epochs})
    if args.rounds:
        sizes = replace(sizes, rounds={k: args.rounds for k in sizes.rounds})
    started, run = time.perf_counter(), Run(sizes)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    dataset, cpu = bdata.dataset(sizes), torch.device("cpu")
    trained = training_sections(run, dataset, cpu)
    model = trained.get("model")
    if model is None:  # time to quality failed: the latency rows still need a model
        model = bdata.model("deep_ae", dataset, bdata.config("deep_ae", sizes, epochs=1))
    explore_sections(run, dataset, model.eval())
    process_sections(run, dataset)
    run.section(retrieval.SECTION, "engines and indexing", lambda: retrieval.rows(run.sizes))
    ceiling_section(run, dataset, trained.get("model"))
    goals = report.goal_rows(run.results)
    info["load_average_1_5_15"] += f" at start, {machine()['load_average_1_5_15']} at end"
    payload = {"machine": info, "sizes": asdict(sizes), "seconds": time.perf_counter() - started,
               "rows": [asdict(r) for r in run.rows], "goals": [asdict(g) for g in goals],
               "results": run.results, "profile_notes": run.notes}
    if args.json is not None:
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    write(payload, args.results if args.results is not None else (None if args.quick else RESULTS))
    return 0


def write(payload: dict, target: Path | None) -> None:
    """Print the markdown of a run (goals recomputed from its results) and write it to ``target``."""
    rows = [Row(**row) for row in payload["rows"]]
    text = report.markdown(payload["machine"], rows, report.goal_rows(payload["results"]),
                           notes.notes(payload["results"]) + payload["profile_notes"], payload["seconds"])
    print("\n" + text)
    if target is not None:
        target.write_text(text)
        print(f"wrote {target}")
