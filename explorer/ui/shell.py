"""The frame around every page: navigation entries, session start, sidebar, URL state."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer.ui import state, widgets

PAGES_DIR = Path(__file__).parent / "pages"

# (file, title, icon, url path); the first is the landing page.
PAGES = [
    ("model.py", "Model", ":material/model_training:", "model"),
    ("denoise.py", "Denoise", ":material/auto_fix_high:", "denoise"),
    ("anomaly.py", "Anomaly", ":material/troubleshoot:", "anomaly"),
    ("rbm.py", "RBM", ":material/grain:", "rbm"),
    ("compare.py", "Compare", ":material/compare:", "compare"),
]


def pages() -> list:
    return [st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=path, default=i == 0)
            for i, (file, title, icon, path) in enumerate(PAGES)]


def frame() -> None:
    state.init_session()
    widgets.sidebar()
    state.publish_query_params()
