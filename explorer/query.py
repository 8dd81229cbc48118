"""A query image from a dataset, an uploaded file or a drawing, in the dataset's format.

Uploads and drawings are converted to what the model sees: grey or RGB as the dataset, resized to
its H x W (area-averaged), in [0, 1], and flipped to the dataset's polarity (light ink on dark, as
MNIST, or the reverse) unless the user says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from explorer.data.images import IMAGE_ERRORS, open_bounded
from explorer.errors import DataError

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder

POLARITIES = ("auto", "as it is", "inverted")
POLARITY_SAMPLE = 2000  # training images whose mean tells the dataset's background
BLANK_RANGE = 0.05      # a drawing whose pixels span less than this has no stroke yet
QUERY_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")  # the Search page's uploader takes these, no other decoder runs


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
    """An uploaded file's bytes -> (C, H, W) in the dataset's format. A file that is no image, a
    damaged one or one too large to decode safely (its width x height is checked from the header,
    before PIL allocates the pixels) raises :class:`DataError` with one plain sentence (PIL's own
    messages name the in-memory stream, ``<_io.BytesIO object at 0x...>``)."""
    try:
        with open_bounded(data, name, QUERY_FORMATS) as picture:
            picture.load()
            return to_dataset_format(picture, input_shape)
    except UnidentifiedImageError:
        problem = "is not an image file this app can read"
    except IMAGE_ERRORS:
        problem = "is damaged (its image data is cut short or corrupt)"
    raise DataError(f"{name} {problem}: upload a PNG or JPEG image.")


def is_blank(image: np.ndarray) -> bool:
    """Whether a drawing has no stroke yet (every pixel about the same)."""
    return float(np.ptp(image)) < BLANK_RANGE


def background_mean(dataset: "ImageDataset") -> float:
    """The mean pixel of the first training images: mostly background, so above 0.5 for dark ink on
    light paper and below it for light ink on dark (MNIST)."""
    return float(dataset.x_train[:POLARITY_SAMPLE].mean())


def match_polarity(image: np.ndarray, dataset_mean: float, choice: str = "auto") -> np.ndarray:
    """Invert ``image`` when asked, or (auto) when its background is light and the dataset's dark, or
    the reverse. The background is judged by the mean, which is mostly background in these datasets."""
    invert = choice == "inverted" or (choice == "auto" and (image.mean() > 0.5) != (dataset_mean > 0.5))
    return (1 - image).astype(np.float32) if invert else image


def class_name(dataset: "ImageDataset", label: int | None) -> str:
    if label is None:
        return "?"
    return dataset.class_names[label] if dataset.class_names else str(label)


def encode_one(model: "Autoencoder", image: np.ndarray, label: int | None) -> np.ndarray:
    """(C, H, W) -> (K,) code; ``label`` reaches conditional models."""
    return model.encode_array(np.asarray(image, np.float32)[None], None if label is None else np.array([label]))[0]
