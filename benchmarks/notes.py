"""The prose of RESULTS.md, written from the numbers of the run: how to read the table, where each
speed-up comes from, and where the time goes for the goals that are missed."""
from __future__ import annotations

HOW_TO_READ = [
    "How to read it. *plain loop* is pytorch/examples' `vae/main.py` loop around the same model class: "
    "a DataLoader over a TensorDataset, batch 128, Adam at 1e-3 (torch's default for-loop update), "
    "`loss.item()` every batch, a test pass every epoch, torch's default thread count. *Trainer, same "
    "batch/lr* is `explorer.training.Trainer` at exactly those settings, from the same initial weights, "
    "for the same epochs; its own levers are on (index-gather batches from the resident training tensor, "
    "fused Adam, the thread count picked by `ThreadChoice`: one thread when other processes' runnable threads "
    "fill the cores, all otherwise, the other count re-tried for a step or two after 10 s, 20 s, 40 s, ...). *Trainer, tuned batch* tries a "
    "larger batch with the learning rate scaled by sqrt(batch ratio). *plain loop pinned to 1 thread* is "
    "the peer with `torch.set_num_threads(1)`, which separates the thread choice from the other levers. "
    "A ratio is taken within each round of alternated runs, then the median over rounds.",
    "",
    "Latency rows time one call per user action at the Python level the pages use; the calls are spaced "
    "10 ms apart as interactions are (the p50/p95 the goals use); *back to back* repeats them without a "
    "pause, which on a loaded machine mostly measures how often a process that never sleeps is preempted.",
    "",
]


def _throughput(results: dict) -> list[str]:
    summary = results.get("throughput", {}).get("deep_ae")
    if not summary or "plain_1_thread" not in summary:
        return []
    pinned, mine = summary["plain_1_thread"]["ratio"], summary["trainer"]["ratio"]
    tuned = summary["trainer_tuned"]
    why = ("other processes keep the cores busy, and two OpenMP threads wait for each other" if pinned > 1
           else "the cores are free, so the second thread helps")
    return [f"Where the deep_ae speed-up comes from: pinning the peer to one thread gives {pinned:.2f}x ({why}); "
            f"the Trainer gives {mine:.2f}x. Its own levers at the thread count it picked are the rest: index "
            f"batches from the resident tensor instead of the DataLoader, and fused Adam (the lever rows split "
            f"that up). The tuned batch {tuned['batch']} runs at "
            f"{tuned['ratio']:.2f}x but reaches test error {tuned['test_error']:.2f} against the peer's "
            f"{summary['plain']['test_error']:.2f} after the same epochs (a quarter of the updates), so it is not "
            f"adopted. Threads in use at each epoch's end: {summary['trainer'].get('threads_chosen')}."
            + _bf16_sentence(summary, results), "",
            "Not adopted, with their lever rows: denormal flushing (no difference beyond noise, also in rotated "
            "A/B runs on trained ELU and sigmoid nets and an RBM with their optimiser state). Opt-in, not the "
            "default: bf16 autocast (`--precision bf16`, the *bf16 autocast* rows), which runs the matmuls in "
            "bfloat16 on CPUs with AVX512-BF16 or AMX and keeps weights and Adam state in float32; the default "
            "stays fp32 because bf16 changes every variant's numerics in the last bits, the shipped cards are "
            "reproduced exactly in fp32, and on CPUs without bf16 instructions it is emulated and slower.", ""]


def _bf16_sentence(summary: dict, results: dict) -> str:
    bf16 = summary.get("trainer_bf16")
    if bf16 is None:
        return ""
    share = results.get("profile", {}).get("matmul_share")
    text = (" In fp32 both loops spend most of a step in the same matrix products"
            + (f" ({share:.0%} of the Trainer's self CPU time in this run's torch.profiler table below)"
               if share is not None else "") + "." + _floor_sentence(results.get("gemm_floor", {})))
    return text + (f" With bf16 autocast the Trainer runs at {bf16['ratio']:.2f}x, test error "
                   f"{bf16['test_error']:.2f} against the peer's {summary['plain']['test_error']:.2f}.")


def _floor_sentence(floor: dict) -> str:
    """What the matrix products alone allow: the fastest any loop could beat the plain one by."""
    if "fp32" not in floor:
        return ""
    fp32 = floor["fp32"]
    text = (f" Those products alone, timed back to back with nothing else, take {fp32['seconds'] * 1e3:.2f} ms a "
            f"step in fp32: no fp32 loop on this machine can run faster than {fp32['max_ratio']:.2f}x the plain loop"
            + (", so the 2.0x goal is out of reach in fp32 whatever the loop does" if fp32["max_ratio"] < 2.0 else ""))
    if "bf16" in floor:
        text += f"; in bf16 they take {floor['bf16']['seconds'] * 1e3:.2f} ms ({floor['bf16']['max_ratio']:.2f}x)"
    return text + "."


def _quality(results: dict) -> list[str]:
    quality = results.get("quality")
    if not quality:
        return []
    epochs, per_epoch = quality["epochs"], quality["epoch_seconds"]
    reached = (f"needs {epochs} epochs" if quality["seconds"] is not None
               else f"had not passed after {epochs} epochs")
    needed = 60_000 * epochs / 60
    return [f"Time to quality: deep_ae-30 at batch {quality['batch']}, lr {quality['lr']:.0e} {reached} to pass "
            f"{quality['threshold']:.2f} (0.75 x PCA-30); an epoch took {per_epoch:.1f} s of training (median, "
            f"test pass apart), {60_000 / per_epoch:.0f} samples/s. The 60 s goal at {epochs} epochs needs about "
            f"{needed:.0f} samples/s with the test passes." + _quality_bf16(results), ""]


def _quality_bf16(results: dict) -> str:
    bf16 = results.get("quality_bf16")
    if not bf16:
        return ""
    reached = (f"passed it after {bf16['epochs']} epochs, {bf16['seconds']:.1f} s" if bf16["seconds"] is not None
               else f"had not passed it after {bf16['epochs']} epochs")
    return (f" The same run with the opt-in bf16 autocast {reached} (an epoch {bf16['epoch_seconds']:.1f} s, "
            f"test error {bf16['test_error']:.2f} at the end).")


def _fresh_umap(results: dict) -> list[str]:
    fresh = results.get("fresh_umap", {})
    if not fresh:
        return []
    parts = []
    for mode, r in fresh.items():
        before_fit = r["request_to_map_s"] - r["fit_s"]
        parts.append(f"{mode}: {r['request_to_map_s']:.1f} s = {before_fit:.1f} s importing umap / waiting for "
                     f"the warm-up + {r['fit_s']:.1f} s fitting")
    return ["Where the first UMAP's time goes: " + "; ".join(parts) + ". With the cache filled the fit is about "
            "what a warm one takes (the 4 projection row): 500 epochs of layout SGD, umap-learn's default up to "
            "10k points, on one thread because the seeded layout is serial. The k-NN graph is exact (one matmul "
            "per chunk, handed to umap-learn as `precomputed_knn`), so NN-descent is neither compiled nor run; "
            "`projection.import_umap` switches numba's disk cache on for the umap-learn functions that do not "
            "ask for it (pynndescent's do), so only a machine's very first process compiles them.", ""]


def _memory(results: dict) -> list[str]:
    memory = results.get("memory")
    if not memory:
        return []
    return [f"Memory: {memory['after_import_mib']:.0f} MiB is the interpreter with torch, "
            f"{memory['after_data_mib'] - memory['after_import_mib']:.0f} MiB the float32 data, and training "
            f"adds {memory['peak_mib'] - memory['after_data_mib']:.0f} MiB (weights, Adam state, activations, "
            f"the test pass); float16 storage of the images would save about half of the data's share.", ""]


def _cold_start(results: dict) -> list[str]:
    profile = (results.get("cold_start") or {}).get("profile")
    if not profile:
        return []
    seconds = results["cold_start"]["profiled_seconds"]
    lines = [f"Where the cold start's time goes (py-spy over a second cold start of {seconds:.1f} s, share of the "
             "server's busy samples, by the deepest explorer/ frame or else the package):", ""]
    return lines + [f"- {share:.0%} {label}" for label, share in profile] + [""]


def notes(results: dict) -> list[str]:
    return (HOW_TO_READ + _throughput(results) + _quality(results) + _fresh_umap(results) + _memory(results)
            + _cold_start(results))
