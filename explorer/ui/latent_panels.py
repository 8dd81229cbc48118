"""The parts of the Latent page: map controls, the three maps with their scores, the selected images,
decoding a point of a 2-D code space, placing a new image, exports.

Every chart interaction has a plain widget behind it: selecting points (click, box or lasso) writes
their test indices into the ``latent.indices`` text box, which is what the page reads; clicking one
point of a 2-D code map also copies its code into the ``latent.decode_x`` / ``latent.decode_y``
inputs, which decode any point, empty space included (plotly sends no event for a click on empty
space, so those two inputs are the way to pick one).
"""
from __future__ import annotations

import functools
import hashlib

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer import maps as core_maps
from explorer import traverse
from explorer.exports import codes_csv, codes_npz
from explorer.maps import Map, Shown, code_methods
from explorer.plots import MAP_AXES, class_key, latent_scatter, with_selection
from explorer.projection import DEFAULT_MAP_POINTS
from explorer.query import Query, class_name
from explorer.ui import cache, hover, lesson, maps, query, widgets

MAP_POINTS = (500, 1000, 2000, 5000, 10000)
MAX_SELECTED_SHOWN = 24
INDICES_KEY = "latent.indices"
NEW_SOURCES = ("none", "training image", "test image", "upload")


def controls(current, dataset, beside_dim: int | None = None) -> tuple[str, int]:
    """How the codes are mapped (as they are for 1- or 2-D codes) and how many test images the maps show;
    with a model beside the current one, the larger code of the two sets the choice
    (:func:`explorer.maps.code_method_for`)."""
    left, right = st.columns(2)
    k = max(current.model.latent_dim, beside_dim or 0)
    methods = code_methods(k)
    if len(methods) == 1:
        left.markdown(f"The codes are **{k}-D**: the code map plots them as they are"
                      + (" (on a line)." if k == 1 else "."))
        method = methods[0]
    else:
        method = left.radio(f"Map of the {k}-D codes", methods, format_func=str.upper, horizontal=True,
                            index=methods.index(lesson.setting("map", methods[0])), key="latent.code_method",
                            help="UMAP keeps neighbourhoods; PCA keeps the two directions of largest variance.")
        lesson.shows(map=method)
    n_test = len(dataset.x_test)
    choices = sorted({min(n, n_test) for n in MAP_POINTS})
    if len(choices) == 1:
        right.markdown(f"All **{n_test}** test images are on the maps.")
        return method, n_test
    default = min(DEFAULT_MAP_POINTS, n_test)
    n_points = right.select_slider("Test images on the maps", choices, value=lesson.setting("points", default, choices),
                                   key="latent.n_points",
                                   help=f"A seeded subsample. The gallery ships the maps of {DEFAULT_MAP_POINTS}; "
                                        "other sizes are fitted here (UMAP: seconds per thousand points).")
    lesson.shows(points=int(n_points))
    return method, int(n_points)


def parse_indices(text: str, n_test: int) -> tuple[list[int], list[str]]:
    """'3, 17 42' -> [3, 17, 42] and the entries that are not test indices."""
    picked, bad = [], []
    for token in text.replace(",", " ").split():
        if token.isdigit() and int(token) < n_test:
            picked.append(int(token))
        else:
            bad.append(token)
    return list(dict.fromkeys(picked)), bad


def _on_select(chart_key: str, decodes: bool) -> None:
    """Chart selection -> the indices text box (and, for one point of a 2-D code map, the decode inputs)."""
    points = st.session_state[chart_key].selection.points
    picked = [int(np.ravel(p["customdata"])[0]) for p in points if p.get("customdata") is not None]
    # a highlighted point is drawn twice (its class's trace and the "selected" ring on top): listed once
    st.session_state[INDICES_KEY] = ", ".join(map(str, dict.fromkeys(picked)))
    if decodes and len(points) == 1 and picked:
        st.session_state["latent.decode_x"] = float(points[0]["x"])
        st.session_state["latent.decode_y"] = float(points[0]["y"])


def figure(m: Map, shown: Shown, dataset, marks: list[tuple[str, np.ndarray, str]]) -> go.Figure:
    """The map coloured by label, customdata = test index; ``marks``: (name, (2,) point, symbol) on top."""
    fig = latent_scatter(m.points, shown.labels, dataset.class_names, m.title, height=380,
                         axis_titles=MAP_AXES[m.method], legend=False)
    for trace in fig.data:
        trace.customdata = shown.indices[np.asarray(trace.customdata, int)]
    for name, point, symbol in marks:
        marker = dict(symbol=symbol, size=16, color="black", line=dict(color="white", width=1))
        # Out of the legend: a long extra entry turns plotly's horizontal class legend into a scrolled column.
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name=name, marker=marker,
                                 showlegend=False, hovertemplate=f"{name}<extra></extra>"))
    fig.update_layout(dragmode="lasso", meta=hover.MAP_META)
    return fig


@st.cache_resource(show_spinner=False, max_entries=48)
def cached_figure(map_key: str, title: str, marks_key: str, _m: Map, _shown: Shown, _dataset, _marks) -> go.Figure:
    """:func:`figure`, built once per map, title (a map beside another model's names its model) and marks
    (plotly validates every trace, which is slow); never mutated after."""
    return figure(_m, _shown, _dataset, _marks)


@st.cache_resource(show_spinner=False, max_entries=48)
def selected_figure(map_key: str, title: str, marks_key: str, selected_key: str, _figure: go.Figure, _m: Map, _shown: Shown,
                    _selected: np.ndarray) -> go.Figure:
    """The cached figure with the ``_selected`` rows of the shown images ringed and the rest dimmed
    (:func:`explorer.plots.with_selection`: a few ms a map, where building it anew took ~0.1 s at 10,000
    points); never mutated after."""
    return with_selection(_figure, _m.points, _shown.labels, _selected, _shown.indices)


def quality_text(m: Map, q: dict) -> str:
    parts = [m.provenance()]
    if "knn_accuracy" in q:
        parts.append(f"5-NN accuracy **{q['knn_accuracy']:.3f}**")
    parts.append(f"trustworthiness **{q['trustworthiness']:.3f}**")
    if "silhouette" in q:
        parts.append(f"silhouette **{q['silhouette']:.3f}**")
    return " · ".join(parts)


def map_columns(n_maps: int) -> list:
    """A column per map: three in a row, four (a second model's code map beside the first) in two rows of two,
    so each map keeps a readable width on a projector."""
    per_row = 2 if n_maps == 4 else n_maps
    return [column for start in range(0, n_maps, per_row) for column in st.columns(per_row)]


def chart_keys(all_maps: list[Map]) -> list[str]:
    """A widget key per chart, by what it maps; the second map of the same kind (the model beside the current
    one) gets ``.beside``."""
    keys = []
    for m in all_maps:
        key = f"latent.chart.{m.source}.{m.method}"
        keys.append(f"{key}.beside" if key in keys else key)
    return keys


def map_row(all_maps: list[Map], shown: Shown, dataset, marks: list[list], decodes: bool) -> list[dict]:
    """The maps, then their scores: the charts go out before a map's first view computes its scores.
    Returns the scores (:func:`explorer.maps.map_quality`), map by map."""
    if shown.labels is not None:
        st.markdown(f"Classes: {class_key(shown.labels, dataset.class_names)}", unsafe_allow_html=True)
    scores = []
    # the box's selection, typed or made on any map, highlighted on all three
    selected = core_maps.selected_rows(shown, parse_indices(st.session_state.get(INDICES_KEY, ""),
                                                            len(dataset.x_test))[0])
    selected_key = hashlib.sha1(selected.tobytes()).hexdigest()
    for column, m, mark, key in zip(map_columns(len(all_maps)), all_maps, marks, chart_keys(all_maps)):
        marks_key = ";".join(f"{name}:{point[0]:.9g},{point[1]:.9g}" for name, point, _ in mark)
        chart = cached_figure(m.key, m.title, marks_key, m, shown, dataset, mark)
        if len(selected):
            chart = selected_figure(m.key, m.title, marks_key, selected_key, chart, m, shown, selected)
        column.plotly_chart(chart, key=key,
                            on_select=functools.partial(_on_select, key, decodes and m.source == "codes"),
                            selection_mode=("points", "box", "lasso"))
        scores.append(column.empty())
    hover.hover_images(shown, dataset)
    qualities = [maps.quality(m.key, m.points, shown.labels, shown.pixels) for m in all_maps]
    for place, m, q in zip(scores, all_maps, qualities):
        place.markdown(quality_text(m, q))
    st.caption(f"{len(shown.indices)} test images. 5-NN accuracy: 5-fold cross-validated k-NN on the 2-D map; "
               "trustworthiness: are a point's 5 map neighbours among its 5 pixel-space neighbours (1 is "
               "best); silhouette: class separation on the map (-1 to 1). Hover a point to see its image. Click, "
               "box or lasso points (or type their indices under Selected images) to ring them on all three "
               "maps and see them below; PNG: the camera button on each chart. Black marks: ★ a placed new "
               "image, ✕ the decoded point.")
    return qualities


def selection_view(current, dataset) -> None:
    text = st.text_input("Selected test images (indices; chart selections land here)", key=INDICES_KEY,
                         placeholder="e.g. 0, 5, 17")
    picked, bad = parse_indices(text, len(dataset.x_test))
    if bad:
        st.warning(f"Not test indices (0 to {len(dataset.x_test) - 1}): {', '.join(bad[:5])}")
    if not picked:
        st.caption("Nothing selected yet.")
        return
    shown = picked[:MAX_SELECTED_SHOWN]
    recon = current.model.reconstruct_array(dataset.x_test[shown], dataset.y_test[shown] if dataset.y_test is not None else None)
    more = f", first {len(shown)} shown" if len(picked) > len(shown) else ""
    widgets.show_images(np.concatenate([dataset.x_test[shown], recon]), len(shown),
                        caption=f"{len(picked)} selected{more} · top: images · bottom: reconstructions")
    codes = cache.codes(current.key, "test", current.model, dataset)[shown]
    table = {"test index": shown}
    if dataset.y_test is not None:
        table["class"] = [class_name(dataset, int(label)) for label in dataset.y_test[shown]]
    table.update({f"z{d}": codes[:, d] for d in range(codes.shape[1])})
    st.dataframe(table, hide_index=True, key="latent.codes_table")


def decode_point(current, dataset, codes: np.ndarray) -> np.ndarray | None:
    """Two number inputs (and a class for conditional models) -> the decoded image; returns the point."""
    start, step = core_maps.decode_start(codes)
    left, middle, right = st.columns([1, 1, 2])
    x = left.number_input("code x (z0)", value=float(start[0]), step=step, format="%.3f", key="latent.decode_x")
    y = middle.number_input("code y (z1)", value=float(start[1]), step=step, format="%.3f", key="latent.decode_y")
    label = query.pick_label(current.model, dataset, "latent.decode_class")
    point = np.array([x, y], np.float32)
    image = traverse.decode(current.model, point[None], label)
    with right:
        widgets.show_images(image, 1, caption=f"decoded ({x:.3f}, {y:.3f}): the × on the code map", width=160)
    return point


def new_image(current, dataset) -> Query | None:
    """A training or test image by index, or an upload, to place on the maps with ``transform``."""
    left, right = st.columns([1, 2])
    source = left.selectbox("Place a new image", NEW_SOURCES, key="latent.new_source",
                            help="Training images were not used to fit the maps, so they are new to them.")
    if source == "none":
        return None
    if source == "upload":
        with right:
            return query.upload_input(dataset, "latent.new", query.polarity_choice("latent.new"))
    x, y = (dataset.x_train, dataset.y_train) if source == "training image" else (dataset.x_test, dataset.y_test)
    index = int(right.number_input(f"{source} index", 0, len(x) - 1, 0, key="latent.new_index"))
    return Query(x[index], None if y is None else int(y[index]), f"{source} {index}")


def place(current, dataset, q: Query, all_maps: list[Map], partner=None) -> list[np.ndarray]:
    """The new image's (2,) position on each map, by each map's fitted projector (never a refit); with a
    model beside the current one, the second map is its codes' (:func:`explorer.ui.maps.maps_for`), where the
    image is placed by that model's code."""
    label = query.pick_label(current.model, dataset, "latent.new_class", q.label)
    own = all_maps if partner is None else all_maps[:1] + all_maps[2:]
    positions = core_maps.place(current.model, q.image, label, own, maps.projector_of)
    if partner is not None:
        label = query.pick_label(partner.model, dataset, "latent.new_class.beside", q.label)
        positions.insert(1, core_maps.place(partner.model, q.image, label, all_maps[1:2], maps.projector_of)[0])
    query.preview(q.image, f"{q.description}: the ★ on each map")
    return positions


def exports(current, dataset, all_maps: list[Map], shown: Shown) -> None:
    codes_of = functools.partial(cache.codes, current.key, "test", current.model, dataset)
    stem = f"{dataset.name}-{current.variant}-{current.model.latent_dim}-test-codes"
    left, middle, right = st.columns(3)
    left.download_button("Codes (.csv)", lambda: codes_csv(codes_of(), dataset.y_test), file_name=f"{stem}.csv",
                         mime="text/csv", key="latent.csv")
    middle.download_button("Codes (.npz)", lambda: codes_npz(codes_of(), dataset.y_test), file_name=f"{stem}.npz",
                           mime="application/octet-stream", key="latent.npz")
    chart = right.selectbox("Map as HTML", [m.title for m in all_maps], key="latent.html_map",
                            label_visibility="collapsed")
    right.download_button(f"Map “{chart}” (.html)", lambda: _html(all_maps, chart, shown, dataset),
                          file_name=f"{stem}-{chart.replace(' ', '-')}.html", mime="text/html", key="latent.html")
    st.caption("Codes of every test image with its label. The HTML map is self-contained and interactive; "
               "for a PNG use the camera button in a chart's toolbar.")


def _html(all_maps: list[Map], title: str, shown: Shown, dataset) -> str:
    m = next(m for m in all_maps if m.title == title)
    # A map on its own, so it carries its own legend (on the page one class key serves all three).
    return figure(m, shown, dataset, []).update_layout(showlegend=True).to_html(include_plotlyjs=True, full_html=True)
