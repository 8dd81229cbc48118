"""Cached loaders shared by every page and session: datasets and shipped models as resources,
derived arrays (codes, reconstructions, errors) as data keyed by the model's identity, and what every
visit would otherwise build again for everyone (figures of shared data, the gallery's offers).

Every session's pages run in one server process under one interpreter lock: a page visit's Python is
what a classroom waits for (issue 14), so anything the same for everyone is built once per process.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
import streamlit as st

from explorer import metrics
from explorer.checkpoint import Checkpoint, load
from explorer.codes import SplitCodes
from explorer.data import ImageDataset, list_datasets, load_dataset
from explorer.gallery import PretrainedEntry, card_metrics, folder_of_key
from explorer.gallery import suiting_pretrained as gallery_suiting


@st.cache_resource(show_spinner="Loading the dataset…")
def named_dataset(name: str, data_dir: str | None = None) -> ImageDataset:
    return load_dataset(name, data_dir)


@st.cache_data(ttl=60, show_spinner=False)
def dataset_statuses(data_dir: str | None = None):
    return list_datasets(data_dir)


@st.cache_resource(show_spinner="Loading the pretrained model…")
def pretrained_checkpoint(path: str) -> Checkpoint:
    return load(path)


@st.cache_resource(show_spinner=False, max_entries=16)
def split_codes(model_key: str, _model, _dataset: ImageDataset) -> SplitCodes:
    """The model's codes of both splits, encoded in a background thread from the first ask on."""
    return SplitCodes(_model, _dataset).start()


def codes(model_key: str, split: str, _model, _dataset: ImageDataset) -> np.ndarray:
    """(N, K) codes of the ``split`` ("train" or "test") images; computed once per model, usually
    already by the time a page asks (:func:`explorer.ui.state.encode_in_background`)."""
    store = split_codes(model_key, _model, _dataset)
    if store.ready(split):
        return store.get(split)
    with st.spinner(f"Encoding the {split} images…"):
        return store.get(split)


@st.cache_data(show_spinner="Reconstructing the test images…", max_entries=32)
def test_reconstructions(model_key: str, _model, _dataset: ImageDataset) -> np.ndarray:
    return _model.reconstruct_array(_dataset.x_test, _dataset.y_test)


@st.cache_data(show_spinner="Measuring the test error against PCA…", max_entries=64)
def errors_against_pca(model_key: str, _model, _dataset: ImageDataset) -> dict:
    """A shipped model's card has them for its own dataset, which saves fitting PCA on the training
    set at start-up (1-2 s of a cold start on Fashion-MNIST)."""
    folder = folder_of_key(model_key)
    shipped = card_metrics(folder, _dataset.fingerprint) if folder is not None else None
    if shipped is not None:
        return shipped
    return metrics.errors_against_pca(_model, _dataset)


GALLERY_TTL_S = 60  # a model pretrain adds to the gallery is offered within a minute


@st.cache_data(ttl=GALLERY_TTL_S, show_spinner=False, max_entries=256)
def suiting_pretrained(dataset: str, variant: str, code: int | str | None) -> list[PretrainedEntry]:
    """:func:`explorer.gallery.suiting_pretrained`, which scans the gallery's folders a few dozen times
    (about 180 ms a page that offers a switch)."""
    return gallery_suiting(dataset, variant, code)


@st.cache_resource(show_spinner=False, max_entries=128)
def shared_figure(key: tuple[Hashable, ...], _build: Callable):
    """The plotly figure ``_build()`` returns, built once per process for a ``key`` that determines it
    (a model's key and what else it shows) and then handed to every session as it is: building one takes
    50-270 ms. Nobody changes a figure once it is built (st.plotly_chart only reads it)."""
    return _build()
