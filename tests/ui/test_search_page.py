"""The Search page: top-k training images by code and by pixels marked against the query's class,
precision@k for the query and over the test set, queries by index, by a neighbour's button and by an
uploaded picture (the retrieval itself: tests/test_search.py)."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer import metrics, search
from explorer.denoise import add_noise
from explorer.noise import NOISE_TYPES
from explorer.query import image_from_bytes, match_polarity
from explorer.robustness import Robustness, damaged_precision_by_k
from explorer.search import CodeIndex

PAGE = "search"


def summary_line(at: AppTest, row: str) -> str:
    return next(md.value for md in at.markdown if md.value.startswith(f"**By {row}"))


def summary(at: AppTest, row: str) -> dict[str, float]:
    return {name: float(value) for name, value in
            re.findall(r"(precision@\d+|test average|query time) \*\*([\d.]+)", summary_line(at, row))}


def image_captions(at: AppTest) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


NEIGHBOUR = re.compile(r"(?::(green|red)\[([✓✗]) )?(.+?)\]? · (\d+\.\d+)")


def neighbours(at: AppTest) -> list[tuple[str | None, str | None, str, str]]:
    """(colour, mark, class, distance text) under each found image, in page order."""
    return [found.groups() for c in at.caption if (found := NEIGHBOUR.fullmatch(c.value))]


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
    assert codes["query time"] < 1000
    shown = neighbours(at)
    assert len(shown) == 2 * k
    query_class = digits.class_names[digits.y_test[3]]
    assert all((colour, mark) == (("green", "✓") if cls == query_class else ("red", "✗"))
               for colour, mark, cls, _ in shown)
    assert [cls for _, _, cls, _ in shown[k:]] == [digits.class_names[i] for i in digits.y_train[nearest]]
    pixel_distances = np.linalg.norm(flat_train[nearest] - digits.x_test[3].reshape(-1), axis=1)
    expected = search.distance_text(pixel_distances, "euclidean")  # three significant digits, fixed point
    assert [len(text) for *_, text in shown[k:]] == [len(text) for text in expected]
    np.testing.assert_allclose([float(text) for *_, text in shown[k:]], pixel_distances, atol=0.006)


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
    distances = [float(distance) for *_, distance in neighbours(at)]
    assert len(distances) == 8 and min(distances) > 0  # the query itself is not among its neighbours


def test_cosine_distance_changes_the_averages(open_page, small_models, digits):
    model = small_models["vae"]  # a 4-D code
    at = open_page(model, PAGE)
    euclidean = summary(at, "code")["test average"]
    at.radio(key="search.metric").set_value("cosine").run()
    assert not at.exception and summary(at, "code")["test average"] != euclidean
    k = at.slider(key="search.k").value
    train_codes, test_codes = (model.model.encode_array(x) for x in (digits.x_train, digits.x_test))
    assert summary(at, "code")["test average"] == pytest.approx(
        metrics.precision_at_k(train_codes, digits.y_train, test_codes, digits.y_test, k, "cosine"), abs=1e-3)
    distances = [float(distance) for *_, distance in neighbours(at)]
    assert all(len(text.split(".")[1]) == 3 for *_, text in neighbours(at)) and max(distances) <= 2


def test_cosine_distance_on_a_2d_code_is_refused_with_the_reason(open_page, small_models):
    at = open_page(small_models["ae"], PAGE)  # a 2-D code
    at.radio(key="search.metric").set_value("cosine").run()
    assert not at.exception
    assert [w.value for w in at.warning if "one angle" in w.value and "Euclidean" in w.value]
    assert not any(md.value.startswith("**By code") and "test average" in md.value for md in at.markdown)
    assert "test average" in summary(at, "pixels") and len(neighbours(at)) == at.slider(key="search.k").value


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
    at.file_uploader(key="search.upload").set_value(("five.png", png.getvalue()[:50], "image/png")).run()
    assert not at.exception and [e.value for e in at.error] == [
        "five.png is damaged (its image data is cut short or corrupt): upload a PNG or JPEG image."]
    assert not at.info  # one clear message, not also "Upload an image."
    at.file_uploader(key="search.upload").set_value(("five.png", png.getvalue(), "image/png")).run()
    assert not at.exception and not at.error
    at.selectbox(key="search.class").set_value(int(digits.y_test[5])).run()   # a CVAE encodes given the class
    assert not at.exception and summary(at, "pixels")["precision@8"] >= 0.5
    assert any("upload five.png" in caption for caption in image_captions(at))


def test_drawing_without_strokes_asks_for_one(open_page, small_models):
    at = open_page(small_models["ae"], PAGE)
    at.radio(key="search.source").set_value("draw").run()
    assert not at.exception and any("Draw on the canvas" in i.value for i in at.info)


def test_the_corrupted_query_switch_compares_codes_and_pixels_on_damaged_queries(open_page, small_models, digits):
    current = small_models["vae"]  # a 4-D code
    model = current.model
    at = open_page(current, PAGE)
    assert not at.table and "damaged" not in " ".join(md.value for md in at.markdown)  # off by default
    at.toggle(key="search.corrupt").set_value(True).run()
    assert at.selectbox(key="search.noise").value == "gaussian"
    assert at.slider(key="search.level.gaussian").value == NOISE_TYPES["gaussian"].default_level
    at.selectbox(key="search.noise").set_value("masking").run()
    assert at.slider(key="search.level.masking").value == 0.25   # each kind opens on its own default level
    at.number_input(key="search.test_index").set_value(3).run()
    assert not at.exception and not at.error
    k = at.slider(key="search.k").value

    damaged = add_noise(digits.x_test[[3]], "masking", 0.25, seed=0)[0]
    nearest = np.argsort(np.linalg.norm(digits.x_train.reshape(len(digits.x_train), -1) - damaged.reshape(-1),
                                        axis=1))[:k]
    pixels, codes = summary(at, "pixels"), summary(at, "code")
    assert pixels[f"precision@{k}"] == pytest.approx((digits.y_train[nearest] == digits.y_test[3]).mean())
    assert any("with masking 0.25 damage" in caption for caption in image_captions(at))

    code_index = CodeIndex().fit(model.encode_array(digits.x_train))
    pixel_index = CodeIndex().fit(digits.x_train.reshape(len(digits.x_train), -1))
    expected = Robustness(
        k, "masking", 0.25,
        metrics.precision_at_k(code_index.codes_.numpy(), digits.y_train, model.encode_array(digits.x_test),
                               digits.y_test, k),
        damaged_precision_by_k(code_index, digits.y_train, digits.x_test, digits.y_test, "masking", 0.25, k,
                               model)[-1],
        metrics.pixel_precision_at_k(digits, k),
        damaged_precision_by_k(pixel_index, digits.y_train, digits.x_test, digits.y_test, "masking", 0.25, k)[-1])
    assert "damaged test average" in summary_line(at, "pixels")
    assert codes["test average"] == pytest.approx(expected.code_damaged, abs=1e-3)
    assert pixels["test average"] == pytest.approx(expected.pixel_damaged, abs=1e-3)
    table = at.table[0].value
    assert list(table.columns) == ["clean", "masking 0.25 damage"]
    assert list(table.index) == ["by code (4-D)", "by pixels"]
    np.testing.assert_allclose(table.astype(float).to_numpy(), [[expected.code_clean, expected.code_damaged],
                                                                [expected.pixel_clean, expected.pixel_damaged]],
                               atol=1e-3)
    assert expected.reading() in [c.value for c in at.caption]
    at.toggle(key="search.corrupt").set_value(False).run()
    assert not at.exception and not at.table and "damaged" not in summary_line(at, "pixels")

