"""The Search page: top-k training images by code and by pixels, precision@k for the query and over the
test set, queries by index, by a neighbour's button and by an uploaded picture."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer import metrics
from explorer.ui.query import image_from_bytes, match_polarity

PAGE = "search"


def summary(at: AppTest, row: str) -> dict[str, float]:
    line = next(md.value for md in at.markdown if md.value.startswith(f"**By {row}"))
    return {name: float(value) for name, value in
            re.findall(r"(precision@\d+|test average|query time) \*\*([\d.]+)", line)}


def neighbour_captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if re.fullmatch(r"\S+ · [\d.e+-]+", c.value)]


@pytest.mark.parametrize("variant", ["ae", "vae", "cvae"])
def test_a_test_image_query_finds_neighbours_by_code_and_by_pixels(open_page, variant, small_models,
                                                                    digits):
    model = small_models[variant]
    at = open_page(model, PAGE)
    at.number_input(key="search.test_index").set_value(3).run()
    assert not at.exception and not at.error
    k = at.slider(key="search.k").value
    train_codes = model.model.encode_array(digits.x_train, digits.y_train)
    test_codes = model.model.encode_array(digits.x_test, digits.y_test)
    codes, pixels = summary(at, "code"), summary(at, "pixels")
    assert codes["test average"] == pytest.approx(
        metrics.precision_at_k(train_codes, digits.y_train, test_codes, digits.y_test, k), abs=1e-3)
    flat_train = digits.x_train.reshape(len(digits.x_train), -1)
    assert pixels["test average"] == pytest.approx(metrics.precision_at_k(
        flat_train, digits.y_train, digits.x_test.reshape(len(digits.x_test), -1), digits.y_test, k), abs=1e-3)
    nearest = np.argsort(np.linalg.norm(flat_train - digits.x_test[3].reshape(-1), axis=1))[:k]
    assert pixels[f"precision@{k}"] == pytest.approx((digits.y_train[nearest] == digits.y_test[3]).mean())
    assert codes["query time"] < 1000 and len(neighbour_captions(at)) == 2 * k


def test_a_neighbours_button_becomes_the_query_and_a_training_query_skips_itself(open_page, small_models,
                                                                                  digits):
    at = open_page(small_models["ae"], PAGE)
    at.slider(key="search.k").set_value(4).run()
    pixel_neighbour = int(np.argsort(np.linalg.norm(
        digits.x_train.reshape(len(digits.x_train), -1) - digits.x_test[0].reshape(-1), axis=1))[0])
    at.button(key="search.use.pixels.0").click().run()
    assert not at.exception
    assert at.radio(key="search.source").value == "training image"
    assert at.number_input(key="search.train_index").value == pixel_neighbour
    distances = [float(c.split(" · ")[1]) for c in neighbour_captions(at)]
    assert len(distances) == 8 and min(distances) > 0  # the query itself is not among its neighbours


def test_cosine_distance_changes_the_averages(open_page, small_models):
    at = open_page(small_models["ae"], PAGE)
    euclidean = summary(at, "code")["test average"]
    at.radio(key="search.metric").set_value("cosine").run()
    assert not at.exception and summary(at, "code")["test average"] != euclidean


def test_an_uploaded_picture_is_converted_to_what_the_model_sees(open_page, small_models, digits):
    digit = digits.x_test[5, 0]                                      # light ink on dark, 8 x 8
    paper = Image.fromarray(((1 - digit) * 255).astype(np.uint8)).resize((64, 64), Image.Resampling.NEAREST)
    png = io.BytesIO()
    paper.save(png, format="PNG")                                   # dark ink on white paper, 64 x 64
    image = image_from_bytes(png.getvalue(), digits.input_shape)
    assert image.shape == (1, 8, 8)
    np.testing.assert_allclose(match_polarity(image, float(digits.x_train.mean())), digit[None], atol=2 / 255)

    at = open_page(small_models["cvae"], PAGE)
    at.radio(key="search.source").set_value("upload").run()
    assert any("Upload an image" in i.value for i in at.info)
    at.file_uploader(key="search.upload").set_value(("five.png", png.getvalue(), "image/png")).run()
    assert not at.exception and not at.error
    at.selectbox(key="search.class").set_value(int(digits.y_test[5])).run()   # a CVAE encodes given the class
    assert not at.exception and summary(at, "pixels")["precision@8"] >= 0.5
    assert any("upload five.png" in image.caption for element in at.get("image") for image in element.proto.imgs)


def test_drawing_without_strokes_asks_for_one(open_page, small_models):
    at = open_page(small_models["ae"], PAGE)
    at.radio(key="search.source").set_value("draw").run()
    assert not at.exception and any("Draw on the canvas" in i.value for i in at.info)
