"""The Search page over an index folder (``python -m explorer index``): the folder, the query (an image
of the collection, an upload or a drawing) and the k nearest items with their thumbnails, file names,
distances and, where the index has labels, ✓/✗ against the query's class. The search itself is
:func:`explorer.retrieval.lookup.nearest_in`; the index folder is opened once per folder and manifest."""
from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import streamlit as st

from explorer.errors import ExplorerError
from explorer.query import Query
from explorer.retrieval.lookup import OpenIndex, QueryTarget, nearest_in, open_index
from explorer.search import MAX_K, distance_text
from explorer.ui import query, widgets

WHERE = ("training images", "an index folder")
QUERIES = ("image of the collection", "upload", "draw")
WHERE_KEY, FOLDER_KEY = "search.where", "search.index_folder"
QUERY_KEY, ROW_KEY = "search.index_query", "search.index_row"
PER_LINE = 8
NAME_CHARACTERS = 8  # of a file name under a thumbnail, 8 to a line at 1024 px; cut from the left, as
                     # its end tells files apart


def index_chosen() -> bool:
    """The page's first choice: the loaded dataset's training images (as before) or an index folder."""
    where = st.radio("Search in", WHERE, horizontal=True, key=WHERE_KEY,
                     help="An index folder is made by `python -m explorer index MODEL_DIR IMAGES --out FOLDER`; "
                          "it holds the codes of your own collection, searched with the model that made them.")
    return where == WHERE[1]


@st.cache_resource(show_spinner="Opening the index folder…", max_entries=4)
def opened(folder: str, manifest_mtime: float) -> OpenIndex:
    return open_index(folder)


def _open(folder: str) -> OpenIndex | None:
    try:
        return opened(folder, (Path(folder) / "manifest.json").stat().st_mtime)
    except FileNotFoundError:
        st.error(f"{folder}: no index folder there (no manifest.json); build one with `python -m explorer index`.")
    except ExplorerError as error:
        st.error(str(error))
    return None


def index_search() -> None:
    """The whole page for an index folder."""
    folder = st.text_input("Index folder (a path on the server)", key=FOLDER_KEY).strip()
    if not folder:
        st.info("Name an index folder made by `python -m explorer index MODEL_DIR IMAGES --out FOLDER`.")
        return
    index = _open(folder)
    if index is None:
        return
    st.caption(describe(index))
    left, right = st.columns([1, 2])
    with right:
        k = int(st.slider("k", 1, MAX_K, 8, key="search.index_k"))
    with left:
        q = pick_query(index)
    if q is not None:
        found = nearest_in(index, k, None if q.train_index is not None else q.image, q.train_index, q.label)
        show_results(index, found)


def describe(index: OpenIndex) -> str:
    manifest = index.collection.manifest
    engine, counts, model = manifest["engine"], manifest["counts"], manifest["model"]
    recall = f", recall@10 {engine['recall_at_10']:.3f} against exact search" if "recall_at_10" in engine else ""
    return (f"{counts['indexed']:,} images from {manifest['source']}, encoded by {model['variant']} "
            f"({index.model.latent_dim}-D codes); {manifest['metric']} distance, engine {engine['kind']}{recall}.")


def pick_query(index: OpenIndex) -> Query | None:
    source = st.radio("Query", QUERIES, horizontal=True, key=QUERY_KEY)
    if source == QUERIES[0]:
        row = int(st.number_input("Item of the collection", 0, len(index.collection.codes) - 1, 0, key=ROW_KEY))
        label = None if index.collection.labels is None else int(index.collection.labels[row])
        q = Query(thumbnail_images(index, [row])[0], label, index.collection.sources[row], row)
        widgets.show_images(q.image[None], 1, caption=q.description, width=140)
        return q
    target = QueryTarget.of(index)
    polarity = query.polarity_choice("search.index")
    q = (query.upload_input(target, "search.index", polarity, hint="Upload an image.") if source == "upload"
         else query.canvas_input(target, "search.index", polarity))
    if q is not None:
        query.preview(q.image, f"{q.description}, as the model sees it")
    return q


def thumbnail_images(index: OpenIndex, rows) -> np.ndarray:
    """(n, C, h, w) float thumbnails of ``rows``; grey squares when the index stores none."""
    thumbnails = index.collection.thumbnails
    if thumbnails is None:
        return np.full((len(rows), index.input_shape[0], 8, 8), 0.5, np.float32)
    return thumbnails[list(rows)].astype(np.float32) / 255


def use_item(row: int) -> None:
    st.session_state[QUERY_KEY] = QUERIES[0]
    st.session_state[ROW_KEY] = row


def show_results(index: OpenIndex, found) -> None:
    metric = index.collection.manifest["metric"]
    precision = f"precision@{len(found.indices)} **{found.precision:.2f}** · " if found.precision is not None else ""
    st.markdown(f"**Nearest in the index** · {precision}query time **{found.seconds * 1000:.1f} ms**")
    distances = distance_text(found.distances, metric)
    matches = [None] * len(found.indices) if found.matches is None else found.matches.tolist()
    width = min(len(found.indices), PER_LINE)
    columns = [column for _ in range(0, len(found.indices), width) for column in st.columns(width)]
    pictures = thumbnail_images(index, found.indices)
    for i, (column, row) in enumerate(zip(columns, found.indices)):
        with column:
            widgets.show_images(pictures[[i]], 1)
            st.caption(caption(index, int(row), distances[i], matches[i]))
            st.button(":material/search:", key=f"search.index.use.{i}", on_click=use_item, args=(int(row),),
                      help=f"Search with {index.collection.sources[row]}")


def caption(index: OpenIndex, row: int, distance: str, match: bool | None) -> str:
    """Three short lines, as a column is about 70 px wide at 1024: the file's name (without its suffix),
    the class (✓ green / ✗ red against the query's, when known), the distance. On one line the class and
    distance wrapped, leaving a dangling " ·" (screenshot search-tiny-index, 1024x768)."""
    name = PurePosixPath(index.collection.sources[row]).stem  # the whole path is the button's tooltip
    name = name if len(name) <= NAME_CHARACTERS else "…" + name[-NAME_CHARACTERS + 1:]
    label = index.label_name(row)
    marked = (label if match is None else f":green[✓ {label}]" if match else f":red[✗ {label}]"
              ) if label is not None else None
    return "  \n".join(line for line in (name, marked, distance) if line is not None)
