"""Regenerate the shipped gallery: ``python -m explorer pretrain [--dataset D] [--variant V]``.

Every entry of :data:`PLAN` is trained with a fixed seed, stored as float16 (its metrics are
measured after that round trip, so the card describes exactly what ships), given a ``card.json``
and listed in ``pretrained/README.md``. Entries whose card matches the plan are skipped, so an
interrupted run resumes where it stopped.

The Latent page's default maps ship too, so no page waits on UMAP (and numba's compiling) for a
shipped model: per dataset, PCA and UMAP of the pixels of the shown test images
(``projection-pixels-<method>-<n>.npz``, without the pixels, which the dataset has); per model with
a code of more than 2 dimensions, PCA and UMAP of its codes (``projection-codes-<method>-<n>.npz``,
with the codes, so a new point is placed by ``transform`` without re-encoding). 1- and 2-D codes
are plotted as they are.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

from explorer import baselines
from explorer.checkpoint import dataset_record, load, save
from explorer.data import dataset_status, load_dataset
from explorer.errors import ExplorerError
from explorer.gallery import PIXEL_SEARCH, PRETRAINED_ROOT, list_pretrained
from explorer.projection import make_projector, save_projection, shipped_name, shown_indices
from explorer.recipes import FASHION_MAP_VARIANTS, config_for
from explorer.registry import get_variant, list_variants
from explorer.report import above_pca_notes, report_row
from explorer.search import test_precisions
from explorer.training import train

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig

SEED = 0
SHIPPED_MAPS = ("pca", "umap")  # a raw map is the codes themselves: nothing to ship


@dataclass(frozen=True)
class PlanEntry:
    dataset: str
    variant: str
    latent_dim: int

    @property
    def folder_name(self) -> str:
        return f"{self.variant}-{self.latent_dim}"

    def command(self) -> str:
        return f"python -m explorer pretrain --dataset {self.dataset} --variant {self.variant} --latent-dim {self.latent_dim}"


def retrieval_size(variant: str) -> int:
    """Fashion-MNIST code size for retrieval. The Gaussian-prior models (VAE, CVAE, AAE) get 16:
    their prior term leaves surplus dimensions unused, so 16 hold what 30 would. The rest get 30,
    Hinton & Salakhutdinov's code size for 28x28 images."""
    return 16 if get_variant(variant).model_cls.gaussian_latent else 30


def build_plan() -> list[PlanEntry]:
    names = [spec.name for spec in list_variants() if spec.name != "pca"]
    plan = [PlanEntry("digits", name, k) for name in names for k in (2, 8)]
    plan += [PlanEntry("fashion-mnist", name, retrieval_size(name)) for name in names]
    plan += [PlanEntry("fashion-mnist", name, 2) for name in FASHION_MAP_VARIANTS if name in names]
    return plan


def is_current(folder: Path, config: "AutoencoderConfig") -> bool:
    """Whether the card at ``folder`` was trained with ``config``. A field added to the config class
    after the card was written reads as its default, as :func:`explorer.checkpoint.load` reads it."""
    card = folder / "card.json"
    return card.is_file() and shipped_config(json.loads(card.read_text()), type(config)) == config.to_dict()


def shipped_config(card: dict, config_cls: type) -> dict | None:
    """The card's config as ``config_cls`` reads it today (None if it no longer reads)."""
    try:
        return config_cls.from_dict(card.get("config")).to_dict()
    except ExplorerError:
        return None


def pretrain_entry(entry: PlanEntry, root: Path, device: str, log: Callable[[str], None]) -> dict | None:
    dataset = load_dataset(entry.dataset)
    config = config_for(entry.variant, dataset.input_shape, len(dataset.x_train), entry.latent_dim)
    folder = root / entry.dataset / entry.folder_name
    if is_current(folder, config):
        log(f"{entry.dataset}/{entry.folder_name}: up to date")
        return None
    started = time.perf_counter()
    trainer = train(dataset, config, device=device, seed=SEED)
    seconds = round(time.perf_counter() - started, 1)
    save(trainer.model, folder, dataset_record(dataset), trainer.history, {}, weights_dtype=torch.float16)
    shipped = load(folder).model  # measure what ships: the float16 round trip
    metrics = measure_card(shipped, dataset)
    card = {"command": entry.command(), "seed": SEED, "epochs": getattr(config, "epochs", 0),
            "train_seconds": seconds, "device": _device_name(trainer.device), "config": config.to_dict(),
            "status": trainer.status, "fingerprint": dataset.fingerprint, "metrics": metrics,
            "weights_dtype": "float16"}
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    log(f"{entry.dataset}/{entry.folder_name}: {metrics['test_sq_err_per_image']:.3f} "
        f"({metrics['ratio_to_pca']:.2f}x PCA) in {seconds} s")
    return card


def write_maps(folder: Path, source: str, inputs, log: Callable[[str], None]) -> None:
    """PCA and UMAP maps of ``inputs`` (N, D), the shown test images' codes or pixels, unless there."""
    for method in SHIPPED_MAPS:
        path = folder / shipped_name(source, method, len(inputs))
        if not path.is_file():
            started = time.perf_counter()
            save_projection(make_projector(method).fit(inputs), path,
                            **({"include_inputs": source == "codes"} if method == "umap" else {}))
            log(f"{path.relative_to(folder.parent.parent)}: {time.perf_counter() - started:.1f} s")


def write_entry_maps(entry: PlanEntry, root: Path, log: Callable[[str], None]) -> None:
    """The shipped maps of one entry's codes, and its dataset's pixel maps."""
    dataset, folder = load_dataset(entry.dataset), root / entry.dataset / entry.folder_name
    shown = shown_indices(len(dataset.x_test))
    write_maps(root / entry.dataset, "pixels", dataset.x_test[shown].reshape(len(shown), -1), log)
    if entry.latent_dim > 2 and (folder / "card.json").is_file():
        model = load(folder).model
        codes = model.encode_array(dataset.x_test, dataset.y_test)
        write_maps(folder, "codes", codes[shown], log)


def refresh_card(entry: PlanEntry, root: Path, log: Callable[[str], None]) -> None:
    """Re-measure a shipped model's card without retraining (after a change to how metrics are taken)."""
    folder = root / entry.dataset / entry.folder_name
    if not (folder / "card.json").is_file():
        return
    card = json.loads((folder / "card.json").read_text())
    card["metrics"] = measure_card(load(folder).model, load_dataset(entry.dataset))
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    log(f"{entry.dataset}/{entry.folder_name}: card re-measured, {card['metrics']['test_sq_err_per_image']:.3f}")


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def run(dataset: str | None = None, variant: str | None = None, latent_dim: int | None = None,
        device: str = "auto", root: Path = PRETRAINED_ROOT, log: Callable[[str], None] = print,
        recard: bool = False) -> None:
    for entry in build_plan():
        wanted = ((dataset, entry.dataset), (variant, entry.variant), (latent_dim, entry.latent_dim))
        if any(want is not None and want != have for want, have in wanted):
            continue
        if dataset is None and not dataset_status(entry.dataset).available:
            log(f"{entry.dataset}/{entry.folder_name}: skipped, {entry.dataset} is not installed")
            continue
        if recard:
            refresh_card(entry, Path(root), log)
        else:
            pretrain_entry(entry, Path(root), device, log)
        write_entry_maps(entry, Path(root), log)
        write_baseline(entry.dataset, Path(root), log)
        write_pixel_search(entry.dataset, Path(root), log)
        write_gallery_readme(Path(root))


def measure_card(model, dataset) -> dict:
    """What a card says of a shipped model: its report row, and the test precisions the Search page
    shows beside its results (so a first visit does not search 1,000 test images to show them)."""
    metrics = report_row(model, dataset)
    if dataset.y_test is not None:
        metrics["test_precision"] = test_precisions(model.encode_array(dataset.x_train, dataset.y_train),
                                                    dataset.y_train, model.encode_array(dataset.x_test, dataset.y_test),
                                                    dataset.y_test)
    return metrics


def write_pixel_search(dataset_name: str, root: Path, log: Callable[[str], None]) -> None:
    """The dataset's pixel-search test precisions (:data:`explorer.gallery.PIXEL_SEARCH`), unless current."""
    dataset, path = load_dataset(dataset_name), root / dataset_name / PIXEL_SEARCH
    current = json.loads(path.read_text()) if path.is_file() else {}
    if current.get("fingerprint") == dataset.fingerprint or dataset.y_test is None:
        return
    flat = {split: x.reshape(len(x), -1) for split, x in (("train", dataset.x_train), ("test", dataset.x_test))}
    path.write_text(json.dumps({"fingerprint": dataset.fingerprint, "test_precision": test_precisions(
        flat["train"], dataset.y_train, flat["test"], dataset.y_test)}, indent=1))
    log(f"{path.relative_to(root)}: pixel search's test precisions written")


def write_baseline(dataset_name: str, root: Path, log: Callable[[str], None]) -> None:
    """The dataset's shipped PCA baseline (:mod:`explorer.baselines`), refitted when it no longer
    covers the largest shipped code or was fitted on other data."""
    dataset = load_dataset(dataset_name)
    if not baselines.is_current(dataset, root):
        log(f"{baselines.write(dataset, root).relative_to(root)}: PCA baseline written")


def write_gallery_readme(root: Path) -> Path:
    """pretrained/README.md: one model-card row per shipped model."""
    lines = ["# Pretrained gallery", "",
             "Generated by `python -m explorer pretrain`. Errors are squared errors summed over pixels in "
             "[0, 1], averaged over the test images, measured after the float16 round trip; PCA has the "
             "same number of components.", "",
             "| dataset | variant | code | epochs | train s | device | test error | PCA error | × PCA | "
             "P@10 code | P@10 pixels |", "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for entry in list_pretrained(root=root):
        card = entry.card
        m = card.get("metrics", {})
        mark = "†" if m.get("side_information") else ""
        lines.append(f"| {entry.dataset} | {entry.variant}{mark} | {entry.latent_dim} | {card.get('epochs', '–')} | "
                     f"{card.get('train_seconds', '–')} | {card.get('device', '–')} | "
                     f"{m.get('test_sq_err_per_image', float('nan')):.3f} | {m.get('pca_sq_err_per_image', float('nan')):.3f} | "
                     f"{m.get('ratio_to_pca', float('nan')):.2f} | {_fmt(m.get('precision_at_10'))} | "
                     f"{_fmt(m.get('precision_at_10_pixels'))} |")
    lines += ["", "† Reconstructs from side information as well as the code (conv_ae: its max-pooling switches; "
              "cvae: the class label), so its error is not a same-size comparison with PCA."]
    above = above_pca_notes([{**entry.card.get("metrics", {}), "variant": f"{entry.variant} on {entry.dataset}"}
                             for entry in list_pretrained(root=root)])
    lines += ["", *(f"- {note}" for note in above)] if above else []
    path = root / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"
