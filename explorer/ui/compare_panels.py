"""The parts of the Compare page: which models (shipped, and trained in this session), the report
table at one code size, and the grid of reconstructions (Hinton & Salakhutdinov 2006, Fig. 2)."""
from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np
import streamlit as st

from explorer import compare
from explorer.baselines import pca_baseline
from explorer.gallery import folder_of_key, list_pretrained
from explorer.plots import compare_bars
from explorer.report import markdown_table, report_row, shipped_row
from explorer.ui import cache, state, widgets


@dataclass(frozen=True)
class Entry:
    label: str
    key: str
    latent_dim: int
    train_seconds: float | None
    load: Callable[[], object]   # the model; shipped ones are read from disk only when a row needs them

    @property
    def model(self):
        return self.load()


def _shipped_model(path: str):
    return cache.pretrained_checkpoint(path).model


def entries(dataset) -> list[Entry]:
    """Shipped models for the dataset, then this session's (deduplicated by weights), labelled uniquely."""
    found: dict[str, Entry] = {}
    for shipped in list_pretrained(dataset.name):
        found[shipped.key] = Entry(shipped.variant, shipped.key, shipped.latent_dim, shipped.card.get("train_seconds"),
                                   functools.partial(_shipped_model, str(shipped.path)))
    session = state.session_models()
    current = state.current()
    for model in session + ([current] if current is not None else []):
        if model.dataset_name == dataset.name and model.key not in found and model.variant != "pca":
            seconds = round(sum(r.get("seconds", 0) for r in model.history), 2) if model.history else None
            found[model.key] = Entry(f"{model.variant} ({model.origin})", model.key, model.model.latent_dim, seconds,
                                     functools.partial(getattr, model, "model"))
    return _unique_labels(list(found.values()))


def _unique_labels(found: list[Entry]) -> list[Entry]:
    """Labels unique among the models of one code size (the page shows one size at a time)."""
    counts = Counter((e.latent_dim, e.label) for e in found)
    seen: Counter = Counter()
    unique = []
    for entry in found:
        key = (entry.latent_dim, entry.label)
        seen[key] += 1
        label = entry.label if counts[key] == 1 else f"{entry.label} #{seen[key]}"
        unique.append(dataclasses.replace(entry, label=label))
    return unique


def code_size(found: list[Entry]) -> int:
    sizes = sorted({e.latent_dim for e in found})
    current = state.current()
    default = Counter(e.latent_dim for e in found).most_common(1)[0][0]
    if current is not None and current.model.latent_dim in sizes:
        default = current.model.latent_dim
    return st.selectbox("Code size", sizes, index=sizes.index(default), key="compare.size",
                        help="Every method is compared at the same code size, PCA included.")


@st.cache_data(show_spinner="Measuring: test error, retrieval, kNN and a linear probe…", max_entries=128)
def measured_row(key: str, fingerprint: str, train_seconds: float | None, _model, _dataset) -> dict:
    return report_row(_model, _dataset, train_seconds)


def row(entry: Entry, dataset) -> dict:
    """The entry's table row: from a shipped model's card when it has every column, else measured."""
    folder = folder_of_key(entry.key)
    card = shipped_row(folder, dataset, entry.train_seconds) if folder is not None else None
    return card or measured_row(entry.key, dataset.fingerprint, entry.train_seconds, entry.model, dataset)


def table(chosen: list[Entry], dataset, k: int) -> None:
    rows = [{**row(e, dataset), "variant": e.label} for e in chosen]
    pca = pca_baseline(dataset, k)
    rows.append({**measured_row(f"pca:{dataset.fingerprint[:16]}:{k}", dataset.fingerprint, None, pca, dataset),
                 "variant": f"PCA-{k} (baseline)"})
    models = rows[:-1]
    bars = ([r["variant"] for r in models], [r["ratio_to_pca"] for r in models],
            [r["precision_at_10"] for r in models], rows[-1]["precision_at_10_pixels"])
    figure = cache.shared_figure(("compare", *map(tuple, bars[:3]), bars[3]),  # the gallery's: everyone's
                                 lambda: compare_bars(*bars, height=140 + 28 * len(models)))
    st.plotly_chart(figure, key="compare.bars")
    st.markdown(markdown_table(rows))
    st.caption("test error: squared error per test image; × PCA: that error over PCA's (below 1 beats PCA); "
               "P@10: share of a test image's 10 nearest training codes with its class, against raw pixels; "
               "5-NN and probe: classification accuracy from the codes.")
    with st.expander("Markdown (for a report)"):
        st.code(markdown_table(rows), language="markdown")


@st.cache_data(show_spinner="Reconstructing with every model…", max_entries=32)
def grid_rows(keys: tuple, fingerprint: str, indices: tuple, k: int, _chosen, _dataset) -> list:
    return compare.reconstruction_rows([(e.label, e.model) for e in _chosen], _dataset, np.array(indices), k)


def grid(chosen: list[Entry], dataset, k: int) -> list:
    """The test images, PCA and each model's reconstructions; returns the rows
    (:func:`explorer.compare.reconstruction_rows`)."""
    left, right = st.columns(2)
    n = left.slider("Test images", 4, 16, 10, key="compare.n_images")
    seed = right.number_input("Pick other images", 0, 10_000, 0, key="compare.seed",
                              help="Another seed gives other test images, one per class in turn.")
    indices = compare.pick_examples(dataset.y_test, n, int(seed), len(dataset.x_test))
    rows = grid_rows(tuple(e.key for e in chosen), dataset.fingerprint, tuple(indices.tolist()), k, chosen, dataset)
    for label, images, error in rows:
        name, pictures = st.columns([1.4, 5], vertical_alignment="center")
        name.markdown(f"**{label}**" + ("" if label == "original" else f"  \nerror {error:.2f}"))
        with pictures:
            widgets.show_images(images, len(images))
    return rows
