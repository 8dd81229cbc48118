"""The frame around every page: navigation entries, session start, sidebar, URL state."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer.ui import lesson, maps, state, widgets

PAGES_DIR = Path(__file__).parent / "pages"

# (file, title, icon, url path); the first is the landing page.
PAGES = [
    ("model.py", "Model", ":material/model_training:", "model"),
    ("latent.py", "Latent space", ":material/scatter_plot:", "latent"),
    ("traverse.py", "Traverse", ":material/tune:", "traverse"),
    ("denoise.py", "Denoise", ":material/auto_fix_high:", "denoise"),
    ("search.py", "Search", ":material/image_search:", "search"),
    ("anomaly.py", "Anomaly", ":material/troubleshoot:", "anomaly"),
    ("rbm.py", "RBM", ":material/grain:", "rbm"),
    ("compare.py", "Compare", ":material/compare:", "compare"),
]


def pages() -> list:
    """The listed pages, each at its own path, after a hidden landing page at "/".

    Streamlit serves the default page at "/" only, so a default Model page would make "/model"
    a "page not found"; the landing page forwards to the first page, keeping the query string.
    """
    listed = [st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=path) for file, title, icon, path in PAGES]

    def landing() -> None:
        st.switch_page(listed[0], query_params=st.query_params.to_dict())

    return [st.Page(landing, title=PAGES[0][1], url_path="home", default=True, visibility="hidden"), *listed]


def page_file(url_path: str) -> Path:
    """The script of the listed page at ``url_path`` (for ``st.switch_page`` and ``st.page_link``)."""
    return next(PAGES_DIR / file for file, _, _, path in PAGES if path == url_path)


def frame(page) -> None:
    """Before ``page`` (what ``st.navigation`` chose): the session's state (any switch a widget asked for
    has been applied by its callback, before this run), the lesson its URL asks for, the sidebar drawn
    from them, their notices, and the URL naming the model."""
    state.init_session()
    lesson.start(page.url_path)
    widgets.sidebar()
    lesson.presenter_toggle()
    widgets.messages()
    state.publish_query_params()


def after_page(page) -> None:
    """After ``page`` has drawn: its lesson link from what it showed; encode the model on screen's splits
    in the background for the next pages, and once per process (its import of umap competes for the GIL)
    compile UMAP's numba code and start the training fork server while the user looks around."""
    if page.url_path in {path for *_, path in PAGES}:
        lesson.link_button(page.url_path)
    state.encode_in_background()
    maps.start_umap_warmup()
    start_fork_server()


@st.cache_resource(show_spinner=False)
def start_fork_server():
    """Once per server process, a few seconds after the first page view: the training fork server
    (:func:`explorer.worker.start_fork_server_in_background`), so the first Train press does not wait for it."""
    from explorer import worker  # imports torch: after the first page has drawn
    return worker.start_fork_server_in_background()
