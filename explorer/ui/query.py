"""A query image from a dataset index, an uploaded file or a drawing, in the dataset's format.

Uploads and drawings are converted to what the model sees: grey or RGB as the dataset, resized to
its H x W (area-averaged), in [0, 1], and flipped to the dataset's polarity (light ink on dark, as
MNIST, or the reverse) unless the user says otherwise. The page shows that preview.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError

from explorer.errors import DataError

CANVAS_SIZE = 224  # on-screen drawing area, pixels; a multiple of 8 and 28
POLARITIES = ("auto", "as it is", "inverted")


@dataclass
class Query:
    image: np.ndarray          # (C, H, W) float32 in [0, 1]
    label: int | None          # known class, if any
    description: str           # "test image 12", "upload digit.png", "drawing"
    train_index: int | None = None  # set when the query is a training image


def to_dataset_format(picture: Image.Image, input_shape: tuple[int, int, int]) -> np.ndarray:
    """Any PIL image -> (C, H, W) float32 in [0, 1]: grey or RGB as ``input_shape``, resized to H x W."""
    c, h, w = input_shape
    picture = picture.convert("RGBA")  # transparent parts become white paper
    picture = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture)
    picture = picture.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BOX)
    pixels = np.asarray(picture, np.float32) / 255
    return pixels[None] if c == 1 else pixels.transpose(2, 0, 1)


def image_from_bytes(data: bytes, input_shape: tuple[int, int, int], name: str = "upload") -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            return to_dataset_format(picture, input_shape)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise DataError(f"{name} is not a readable image ({error}); upload a PNG or JPEG") from None


def match_polarity(image: np.ndarray, dataset_mean: float, choice: str = "auto") -> np.ndarray:
    """Invert ``image`` when asked, or (auto) when its background is light and the dataset's dark, or
    the reverse. The background is judged by the mean, which is mostly background in these datasets."""
    invert = choice == "inverted" or (choice == "auto" and (image.mean() > 0.5) != (dataset_mean > 0.5))
    return (1 - image).astype(np.float32) if invert else image


@st.cache_data(show_spinner=False, max_entries=16)
def dataset_mean(fingerprint: str, _dataset) -> float:
    return float(_dataset.x_train[:2000].mean())


def class_name(dataset, label: int | None) -> str:
    if label is None:
        return "?"
    return dataset.class_names[label] if dataset.class_names else str(label)


def pick_label(model, dataset, key: str, known: int | None = None) -> int | None:
    """The class a conditional model encodes with: the known one, else the user's pick."""
    if not model.conditional or known is not None:
        return known
    return st.selectbox(f"Class to encode with (`{model.variant_name}` encodes given the class)",
                        range(dataset.n_classes), format_func=lambda i: class_name(dataset, i), key=key)


def polarity_choice(key: str) -> str:
    return st.radio("Colours", POLARITIES, horizontal=True, key=f"{key}.polarity",
                    help="auto flips a dark-on-light picture for a light-on-dark dataset (and back).")


def upload_input(dataset, key: str, polarity: str = "auto") -> Query | None:
    upload = st.file_uploader("An image (PNG or JPEG)", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                              key=f"{key}.upload")
    if upload is None:
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
    if np.ptp(image) < 0.05:
        return None  # nothing drawn yet
    return Query(match_polarity(image, dataset_mean(dataset.fingerprint, dataset), polarity), None, "drawing")


def preview(image: np.ndarray, caption: str) -> None:
    """What the model sees, enlarged."""
    from explorer.ui.widgets import show_images
    show_images(image[None], 1, caption=caption, width=140)


def encode_one(model, image: np.ndarray, label: int | None) -> np.ndarray:
    """(C, H, W) -> (K,) code; ``label`` is given to conditional models."""
    return model.encode_array(image[None].astype(np.float32), None if label is None else np.array([label]))[0]
