"""The speed levers one at a time: per-step training rate of deep_ae-30 with one setting changed.

Every setting keeps its own copy of the same weights (the time-to-quality model, so the logits
are as trained) and its own Adam; settings alternate within each round, a few steps each, the
first setting of a round rotating, and a ratio is the median step rate of the lever against the
median of the reference, all in this one process. The reference is what the Trainer now does.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import torch

from benchmarks.common import INTERACTION_PAUSE_S, Row, Sizes, median, time_calls
from benchmarks.latency import to_uint8
from explorer import search
from explorer.search import CodeIndex
from explorer.threads import one_thread, torch_threads
from explorer.tensors import as_tensor


@dataclass(frozen=True)
class Setting:
    flush: bool = False       # torch.set_flush_denormal
    threads: int = 1          # torch.set_num_threads
    adam: str = "fused"       # fused (explorer's adam()) | foreach | loop (torch's CPU default)
    batch: int = 128
    bf16: bool = False        # torch.autocast("cpu", bfloat16): the Trainer's precision="bf16" option
    compiled: bool = False    # torch.compile (inductor) of the model's loss


def _adam(parameters, kind: str) -> torch.optim.Adam:
    options = {"fused": {"fused": True}, "foreach": {"foreach": True}, "loop": {"foreach": False}}[kind]
    return torch.optim.Adam(parameters, lr=1e-3, **options)


def _rates(model, x: torch.Tensor, settings: dict[str, Setting], rounds: int,
           steps: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median samples/s of each setting over ``rounds`` x ``steps`` timed steps (first of each round
    untimed), and the seconds of each compiled setting's first step (its compiling)."""
    copies = {}
    for name, setting in settings.items():
        own = copy.deepcopy(model).train()
        copies[name] = (own, torch.compile(own.loss) if setting.compiled else own.loss,
                        _adam(own.parameters(), setting.adam))
    rates: dict[str, list[float]] = {name: [] for name in settings}
    first_step: dict[str, float] = {}
    generator = torch.Generator().manual_seed(0)
    names = list(settings)
    try:
        for r in range(rounds):  # the first setting of a round rotates (a thread switch lingers)
            for name in names[r % len(names):] + names[:r % len(names)]:
                setting = settings[name]
                torch.set_flush_denormal(setting.flush)
                own, loss_of, optimizer = copies[name]
                with torch_threads(setting.threads):
                    for step in range(steps + 1):
                        batch = x[torch.randint(0, len(x), (setting.batch,), generator=generator)]
                        start = time.perf_counter()
                        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=setting.bf16):
                            loss = sum(loss_of(batch).values())
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        optimizer.step()
                        if step:
                            rates[name].append(setting.batch / (time.perf_counter() - start))
                        else:
                            first_step.setdefault(name, time.perf_counter() - start)
    finally:
        torch.set_flush_denormal(False)  # torch's default; it has no getter to restore from
    compiling = {name: first_step[name] for name, setting in settings.items() if setting.compiled}
    return {name: median(values) for name, values in rates.items()}, compiling


def training_rows(model, dataset, sizes: Sizes, threads: int) -> list[Row]:
    """Each lever against the reference (what the Trainer does, at the thread count it chose)."""
    x = as_tensor(dataset.x_train)
    other_threads = 1 if threads > 1 else torch.get_num_threads()
    reference = Setting(threads=threads)
    settings = {"reference": reference,
                "denormals flushed (not adopted)": replace(reference, flush=True),
                "foreach Adam": replace(reference, adam="foreach"),
                "for-loop Adam (torch's CPU default)": replace(reference, adam="loop"),
                f"batch {sizes.tuned_batch} (per sample; costs quality per epoch)": replace(reference, batch=sizes.tuned_batch),
                "bf16 autocast (the Trainer's opt-in precision='bf16')": replace(reference, bf16=True)}
    if not sizes.quick:  # compiling takes 10-25 s a setting; a busy machine makes threads a matter of minutes
        settings["torch.compile of the loss (not adopted)"] = replace(reference, compiled=True)
        settings["torch.compile of the loss, bf16 autocast"] = replace(reference, compiled=True, bf16=True)
        if other_threads != threads:
            settings[f"{other_threads} thread(s)"] = replace(reference, threads=other_threads)
    rounds, steps = (1, 2) if sizes.quick else (2 * len(settings), 4)
    rates, compiling = _rates(model, x, settings, rounds, steps)
    base = rates["reference"]
    out = [Row("0 levers", f"reference (the Trainer): fused Adam, {threads} thread(s), batch 128",
               f"{base:.0f} samples/s", "deep_ae-30 training steps", {"samples_per_s": base})]
    rate_of = {setting: rates[name] for name, setting in settings.items()}
    for name, rate in rates.items():
        if name == "reference":
            continue
        numbers, detail = {"ratio": rate / base, "samples_per_s": rate}, f"{rate:.0f} samples/s"
        if name in compiling:  # against the same setting uncompiled
            uncompiled = rate_of.get(replace(settings[name], compiled=False), base)
            numbers["compile_s"] = compiling[name]
            detail += (f"; compiling took {compiling[name]:.1f} s, paid back against the same setting uncompiled "
                       f"after {_payback_steps(compiling[name], uncompiled, rate)} steps of batch 128")
        out.append(Row("0 levers", f"... with {name}", f"{rate / base:.2f}x reference", detail, numbers))
    return out


def _payback_steps(compile_s: float, base_rate: float, rate: float, batch: int = 128) -> str:
    """Steps after which a faster compiled step has saved its compiling time ("never" if not faster)."""
    saved_per_step = batch / base_rate - batch / rate
    return f"{compile_s / saved_per_step:,.0f}" if saved_per_step > 0 else "never"


def decode_rows(model, codes, sizes: Sizes) -> list[Row]:
    """The traverse slider's decode with autograd on, under no_grad, under inference_mode, and
    under inference_mode on one thread; calls spaced as a user makes them."""
    z = torch.from_numpy(codes[:1].copy())
    model.eval()

    def plain(_):
        return to_uint8(model.decode(z).detach())

    def no_grad(_):
        with torch.no_grad():
            return to_uint8(model.decode(z))

    def inference(_):
        with torch.inference_mode():
            return to_uint8(model.decode(z))

    def inference_one_thread(_):
        with one_thread(), torch.inference_mode():
            return to_uint8(model.decode(z))

    variants = (("autograd on", plain), ("no_grad", no_grad), ("inference_mode", inference),
                ("inference_mode, 1 thread", inference_one_thread))
    return _alternate("decode 1 code", variants, sizes)


def search_rows(train_codes, test_codes, sizes: Sizes) -> list[Row]:
    """One top-10 query: CodeIndex as is (small queries on one thread) and with that rule off."""
    index = CodeIndex("euclidean").fit(train_codes)

    def query(_):
        return index.query(test_codes[:1], 10)

    def all_threads(i):
        before, search.SINGLE_THREAD_WORK = search.SINGLE_THREAD_WORK, 0
        try:
            return query(i)
        finally:
            search.SINGLE_THREAD_WORK = before

    return _alternate("top-10 search", (("CodeIndex (one thread for small queries)", query),
                                        ("CodeIndex with torch's thread count", all_threads)), sizes)


def _alternate(what: str, variants, sizes: Sizes) -> list[Row]:
    stats = {}
    for _ in range(2):  # alternate, keep the better p50 of two
        for name, fn in variants:
            result = time_calls(fn, sizes.latency_calls, pause_s=INTERACTION_PAUSE_S)
            if name not in stats or result["p50_ms"] < stats[name]["p50_ms"]:
                stats[name] = result
    return [Row("0 levers", f"{what}, {name}", f"p50 {s['p50_ms']:.3f} ms", f"p95 {s['p95_ms']:.3f} ms", s)
            for name, s in stats.items()]
