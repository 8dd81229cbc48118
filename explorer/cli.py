"""``python -m explorer list | train | eval | download | report | pretrain``.

Every user error exits with status 2 and one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from explorer.config import Config
from explorer.errors import ExplorerError


SWITCHES = ("-h", "--help", "--replace-diverged")  # the options of train that take no value


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_config_flags(parser: argparse.ArgumentParser, config_cls: type[Config]) -> None:
    """One ``--flag`` per config field, with its bounds and help; unset flags take the dataset's setting."""
    for spec in config_cls.field_specs():
        notes = [f"unset: the dataset's setting, {spec.default} on digits",
                 *([f"min {spec.min}"] if spec.min is not None else []),
                 *([f"max {spec.max}"] if spec.max is not None else [])]
        parser.add_argument(f"--{spec.name.replace('_', '-')}", dest=spec.name, default=None,
                            type=parse_bool if spec.type is bool else spec.type, choices=spec.choices,
                            help=f"{spec.help} ({'; '.join(notes)})")


def config_values(args: argparse.Namespace, config_cls: type[Config]) -> dict:
    """The config fields given on the command line (unset flags are None and left out)."""
    return {spec.name: getattr(args, spec.name) for spec in config_cls.field_specs()
            if getattr(args, spec.name) is not None}


def cmd_list(args) -> int:
    from explorer.data import list_datasets
    from explorer.registry import list_variants
    variants = [{"name": s.name, "description": s.description, "paper": s.paper} for s in list_variants()]
    datasets = [{"name": d.name, "available": d.available, "location": d.location, "hint": d.hint}
                for d in list_datasets(args.data_dir)]
    if args.json:
        print(json.dumps({"variants": variants, "datasets": datasets}, indent=2))
        return 0
    print("Variants:")
    for v in variants:
        print(f"  {v['name']:<15} {v['description']}")
    print("Datasets:")
    for d in datasets:
        print(f"  {d['name']:<15} {d['location'] if d['available'] else 'not found: ' + d['hint']}")
    return 0


def cmd_train(args, config_cls) -> int:
    from explorer.checkpoint import check_target, dataset_record, is_checkpoint, save
    from explorer.data import load_dataset
    from explorer.distributed import session
    from explorer.metrics import evaluate
    from explorer.recipes import config_for
    from explorer.training import train
    check_target(args.out)  # a file, a foreign folder or an unwritable place is refused before training
    dataset = load_dataset(args.dataset, args.data_dir)
    given = config_values(args, config_cls)
    config = config_for(args.variant, dataset.input_shape, len(dataset.x_train), given.get("latent_dim")).replace(**given)
    started = time.perf_counter()
    with session(args.device) as (world, device):  # under torchrun: one rank of DistributedDataParallel
        trainer = train(dataset, config, device=device, seed=args.seed,
                        callbacks=[TqdmProgress()] if world.is_main else [], precision=args.precision)
    if not world.is_main:
        return 1 if trainer.status == "diverged" else 0  # rank 0 evaluates, saves and says so
    metrics = {**evaluate(trainer.model, dataset, args.seed), "seed": args.seed,
               "train_seconds": round(time.perf_counter() - started, 2), "device": str(trainer.device),
               "precision": args.precision, "processes": world.size}
    out = Path(args.out)
    if trainer.message:
        print(trainer.message, file=sys.stderr)
    if trainer.status == "diverged" and is_checkpoint(out) and not args.replace_diverged:
        out = _free_name(out, "diverged")
        print(f"kept the earlier checkpoint in {args.out}, as this run diverged; pass --replace-diverged to "
              "replace it", file=sys.stderr)
    save(trainer.model, out, dataset_record(dataset), trainer.history, metrics)
    validation = metrics["val_sq_err_per_image"]
    print(f"saved {out}: test squared error {metrics['test_sq_err_per_image']:.3f} per image "
          f"(PCA-{config.latent_dim}: {metrics['pca_sq_err_per_image']:.3f})"
          + (f", validation {validation:.3f}" if validation is not None else ""))
    return 1 if trainer.status == "diverged" else 0


def _free_name(folder: Path, suffix: str) -> Path:
    """``<folder>-<suffix>``, or with -2, -3... the first name that nothing uses."""
    candidates = (folder.with_name(f"{folder.name}-{suffix}{'' if n == 1 else f'-{n}'}") for n in itertools.count(1))
    return next(c for c in candidates if not c.exists() and not c.is_symlink())


def cmd_eval(args) -> int:
    from explorer.checkpoint import load
    from explorer.data import load_dataset
    from explorer.errors import DataError
    from explorer.metrics import evaluate
    checkpoint = load(args.folder)
    recorded = checkpoint.dataset
    uploaded = recorded["name"].startswith("upload:")
    dataset = load_dataset(args.dataset or (recorded.get("source") if uploaded else recorded["name"]), args.data_dir)
    if dataset.fingerprint != recorded.get("fingerprint"):
        raise DataError(f"{dataset.name} at {dataset.source} is not the data {args.folder} was trained on "
                        "(fingerprints differ); pass --dataset with the original data")
    metrics = evaluate(checkpoint.model, dataset, checkpoint.seed)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for key, value in metrics.items():
            print(f"{key:<24} {value:.4f}" if isinstance(value, float) else f"{key:<24} {value}")
    return 0


def cmd_report(args) -> int:
    from explorer.data import load_dataset
    from explorer.report import build_report, markdown_table, write_report
    dataset = load_dataset(args.dataset, args.data_dir)
    variants = args.variants.split(",") if args.variants else None
    progress = (lambda row: print(f"{row['variant']}: {row['test_sq_err_per_image']:.3f} "
                                  f"({row['ratio_to_pca']:.2f}x PCA)", file=sys.stderr))
    rows = build_report(dataset, args.latent_dim, variants=variants, source=args.source,
                        epochs_scale=args.epochs_scale, device=args.device, seed=args.seed, on_row=progress)
    if args.out:
        write_report(rows, args.out, f"{dataset.name}, code size {args.latent_dim}")
    print(json.dumps(rows, indent=2) if args.json else markdown_table(rows))
    return 0


def cmd_pretrain(args) -> int:
    from explorer.pretrain import run
    run(args.dataset, args.variant, args.latent_dim, args.device, log=lambda line: print(line, flush=True),
        recard=args.recard)
    return 0


def cmd_download(args) -> int:
    from explorer.data import download
    print(f"{args.name} is in {download(args.name, args.dest)}")
    return 0


class TqdmProgress:
    """A tqdm bar over all training samples, with the last epoch's loss terms as postfix."""

    def on_train_start(self, trainer):
        from tqdm import tqdm
        self.bar = tqdm(total=0, unit="img", unit_scale=True, dynamic_ncols=True, file=sys.stderr)

    def on_batch_end(self, trainer, progress):
        self.bar.total = progress.total_samples
        self.bar.set_description(f"{progress.stage} epoch {progress.epoch}/{progress.total_epochs}")
        self.bar.update(progress.samples_seen - self.bar.n)

    def on_epoch_end(self, trainer, record):
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if isinstance(v, float) and k != "seconds"})

    def on_train_end(self, trainer):
        self.bar.close()


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, type[Config] | None]:
    from explorer.devices import PRECISIONS
    parser = OneLineParser(prog="python -m explorer", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    listing = commands.add_parser("list", help="variants and datasets")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--data-dir")
    train = commands.add_parser("train", help="train a variant and save a checkpoint folder")
    train.add_argument("variant", help="the variant to train; unset flags take the settings for this dataset's "
                                       "shape and size (explorer/recipes.py)")
    train.add_argument("--dataset", default="digits", help="a dataset name or a path to your own data")
    train.add_argument("--data-dir", help="where the IDX files are (else EXPLORER_DATA_DIR, /usr/share/datasets)")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    train.add_argument("--precision", default="fp32", choices=PRECISIONS,
                       help="bf16: autocast matmuls to bfloat16, about 2x faster where the hardware has it "
                            "(AVX512-BF16/AMX CPUs, recent GPUs); weights stay float32")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", required=True, help="checkpoint folder to write: a new or empty folder, or a "
                                                    "checkpoint to replace (a file or any other folder is refused)")
    train.add_argument("--replace-diverged", action="store_true",
                       help="let a run that diverged replace the checkpoint in --out (otherwise it is saved "
                            "beside it, as <out>-diverged)")
    config_cls = _train_config_class(argv)
    if config_cls is not None:
        add_config_flags(train, config_cls)
    evaluate = commands.add_parser("eval", help="test metrics of a checkpoint folder")
    evaluate.add_argument("folder")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--dataset", help="the data to evaluate on, if not the recorded one")
    evaluate.add_argument("--data-dir")
    report = commands.add_parser("report", help="every variant at one code size against PCA, in one table")
    report.add_argument("--dataset", default="digits")
    report.add_argument("--data-dir")
    report.add_argument("--latent-dim", type=int, default=8)
    report.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply every variant's epochs (its defaults scaled to the dataset size, "
                             "or the dataset's tuned settings in explorer/recipes.py)")
    report.add_argument("--source", default="train",
                        help="train, pretrained (shipped weights, training what is missing) or a folder of "
                             "<variant>-<latent> checkpoints")
    report.add_argument("--variants", help="comma-separated subset (default: all)")
    report.add_argument("--device", default="auto")
    report.add_argument("--seed", type=int, default=0)
    report.add_argument("--json", action="store_true")
    report.add_argument("--out", help="write the table as markdown here, and JSON beside it")
    pretrain = commands.add_parser("pretrain", help="train the shipped gallery (resumes where it stopped)")
    pretrain.add_argument("--dataset")
    pretrain.add_argument("--variant")
    pretrain.add_argument("--latent-dim", type=int)
    pretrain.add_argument("--device", default="auto")
    pretrain.add_argument("--recard", action="store_true",
                          help="re-measure the cards of shipped models without retraining them")
    download = commands.add_parser("download", help="fetch a dataset's official files (needs the network)")
    download.add_argument("name")
    download.add_argument("--dest", help="target directory (default: the user cache)")
    from explorer.retrieval.commands import add_parsers
    add_parsers(commands)  # index, search, export-index: each sets args.handler
    return parser, config_cls


def _train_config_class(argv: Sequence[str]) -> type[Config] | None:
    """The config class of the variant ``train`` is given, so its fields become flags. Every option of
    ``train`` but :data:`SWITCHES` takes one value, so the variant is the first word after ``train`` that
    is neither an option nor an option's value, wherever it stands (``train --dataset digits ae``)."""
    from explorer.registry import get_variant
    if "train" not in argv:
        return None
    words = iter(argv[argv.index("train") + 1:])
    for word in words:
        if word in SWITCHES:
            continue
        if word.startswith("-"):
            if "=" not in word:
                next(words, None)  # the option's value
            continue
        return get_variant(word).config_cls
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, config_cls = build_parser(argv)
        args = parser.parse_args(argv)
        handlers = {"list": cmd_list, "eval": cmd_eval, "download": cmd_download, "report": cmd_report,
                    "pretrain": cmd_pretrain,
                    "train": lambda a: cmd_train(a, config_cls)}
        return getattr(args, "handler", handlers.get(args.command))(args)
    except ExplorerError as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
