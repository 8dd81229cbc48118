"""The query widgets: a class to encode with, an uploaded image or a drawing, and the preview of what
the model sees (the conversion itself is :mod:`explorer.query`'s)."""
from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from explorer.errors import DataError
from explorer.query import (POLARITIES, Query, background_mean, class_name, image_from_bytes, is_blank,
                            match_polarity, to_dataset_format)

CANVAS_SIZE = 224  # on-screen drawing area, pixels; a multiple of 8 and 28


@st.cache_data(show_spinner=False, max_entries=16)
def dataset_mean(fingerprint: str, _dataset) -> float:
    return background_mean(_dataset)


def pick_label(model, dataset, key: str, known: int | None = None) -> int | None:
    """The class a conditional model encodes with: the known one, else the user's pick."""
    if not model.conditional or known is not None:
        return known
    return st.selectbox(f"Class to encode with (`{model.variant_name}` encodes given the class)",
                        range(dataset.n_classes), format_func=lambda i: class_name(dataset, i), key=key)


def polarity_choice(key: str) -> str:
    return st.radio("Colours", POLARITIES, horizontal=True, key=f"{key}.polarity",
                    help="auto flips a dark-on-light picture for a light-on-dark dataset (and back).")


def upload_input(dataset, key: str, polarity: str = "auto", hint: str | None = None) -> Query | None:
    """The uploaded image as a query; ``hint`` is shown while nothing is uploaded, and a file that is
    no readable image gets one error instead."""
    upload = st.file_uploader("An image (PNG or JPEG)", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                              key=f"{key}.upload")
    if upload is None:
        if hint:
            st.info(hint)
        return None
    try:
        image = image_from_bytes(upload.getvalue(), dataset.input_shape, upload.name)
    except DataError as error:
        st.error(str(error))
        return None
    image = match_polarity(image, dataset_mean(dataset.fingerprint, dataset), polarity)
    return Query(image, None, f"upload {upload.name}")


def canvas_input(dataset, key: str, polarity: str = "auto") -> Query | None:
    """A drawing on streamlit-drawable-canvas (dark ink on white paper), in the dataset's format."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.info("Drawing needs `pip install streamlit-drawable-canvas`; upload an image instead.")
        return None
    c, h, w = dataset.input_shape
    brush = st.slider("Brush", 4, 64, int(CANVAS_SIZE / h * (1.6 if h <= 16 else 2.2)), key=f"{key}.brush")
    result = st_canvas(stroke_width=brush, stroke_color="#000000", background_color="#FFFFFF", width=CANVAS_SIZE,
                       height=CANVAS_SIZE, drawing_mode="freedraw", return_image_data=True, key=f"{key}.canvas")
    rgba = result.image_data if result is not None else None
    if rgba is None or rgba.ndim != 3:
        return None
    image = to_dataset_format(Image.fromarray(np.ascontiguousarray(rgba, np.uint8)), dataset.input_shape)
    if is_blank(image):
        return None
    return Query(match_polarity(image, dataset_mean(dataset.fingerprint, dataset), polarity), None, "drawing")


def preview(image: np.ndarray, caption: str) -> None:
    """What the model sees, enlarged."""
    from explorer.ui.widgets import show_images
    show_images(image[None], 1, caption=caption, width=140)

