"""A second model beside the current one, on the Latent and Traverse pages: chosen among the models the
Compare page offers (the shipped ones of the session's dataset, then this session's), or named by a
lesson link's ``beside=variant-code``. What the two views share is :mod:`explorer.pairing`'s."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.gallery import KEY_PREFIX
from explorer.ui import lesson
from explorer.ui.compare_panels import Entry, entries

NOTHING = "nothing"


@dataclass(frozen=True)
class Partner:
    """The model shown beside the current one: a label for captions, its cache key and the model."""
    label: str
    key: str
    model: object


def _link_name(entry: Entry) -> str | None:
    """A shipped model's name in a lesson link (``aae-2``); a session's own model cannot travel in one."""
    return entry.key.rsplit("/", 1)[-1] if entry.key.startswith(KEY_PREFIX) else None


def choose(current, dataset, page: str) -> Partner | None:
    """The "Beside it" choice (none by default, or the lesson link's), and the chosen model, loaded."""
    offered = [e for e in entries(dataset) if e.key != current.key]
    by_label = {f"{e.label} (code {e.latent_dim})": e for e in offered}
    asked = lesson.setting("beside", None)
    start = next((label for label, e in by_label.items() if asked is not None and _link_name(e) == asked), NOTHING)
    if asked is not None and start == NOTHING:
        st.warning(f"The link's `beside={asked}` is not a shipped model of {dataset.name}: shown alone.")
    label = st.selectbox("A second model beside it", [NOTHING, *by_label], index=[NOTHING, *by_label].index(start),
                         key=f"{page}.beside",
                         help="A second model, with the same test images and the same controls: the VAE beside "
                              "the AAE, or code 2 beside code 8.")
    if label == NOTHING:
        return None
    entry = by_label[label]
    if _link_name(entry) is not None:
        lesson.shows(beside=_link_name(entry))
    return Partner(label, entry.key, entry.model)
