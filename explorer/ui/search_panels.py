"""The parts of the Search page: the query, the top-k training images by code and by pixel distance,
and label precision@k for this query and averaged over test images.

Indexes are CodeIndex objects held with ``st.cache_resource`` (one per model and distance, one per
dataset and distance for pixels); test-set averages are cached per model, distance and k.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import metrics
from explorer.search import METRICS, CodeIndex
from explorer.ui import cache, query, widgets

SOURCES = ("test image", "training image", "upload", "draw")
AVERAGE_QUERIES = 1000  # test images the averages are taken over (a seeded subsample)
MAX_K = 16
SOURCE_KEY, TRAIN_INDEX_KEY = "search.source", "search.train_index"


@dataclass
class Results:
    indices: np.ndarray      # (k,) training indices, nearest first
    distances: np.ndarray    # (k,)
    seconds: float           # encoding (codes only) and search


@st.cache_resource(show_spinner="Indexing the training codes…", max_entries=16)
def code_index(model_key: str, metric: str, _model, _dataset) -> CodeIndex:
    return CodeIndex(metric).fit(cache.codes(model_key, "train", _model, _dataset))


@st.cache_resource(show_spinner="Indexing the training pixels…", max_entries=4)
def pixel_index(fingerprint: str, metric: str, _dataset) -> CodeIndex:
    return CodeIndex(metric).fit(_dataset.x_train.reshape(len(_dataset.x_train), -1))


@st.cache_data(show_spinner="Searching for test images' neighbours…", max_entries=32)
def neighbour_matches(index_key: str, metric: str, _index: CodeIndex, _test: np.ndarray, _dataset) -> np.ndarray:
    """(Q, MAX_K) whether each of the MAX_K nearest training items of up to AVERAGE_QUERIES test items
    shares its label; precision@k for any k <= MAX_K is the mean of the first k columns."""
    picked = metrics.map_subsample(len(_test), AVERAGE_QUERIES)
    neighbours, _ = _index.query(_test[picked], MAX_K)
    return _dataset.y_train[neighbours] == _dataset.y_test[picked][:, None]


def test_matches(current, dataset, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`neighbour_matches` of the test codes and of the test pixels under ``metric``."""
    codes = neighbour_matches(f"codes:{current.key}", metric, code_index(current.key, metric, current.model, dataset),
                              cache.codes(current.key, "test", current.model, dataset), dataset)
    pixels = neighbour_matches(f"pixels:{dataset.fingerprint}", metric, pixel_index(dataset.fingerprint, metric, dataset),
                               dataset.x_test.reshape(len(dataset.x_test), -1), dataset)
    return codes, pixels


def average_precision(matches: np.ndarray, k: int) -> float:
    """Mean label precision@k over the test queries (as :func:`explorer.metrics.precision_at_k`)."""
    return float(matches[:, :k].mean())


def pick_query(current, dataset) -> query.Query | None:
    """The query image from the chosen source, with its class when known."""
    source = st.radio("Query", SOURCES, horizontal=True, key=SOURCE_KEY)
    if source in ("test image", "training image"):
        x, y = (dataset.x_test, dataset.y_test) if source == "test image" else (dataset.x_train, dataset.y_train)
        key = "search.test_index" if source == "test image" else TRAIN_INDEX_KEY
        index = int(st.number_input(f"{source.capitalize()} index", 0, len(x) - 1, 0, key=key))
        return query.Query(x[index], None if y is None else int(y[index]), f"{source} {index}",
                           index if source == "training image" else None)
    polarity = query.polarity_choice("search")
    found = query.upload_input(dataset, "search", polarity) if source == "upload" else \
        query.canvas_input(dataset, "search", polarity)
    if found is None:
        st.info("Upload an image." if source == "upload" else
                "Draw on the canvas (a thick stroke reads best); the preview shows what the model sees.")
    return found


def ask_label(current, dataset, q: query.Query) -> int | None:
    """The class of an upload or drawing: needed to encode with a conditional model, optional otherwise
    (it only scores precision for this query)."""
    if q.label is not None or dataset.y_train is None:
        return q.label
    if current.model.conditional:
        return query.pick_label(current.model, dataset, "search.class")
    choice = st.selectbox("Its class (to score precision for this query)", [None, *range(dataset.n_classes)],
                          format_func=lambda i: "not given" if i is None else query.class_name(dataset, i),
                          key="search.class_optional")
    return choice


def search(index: CodeIndex, vector: np.ndarray, k: int, exclude: int | None, started: float) -> Results:
    indices, distances = index.query(vector[None], k + (exclude is not None))
    keep = indices[0] != exclude if exclude is not None else np.ones(indices.shape[1], bool)
    return Results(indices[0][keep][:k], distances[0][keep][:k], time.perf_counter() - started)


def by_code(current, dataset, q: query.Query, label: int | None, metric: str, k: int,
            exclude: int | None) -> Results:
    index = code_index(current.key, metric, current.model, dataset)
    started = time.perf_counter()
    return search(index, query.encode_one(current.model, q.image, label), k, exclude, started)


def by_pixels(dataset, q: query.Query, metric: str, k: int, exclude: int | None) -> Results:
    index = pixel_index(dataset.fingerprint, metric, dataset)
    return search(index, q.image.reshape(-1), k, exclude, time.perf_counter())


def use_training_image(index: int) -> None:
    st.session_state[SOURCE_KEY] = "training image"
    st.session_state[TRAIN_INDEX_KEY] = index


def result_row(name: str, dataset, results: Results, label: int | None, average: float | None, row: str) -> None:
    k = len(results.indices)
    summary = [f"query time **{results.seconds * 1000:.1f} ms**"]
    if label is not None and dataset.y_train is not None:
        precision = float((dataset.y_train[results.indices] == label).mean())
        summary.insert(0, f"precision@{k} **{precision:.2f}** for this query")
    if average is not None:
        summary.insert(1 if label is not None else 0, f"test average **{average:.3f}**")
    st.markdown(f"**{name}** · " + " · ".join(summary))
    for column, (i, index) in zip(st.columns(k), enumerate(results.indices)):
        with column:
            widgets.show_images(dataset.x_train[[index]], 1)
            cls = query.class_name(dataset, int(dataset.y_train[index])) if dataset.y_train is not None else "#"
            st.caption(f"{cls} · {results.distances[i]:.3g}")
            st.button("search", key=f"search.use.{row}.{i}", on_click=use_training_image, args=(int(index),),
                      help=f"Search with training image {index}")


def metric_and_k() -> tuple[str, int]:
    left, right = st.columns(2)
    metric = left.radio("Distance", METRICS, horizontal=True, key="search.metric")
    k = right.slider("k", 1, MAX_K, 8, key="search.k")
    return metric, int(k)
