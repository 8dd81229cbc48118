"""The whole course in one table: every variant at the same code size, against PCA.

Hinton & Salakhutdinov (2006) Fig. 2 compares a deep autoencoder with PCA on reconstruction
error; this extends it to every registered variant and adds what the codes are good for:
retrieval (P@10, against raw pixels), 5-NN and linear-probe classification.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from explorer.checkpoint import load
from explorer.errors import CheckpointError
from explorer.gallery import card_metrics, find_pretrained
from explorer.metrics import evaluate, knn_accuracy, linear_probe_accuracy
from explorer.recipes import config_for
from explorer.registry import list_variants
from explorer.training import train

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder

COLUMNS = [  # (key, header, format)
    ("variant", "variant", "{}"), ("latent_dim", "code", "{}"),
    ("test_sq_err_per_image", "test error", "{:.3f}"), ("ratio_to_pca", "× PCA", "{:.2f}"),
    ("precision_at_10", "P@10 code", "{:.3f}"), ("precision_at_10_pixels", "P@10 pixels", "{:.3f}"),
    ("knn_accuracy", "5-NN acc", "{:.3f}"), ("linear_probe_accuracy", "probe acc", "{:.3f}"),
    ("train_seconds", "train s", "{:.1f}"),
]


def shipped_row(folder: Path, dataset: "ImageDataset", train_seconds: float | None = None) -> dict | None:
    """A shipped model's row from its card, when the card was measured on this very dataset and has
    every column (cards written by ``pretrain`` do); else None, and the row is measured."""
    metrics = card_metrics(folder, dataset.fingerprint)
    if metrics is None or any(key not in metrics for key, _, _ in COLUMNS if key != "train_seconds"):
        return None
    return {**metrics, "train_seconds": train_seconds}


def report_row(model: "Autoencoder", dataset: "ImageDataset", train_seconds: float | None = None) -> dict:
    """``eval --json``'s metrics plus 5-NN and linear-probe accuracy on the codes."""
    row = {**evaluate(model, dataset), "knn_accuracy": None, "linear_probe_accuracy": None,
           "train_seconds": train_seconds}
    if dataset.y_test is not None:
        train_codes = model.encode_array(dataset.x_train, dataset.y_train)
        test_codes = model.encode_array(dataset.x_test, dataset.y_test)
        row["knn_accuracy"] = knn_accuracy(train_codes, dataset.y_train, test_codes, dataset.y_test, 5)
        row["linear_probe_accuracy"] = linear_probe_accuracy(train_codes, dataset.y_train, test_codes, dataset.y_test)
    return row


def obtain_model(variant: str, dataset: "ImageDataset", latent_dim: int, source: str, *, epochs_scale: float = 1.0,
                 device: str = "auto", seed: int = 0, callbacks=()) -> tuple["Autoencoder", float | None]:
    """A model for the table: loaded from ``pretrained``/a folder of ``<variant>-<latent>`` checkpoints,
    else trained as the gallery trains it (:func:`explorer.recipes.config_for`: the variant's
    defaults with epochs scaled to the dataset, the dataset's tuned settings, times ``epochs_scale``)."""
    if source != "train":
        folder = (find_pretrained(dataset.name, variant, latent_dim) if source == "pretrained"
                  else None) or None
        path = folder.path if folder else Path(source) / f"{variant}-{latent_dim}"
        try:
            checkpoint = load(path)
            card = folder.card if folder else {}  # a shipped model's training time is on its card
            return checkpoint.model, card.get("train_seconds", checkpoint.metrics.get("train_seconds"))
        except CheckpointError:
            if source != "pretrained":
                raise
    config = config_for(variant, dataset.input_shape, len(dataset.x_train), latent_dim, epochs_scale, minimum_epochs=1)
    started = time.perf_counter()
    trainer = train(dataset, config, device=device, seed=seed, callbacks=callbacks)
    return trainer.model, round(time.perf_counter() - started, 2)


def build_report(dataset: "ImageDataset", latent_dim: int, *, variants: Iterable[str] | None = None,
                 source: str = "train", epochs_scale: float = 1.0, device: str = "auto", seed: int = 0,
                 on_row=None, callbacks=()) -> list[dict]:
    names = list(variants) if variants else [spec.name for spec in list_variants()]
    rows = []
    for name in names:
        model, seconds = obtain_model(name, dataset, latent_dim, source, epochs_scale=epochs_scale,
                                      device=device, seed=seed, callbacks=callbacks)
        rows.append(report_row(model, dataset, seconds))
        if on_row is not None:
            on_row(rows[-1])
    return rows


# Why a variant can reconstruct worse than PCA with a code of the same size, for the rows that do.
WHY_ABOVE_PCA = {
    "rbm": "contrastive divergence fits the images' probability (Hinton 2002), not their reconstruction, and "
           "its reconstruction is one up-down pass through the hidden units' probabilities with the same weights "
           "both ways; the deep autoencoder of Hinton & Salakhutdinov 2006 needs backpropagation after the RBMs "
           "for that reason (dbn_ae here)",
    "lstm_ae": "it reads an image one row at a time and must carry every row through one LSTM state before "
               "the code, and unroll them back from it, while an MLP sees every pixel at once; reading both ways "
               "(bidirectional, as the 28x28 recipe does) brings the first rows as near the code as the last",
}


def above_pca_notes(rows: list[dict]) -> list[str]:
    """A sentence for each row above PCA's error whose variant has a known reason, with its measured ratio
    (a row's ``variant`` may be a label that starts with the variant's name, as on the Compare page)."""
    notes = []
    for row in rows:
        why = WHY_ABOVE_PCA.get(str(row.get("variant")).split(" ")[0])
        if why and (row.get("ratio_to_pca") or 0) >= 1:
            notes.append(f"{row['variant']} reconstructs at {row['ratio_to_pca']:.2f}× PCA-{row['latent_dim']}'s "
                         f"error: {why}.")
    return notes


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(header for _, header, _ in COLUMNS) + " |",
             "|" + "|".join("---" if key == "variant" else "---:" for key, _, _ in COLUMNS) + "|"]
    notes = {}
    for row in rows:
        cells = ["–" if row.get(key) is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]
        if row.get("side_information"):
            notes.setdefault(row["side_information"], "†" * (len(notes) + 1))
            cells[0] += notes[row["side_information"]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"{mark} Reconstructs with {info} as well as the code: not a same-size comparison with PCA."
                    for info, mark in notes.items())] if notes else []
    above = above_pca_notes(rows)
    lines += ["", *above] if above else []
    return "\n".join(lines)


def write_report(rows: list[dict], path: str | Path, title: str) -> tuple[Path, Path]:
    """Markdown at ``path`` and the same rows as JSON beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{markdown_table(rows)}\n")
    json_path = path.with_suffix(".json")
    json_path.write_text(json.dumps(rows, indent=2))
    return path, json_path
