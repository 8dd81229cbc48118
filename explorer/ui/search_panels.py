"""The parts of the Search page: the query, the top-k training images by code and by pixel distance,
each marked against the query's class, and label precision@k for this query and over test images.

Indexes are CodeIndex objects held with ``st.cache_resource`` (one per model and distance, one per
dataset and distance for pixels); test-set precisions are cached per model and distance, for every k
at once (:func:`explorer.search.precision_by_k`), and computed only for the distance on screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import streamlit as st

from explorer import search
from explorer.query import Query, class_name
from explorer.search import METRICS, CodeIndex
from explorer.ui import cache, query, widgets

SOURCES = ("test image", "training image", "upload", "draw")
AVERAGE_QUERIES = 1000  # test images the averages are taken over (a seeded subsample)
MAX_K = 16
SOURCE_KEY, TRAIN_INDEX_KEY = "search.source", "search.train_index"


@st.cache_resource(show_spinner="Indexing the training codes…", max_entries=16)
def code_index(model_key: str, metric: str, _model, _dataset) -> CodeIndex:
    return CodeIndex(metric).fit(cache.codes(model_key, "train", _model, _dataset))


@st.cache_resource(show_spinner="Indexing the training pixels…", max_entries=4)
def pixel_index(fingerprint: str, metric: str, _dataset) -> CodeIndex:
    return CodeIndex(metric).fit(_dataset.x_train.reshape(len(_dataset.x_train), -1))


@st.cache_data(show_spinner="Searching for test images' neighbours…", max_entries=32)
def precisions(index_key: str, metric: str, _index: CodeIndex, _queries: np.ndarray, _dataset) -> np.ndarray:
    """(MAX_K,) test precision@1..MAX_K of ``_queries`` (the test codes or pixels) against ``_index``."""
    return search.precision_by_k(_index, _dataset.y_train, _queries, _dataset.y_test, MAX_K, AVERAGE_QUERIES)


def code_precisions(current, dataset, metric: str) -> np.ndarray:
    return precisions(f"codes:{current.key}", metric, code_index(current.key, metric, current.model, dataset),
                      cache.codes(current.key, "test", current.model, dataset), dataset)


def pixel_precisions(dataset, metric: str) -> np.ndarray:
    return precisions(f"pixels:{dataset.fingerprint}", metric, pixel_index(dataset.fingerprint, metric, dataset),
                      dataset.x_test.reshape(len(dataset.x_test), -1), dataset)


def pick_query(current, dataset) -> Query | None:
    """The query image from the chosen source, with its class when known."""
    source = st.radio("Query", SOURCES, horizontal=True, key=SOURCE_KEY)
    if source in ("test image", "training image"):
        x, y = (dataset.x_test, dataset.y_test) if source == "test image" else (dataset.x_train, dataset.y_train)
        key = "search.test_index" if source == "test image" else TRAIN_INDEX_KEY
        index = int(st.number_input(f"{source.capitalize()} index", 0, len(x) - 1, 0, key=key))
        return Query(x[index], None if y is None else int(y[index]), f"{source} {index}",
                     index if source == "training image" else None)
    polarity = query.polarity_choice("search")
    if source == "upload":
        return query.upload_input(dataset, "search", polarity, hint="Upload an image.")
    found = query.canvas_input(dataset, "search", polarity)
    if found is None:
        st.info("Draw on the canvas (a thick stroke reads best); the preview shows what the model sees.")
    return found


def ask_label(current, dataset, q: Query) -> int | None:
    """The class of an upload or drawing: needed to encode with a conditional model, optional otherwise
    (it only scores precision for this query)."""
    if q.label is not None or dataset.y_train is None:
        return q.label
    if current.model.conditional:
        return query.pick_label(current.model, dataset, "search.class")
    choice = st.selectbox("Its class (to score precision for this query)", [None, *range(dataset.n_classes)],
                          format_func=lambda i: "not given" if i is None else class_name(dataset, i),
                          key="search.class_optional")
    return choice


def use_training_image(index: int) -> None:
    st.session_state[SOURCE_KEY] = "training image"
    st.session_state[TRAIN_INDEX_KEY] = index


def summary(name: str, found: search.Neighbours, average: float | None = None) -> str:
    """The row's heading: this query's precision@k, the test average (once known) and the query time."""
    parts = [f"query time **{found.seconds * 1000:.1f} ms**"]
    if average is not None:
        parts.insert(0, f"test average **{average:.3f}**")
    if found.precision is not None:
        parts.insert(0, f"precision@{len(found.indices)} **{found.precision:.2f}** for this query")
    return f"**{name}** · " + " · ".join(parts)


def neighbour_caption(dataset, index: int, distance: str, match: bool | None) -> str:
    """Class and distance, marked ✓ in green or ✗ in red against the query's class when it is known."""
    cls = class_name(dataset, int(dataset.y_train[index])) if dataset.y_train is not None else f"#{index}"
    if match is None:
        return f"{cls} · {distance}"
    return f":green[✓ {cls}] · {distance}" if match else f":red[✗ {cls}] · {distance}"


@dataclass
class ResultRow:
    """A drawn row of results, whose heading gains the test average once :meth:`add_average` asks for it."""
    title: str
    found: search.Neighbours
    heading: Any                                  # the heading's st.empty placeholder
    test_precisions: Callable[[], np.ndarray]     # (MAX_K,) cached test precision@1..MAX_K

    def add_average(self) -> None:
        average = float(self.test_precisions()[len(self.found.indices) - 1])
        self.heading.markdown(summary(self.title, self.found, average))


def result_row(title: str, dataset, found: search.Neighbours, metric: str, row: str,
               test_precisions: Callable[[], np.ndarray]) -> ResultRow:
    """The k images in a row, under a heading without the test average yet."""
    heading = st.empty()
    heading.markdown(summary(title, found))
    matches = [None] * len(found.indices) if found.matches is None else found.matches.tolist()
    distances = search.distance_text(found.distances, metric)
    for i, (column, index) in enumerate(zip(st.columns(len(found.indices)), found.indices)):
        with column:
            widgets.show_images(dataset.x_train[[index]], 1)
            st.caption(neighbour_caption(dataset, int(index), distances[i], matches[i]))
            st.button("search", key=f"search.use.{row}.{i}", on_click=use_training_image, args=(int(index),),
                      help=f"Search with training image {index}")
    return ResultRow(title, found, heading, test_precisions)


def code_row(current, dataset, q: Query, label: int | None, metric: str, k: int) -> ResultRow | None:
    """The search by code, or why this distance is refused for this code (None then)."""
    title = f"By code ({metric}, {current.model.latent_dim}-D)"
    refused = search.refusal(metric, current.model.latent_dim)
    if refused:
        st.markdown(f"**{title}**")
        st.warning(refused)
        return None
    found = search.nearest(code_index(current.key, metric, current.model, dataset), q.image, k, current.model,
                           label, dataset.y_train, q.train_index)
    return result_row(title, dataset, found, metric, "codes", lambda: code_precisions(current, dataset, metric))


def pixel_row(dataset, q: Query, label: int | None, metric: str, k: int) -> ResultRow:
    found = search.nearest(pixel_index(dataset.fingerprint, metric, dataset), q.image, k, None, label,
                           dataset.y_train, q.train_index)
    return result_row(f"By pixels ({metric})", dataset, found, metric, "pixels",
                      lambda: pixel_precisions(dataset, metric))


def metric_and_k() -> tuple[str, int]:
    left, right = st.columns(2)
    metric = left.radio("Distance", METRICS, horizontal=True, key="search.metric")
    k = right.slider("k", 1, MAX_K, 8, key="search.k")
    return metric, int(k)
