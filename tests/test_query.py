"""Query images: an upload or a drawing in the dataset's format, and one plain message for a bad file."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer import query
from explorer.baselines import pca_baseline
from explorer.errors import DataError


def png_bytes(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def test_an_upload_is_resized_to_the_datasets_shape_and_colours():
    pixels = np.zeros((16, 16, 4), np.uint8)
    pixels[:, :8] = (255, 0, 0, 255)                         # red left half, transparent right half
    picture = Image.fromarray(pixels, "RGBA")
    rgb = query.image_from_bytes(png_bytes(picture), (3, 4, 4))
    assert rgb.shape == (3, 4, 4) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb[:, :, :2], np.broadcast_to(np.array([1.0, 0, 0])[:, None, None], (3, 4, 2)))
    np.testing.assert_allclose(rgb[:, :, 2:], 1.0)           # transparency becomes white paper
    grey = query.image_from_bytes(png_bytes(picture), (1, 2, 2))
    assert grey.shape == (1, 2, 2) and grey[0, 0, 1] == 1.0 and grey[0, 0, 0] < 0.5


@pytest.mark.parametrize("data, problem", [
    (b"no image at all", "is not an image file this app can read"),
    (b"", "is not an image file this app can read"),
    (png_bytes(Image.new("L", (64, 64)))[:60], "is damaged"),
])
def test_a_bad_file_gets_one_plain_sentence(data, problem):
    with pytest.raises(DataError) as caught:
        query.image_from_bytes(data, (1, 8, 8), "digit.png")
    message = str(caught.value)
    assert message.startswith(f"digit.png {problem}") and message.endswith("upload a PNG or JPEG image.")
    assert "BytesIO" not in message and "0x" not in message


def test_a_picture_too_large_to_open_safely_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)        # 64 x 64 is over twice that: an error, not a warning
    with pytest.raises(DataError, match="too many pixels"):
        query.image_from_bytes(png_bytes(Image.new("L", (64, 64))), (1, 8, 8))


def test_polarity_follows_the_dataset_unless_told_and_blank_drawings_wait():
    dark_on_light = np.full((1, 4, 4), 0.9, np.float32)
    assert query.match_polarity(dark_on_light, dataset_mean=0.1).max() == pytest.approx(0.1)   # flipped
    assert query.match_polarity(dark_on_light, dataset_mean=0.8) is dark_on_light
    assert query.match_polarity(dark_on_light, 0.1, "as it is") is dark_on_light
    assert query.match_polarity(dark_on_light, 0.8, "inverted").max() == pytest.approx(0.1)
    assert query.is_blank(dark_on_light) and not query.is_blank(np.eye(4, dtype=np.float32)[None])


def test_a_class_name_and_a_query_code(tiny_dataset):
    assert query.class_name(tiny_dataset, 1) == "bar1" and query.class_name(tiny_dataset, None) == "?"
    model = pca_baseline(tiny_dataset, 2)
    np.testing.assert_allclose(query.encode_one(model, tiny_dataset.x_test[0], None),
                               model.encode_array(tiny_dataset.x_test[:1])[0], atol=1e-6)
    assert query.background_mean(tiny_dataset) == pytest.approx(float(tiny_dataset.x_train.mean()))
