"""The parts of the Search page: the query, the top-k training images by code and by pixel distance,
each marked against the query's class, label precision@k for this query and over test images, and
with the corrupted-query switch on, the same searches for a damaged query and test images.

Indexes are CodeIndex objects held with ``st.cache_resource`` (one per model and distance, one per
dataset and distance for pixels); test-set precisions are cached per model and distance (and damage),
for every k at once (:func:`explorer.search.precision_by_k`), and computed only for the distance on
screen; the damaged ones only while the switch is on (:mod:`explorer.robustness`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from explorer import robustness, search
from explorer.denoise import add_noise, noise_name, setting_name
from explorer.noise import NOISE_TYPES
from explorer.query import Query, class_name
from explorer.gallery import shipped_test_precision
from explorer.search import MAX_K, METRICS, TEST_QUERIES, CodeIndex
from explorer.ui import cache, lesson, query, widgets

SOURCES = ("test image", "training image", "upload", "draw")
PER_LINE = 8  # found images to a line: at 1024 px wide, more squeeze their captions and buttons unreadable
SOURCE_KEY, TRAIN_INDEX_KEY = "search.source", "search.train_index"
LEVEL_STEPS = 20    # damage slider positions over the level's range
NOISE_SEED = 0      # one damage per setting: the query and the test images look the same on every visit


@st.cache_resource(show_spinner="Indexing the training codes…", max_entries=16)
def code_index(model_key: str, metric: str, _model, _dataset) -> CodeIndex:
    return CodeIndex(metric).fit(cache.codes(model_key, "train", _model, _dataset))


@st.cache_resource(show_spinner="Indexing the training pixels…", max_entries=4)
def pixel_index(fingerprint: str, metric: str, _dataset) -> CodeIndex:
    return CodeIndex(metric).fit(_dataset.x_train.reshape(len(_dataset.x_train), -1))


@st.cache_data(show_spinner="Searching for test images' neighbours…", max_entries=32)
def precisions(index_key: str, fingerprint: str, metric: str, _index: CodeIndex, _queries: Callable[[], np.ndarray],
               _dataset) -> np.ndarray:
    """(MAX_K,) test precision@1..MAX_K of ``_queries`` (the test codes or pixels) against ``_index``:
    shipped with the gallery for its models and the datasets' pixels, else measured here."""
    shipped = shipped_test_precision(index_key, fingerprint, metric)
    if shipped is not None:
        return np.asarray(shipped)
    return search.precision_by_k(_index, _dataset.y_train, _queries(), _dataset.y_test, MAX_K, TEST_QUERIES)


@st.cache_data(show_spinner="Damaging test images and searching for their neighbours…", max_entries=32)
def damaged_precisions(index_key: str, metric: str, noise: str, level: float, _index: CodeIndex, _model,
                       _dataset) -> np.ndarray:
    """(MAX_K,) test precision@1..MAX_K of the same test images as :func:`precisions`, damaged, encoded by
    ``_model`` (pixels when None) and searched in ``_index``."""
    return robustness.damaged_precision_by_k(_index, _dataset.y_train, _dataset.x_test, _dataset.y_test, noise,
                                             level, MAX_K, _model, TEST_QUERIES, NOISE_SEED)


def code_precisions(current, dataset, metric: str, damage: tuple[str, float] | None = None) -> np.ndarray:
    index, key = code_index(current.key, metric, current.model, dataset), f"codes:{current.key}"
    if damage is not None:
        return damaged_precisions(key, metric, *damage, index, current.model, dataset)
    return precisions(current.key, dataset.fingerprint, metric, index,
                      lambda: cache.codes(current.key, "test", current.model, dataset), dataset)


def pixel_precisions(dataset, metric: str, damage: tuple[str, float] | None = None) -> np.ndarray:
    index, key = pixel_index(dataset.fingerprint, metric, dataset), f"pixels:{dataset.name}"
    if damage is not None:
        return damaged_precisions(key, metric, *damage, index, None, dataset)
    return precisions(key, dataset.fingerprint, metric, index, lambda: dataset.x_test.reshape(len(dataset.x_test), -1),
                      dataset)


def pick_query(current, dataset) -> Query | None:
    """The query image from the chosen source, with its class when known."""
    source = st.radio("Query", SOURCES, horizontal=True, key=SOURCE_KEY)
    if source in ("test image", "training image"):
        x, y = (dataset.x_test, dataset.y_test) if source == "test image" else (dataset.x_train, dataset.y_train)
        key = "search.test_index" if source == "test image" else TRAIN_INDEX_KEY
        start = lesson.setting("image", 0, within=(0, len(x) - 1)) if source == "test image" else 0
        index = int(st.number_input(f"{source.capitalize()} index", 0, len(x) - 1, start, key=key))
        if source == "test image":
            lesson.shows(image=index)
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


def summary(name: str, found: search.Neighbours, average: float | None = None, damaged: bool = False) -> str:
    """The row's heading: this query's precision@k, the test average (once known; over damaged test
    images for a damaged query) and the query time."""
    parts = [f"query time **{found.seconds * 1000:.1f} ms**"]
    if average is not None:
        parts.insert(0, f"{'damaged ' if damaged else ''}test average **{average:.3f}**")
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
    damaged: bool                                 # the query, and so the test images averaged, are damaged

    def add_average(self) -> float:
        average = float(self.test_precisions()[len(self.found.indices) - 1])
        self.heading.markdown(summary(self.title, self.found, average, self.damaged))
        return average


def result_row(title: str, dataset, found: search.Neighbours, metric: str, row: str,
               test_precisions: Callable[[], np.ndarray], damaged: bool) -> ResultRow:
    """The k images, at most :data:`PER_LINE` to a line, under a heading without the test average yet."""
    heading = st.empty()
    heading.markdown(summary(title, found))
    matches = [None] * len(found.indices) if found.matches is None else found.matches.tolist()
    distances = search.distance_text(found.distances, metric)
    width = min(len(found.indices), PER_LINE)
    columns = [column for _ in range(0, len(found.indices), width) for column in st.columns(width)]
    for i, (column, index) in enumerate(zip(columns, found.indices)):
        with column:
            widgets.show_images(dataset.x_train[[index]], 1)
            st.caption(neighbour_caption(dataset, int(index), distances[i], matches[i]))
            st.button(":material/search:", key=f"search.use.{row}.{i}", on_click=use_training_image,
                      args=(int(index),), help=f"Search with training image {index}")
    return ResultRow(title, found, heading, test_precisions, damaged)


def code_row(current, dataset, q: Query, label: int | None, metric: str, k: int,
             damage: tuple[str, float] | None) -> ResultRow | None:
    """The search by code, or why this distance is refused for this code (None then)."""
    title = f"By code ({metric}, {current.model.latent_dim}-D)"
    refused = search.refusal(metric, current.model.latent_dim)
    if refused:
        st.markdown(f"**{title}**")
        st.warning(refused)
        return None
    found = search.nearest(code_index(current.key, metric, current.model, dataset), q.image, k, current.model,
                           label, dataset.y_train, q.train_index)
    return result_row(title, dataset, found, metric, "codes", lambda: code_precisions(current, dataset, metric, damage),
                      damage is not None)


def pixel_row(dataset, q: Query, label: int | None, metric: str, k: int,
              damage: tuple[str, float] | None) -> ResultRow:
    found = search.nearest(pixel_index(dataset.fingerprint, metric, dataset), q.image, k, None, label,
                           dataset.y_train, q.train_index)
    return result_row(f"By pixels ({metric})", dataset, found, metric, "pixels",
                      lambda: pixel_precisions(dataset, metric, damage), damage is not None)


def metric_and_k() -> tuple[str, int]:
    left, right = st.columns(2)
    metric = left.radio("Distance", METRICS, horizontal=True, key="search.metric",
                        index=METRICS.index(lesson.setting("metric", METRICS[0])))
    k = right.slider("k", 1, MAX_K, lesson.setting("k", 8), key="search.k")
    lesson.shows(metric=metric, k=int(k))
    return metric, int(k)


def damage_choice() -> tuple[str, float] | None:
    """The corrupted-query switch and, while it is on, the damage: one of the Denoise page's noise kinds,
    at that kind's default level until the slider moves."""
    asked = lesson.setting("noise", None)   # a link with a damage opens with the switch on
    if not st.toggle("Corrupted query", value=asked is not None, key="search.corrupt",
                     help="Damage the query before it is searched, and compare search by code and by pixels "
                          "over test images damaged the same way."):
        return None
    left, right = st.columns(2)
    kinds = "  \n".join(f"**{noise_name(name)}**: {t.description}" for name, t in NOISE_TYPES.items())
    names = list(NOISE_TYPES)
    noise = left.selectbox("Noise", names, index=names.index(asked or names[0]), format_func=noise_name,
                           key="search.noise", help=kinds)
    spec = NOISE_TYPES[noise]
    start = lesson.setting("level", spec.default_level, within=(spec.min_level, spec.max_level))
    level = right.slider(f"How much ({spec.level_name})", spec.min_level, spec.max_level, start,
                         step=(spec.max_level - spec.min_level) / LEVEL_STEPS, key=f"search.level.{noise}")
    lesson.shows(noise=noise, level=round(float(level), 2))
    return noise, round(float(level), 2)


def damaged(q: Query, damage: tuple[str, float] | None) -> Query:
    """The query as it is searched: damaged by ``damage`` when the switch is on."""
    if damage is None:
        return q
    noise, level = damage
    return replace(q, image=add_noise(q.image[None], noise, level, NOISE_SEED)[0],
                   description=f"{q.description} with {setting_name(noise, level)} damage")


def robustness_table(current, dataset, metric: str, k: int, damage: tuple[str, float]) -> None:
    """Test precision@k by code and by pixels, clean and damaged, side by side, and what it says."""
    noise, level = damage
    scores = robustness.Robustness(k, noise, level, code_precisions(current, dataset, metric)[k - 1],
                                   code_precisions(current, dataset, metric, damage)[k - 1],
                                   pixel_precisions(dataset, metric)[k - 1],
                                   pixel_precisions(dataset, metric, damage)[k - 1])
    st.markdown(f"**Clean or damaged queries** · test precision@{k}")
    st.table(pd.DataFrame({"clean": [scores.code_clean, scores.pixel_clean],
                           f"{setting_name(noise, level)} damage": [scores.code_damaged, scores.pixel_damaged]},
                          index=[f"by code ({current.model.latent_dim}-D)", "by pixels"]).style.format("{:.3f}"))
    st.caption(scores.reading())
