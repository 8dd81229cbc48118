"""``python -m benchmarks.standins``: every variant against PCA on data the recipes were never tuned on.

Each model is trained with :func:`explorer.recipes.config_for` (settings by shape and size alone) and
judged on the test split; the table also gives the validation error of the last epoch against the
best one, so a run that got worse before it ended shows. Slow (a gallery's worth of training per
stand-in): not part of the default ``python -m benchmarks`` run.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from explorer.data.standins import CODE_SIZES, STANDINS
from explorer.metrics import evaluate
from explorer.recipes import config_for
from explorer.registry import list_variants
from explorer.training import train

# Variants whose reconstruction is judged against PCA at the same code: deterministic codes, no side
# information. The VAE family's codes are a posterior mean and the cvae reads the label besides the code.
GENERATIVE = ("vae", "cvae", "aae")


def measure(dataset, variant: str, latent_dim: int, epochs_scale: float, seed: int = 0) -> dict:
    """One row: the test error against PCA, and the last epoch's validation error against the best."""
    config = config_for(variant, dataset.input_shape, len(dataset.x_train), latent_dim, epochs_scale)
    started = time.perf_counter()
    trainer = train(dataset, config, seed=seed)
    seconds = time.perf_counter() - started
    validation = [r["val_sq_err"] for r in trainer.history if "val_sq_err" in r]
    metrics = evaluate(trainer.model, dataset, seed)
    return {"dataset": dataset.name, "variant": variant, "latent_dim": latent_dim,
            "test": metrics["test_sq_err_per_image"], "pca": metrics["pca_sq_err_per_image"],
            "ratio": metrics["ratio_to_pca"], "side_information": metrics["side_information"],
            "best_val": min(validation) if validation else None, "last_val": validation[-1] if validation else None,
            "kept": metrics["val_sq_err_per_image"], "epochs_run": len(trainer.history),
            "epochs_planned": trainer.progress.total_epochs if trainer.progress else len(trainer.history),
            "message": trainer.message, "seconds": round(seconds, 1)}


def table(rows: list[dict]) -> str:
    lines = ["| stand-in | variant | code | test error | PCA | × PCA | val best | val last | last/best | kept "
             "| epochs | train s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        last_over_best = r["last_val"] / r["best_val"] if r["best_val"] else float("nan")
        lines.append(f"| {r['dataset']} | {r['variant']}{'†' if r['side_information'] else ''} | {r['latent_dim']} "
                     f"| {r['test']:.3f} | {r['pca']:.3f} | {r['ratio']:.2f} | {r['best_val']:.3f} "
                     f"| {r['last_val']:.3f} | {last_over_best:.3f} | {r['kept']:.3f} "
                     f"| {r['epochs_run']}/{r['epochs_planned']} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.standins", description=__doc__)
    parser.add_argument("--standins", default=",".join(STANDINS), help="comma-separated: " + ", ".join(STANDINS))
    parser.add_argument("--variants", help="comma-separated (default: every registered variant)")
    parser.add_argument("--latent-dim", type=int, help="default: each stand-in's own (CODE_SIZES)")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="below 1 for a quick look only")
    parser.add_argument("--json", type=Path, help="append each row here as one JSON line, as it comes")
    args = parser.parse_args(argv)
    variants = args.variants.split(",") if args.variants else [s.name for s in list_variants() if s.name != "pca"]
    rows = []
    for name in args.standins.split(","):
        dataset = STANDINS[name]()
        for variant in variants:
            rows.append(measure(dataset, variant, args.latent_dim or CODE_SIZES[name], args.epochs_scale))
            print(json.dumps(rows[-1]), flush=True)
            if args.json:
                with args.json.open("a") as out:
                    out.write(json.dumps(rows[-1]) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
