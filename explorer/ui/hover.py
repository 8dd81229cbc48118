"""Hover images on the Latent page's maps: a custom component v2 (``hover.js``) mounted once on the page,
which shows the hovered point's test image and class beside the pointer, in the browser alone.

The images travel once, as a sprite (:mod:`explorer.sprites`) in the component's data. The sprite of a
set of shown images is the same for every session, so it is built once per server; and the message that
carries it is identical from one rerun to the next, so Streamlit's message cache sends the browser only
its hash after the first time (``global.minCachedMessageSize``).
"""
from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from explorer import sprites
from explorer.maps import Shown
from explorer.plots import class_name_of

MAP_META = "explorer-latent-map"  # layout.meta of the charts that show hover images
SHOWN_PX = 140                    # the image's side on screen: readable from the back of a room


@functools.cache
def _component():
    """Registered on first use, not at import."""
    return st.components.v2.component("explorer.map_hover", js=(Path(__file__).with_name("hover.js")).read_text())


@st.cache_resource(show_spinner="Cutting the map's thumbnails…", max_entries=8)
def payload(shown_key: str, _shown: Shown, _dataset) -> dict:
    """What the component needs for the shown test images of ``_dataset`` (``shown_key`` names them):
    their sprite as a data URI, which cell is which test index, their labels and the class names. Never
    mutated after."""
    sprite = sprites.build(_dataset.x_test[_shown.indices])
    labels = _shown.labels
    return {"meta": MAP_META, "sprite": sprite.data_uri(), "columns": sprite.columns,
            "cell_height": sprite.cell_height, "cell_width": sprite.cell_width,
            "scale": max(1, round(SHOWN_PX / sprite.cell_height)), "indices": _shown.indices.tolist(),
            "labels": None if labels is None else labels.tolist(),
            "classes": [] if labels is None else [class_name_of(_dataset.class_names, k)
                                                  for k in range(int(labels.max()) + 1)]}


def hover_images(shown: Shown, dataset) -> None:
    """Mount the component for the maps drawn on this page run."""
    data = payload(f"{dataset.fingerprint}/{len(shown.indices)}", shown, dataset)
    _component()(key="latent.hover", data=data)
