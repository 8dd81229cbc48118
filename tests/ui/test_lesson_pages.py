"""Lesson links in AppTest, on digits' shipped models: a link's settings become the page's starting values and
come back in its "Copy lesson link"; a value the view cannot take (past its test images, a class it does not
have) is said in one line and the page's default used (the schema's own bounds: tests/test_lessons.py)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer import anomaly
from explorer.data import load_dataset
from tests.ui.links import copied_link, open_link


def notice(at: AppTest) -> str:
    return next(box.value for box in at.info if box.value.startswith("**What to notice.**"))


def test_denoise_opens_on_the_links_damage_level_and_images():
    at = open_link("denoise", dataset="digits", variant="deep_ae", code=8, noise="gaussian", level=0.45, first=16)
    assert not at.exception and not at.warning
    assert at.selectbox(key="denoise.noise").value == "gaussian"
    assert at.slider(key="denoise.level.gaussian").value == pytest.approx(0.45)
    assert at.number_input(key="denoise.first").value == 16
    assert notice(at).startswith("**What to notice.** At gaussian 0.45,")
    assert copied_link(at) == "/denoise?dataset=digits&variant=deep_ae&code=8&noise=gaussian&level=0.45&first=16&lesson=1"


def test_images_past_the_test_set_are_said_once_and_the_default_shown():
    at = open_link("denoise", dataset="digits", variant="deep_ae", code=8, first=400)
    said = "The link's `first=400` is not possible in this view (0 to 352): the page's default is used."
    assert [w.value for w in at.warning] == [said] and at.number_input(key="denoise.first").value == 0
    at.number_input(key="denoise.first").set_value(8).run()
    assert not at.warning and not at.exception


def test_anomaly_opens_at_the_links_threshold_and_its_notice_counts_above_it():
    at = open_link("anomaly", dataset="digits", variant="deep_ae", code=8, threshold=2.5)
    assert not at.exception and not at.warning
    model = at.session_state["current"]
    assert at.slider(key=f"anomaly.threshold.{model.key}").value == pytest.approx(2.5)
    digits = load_dataset("digits")
    errors = model.model.reconstruction_errors(digits.x_test, digits.y_test)
    expected = anomaly.notice(anomaly.above_threshold(errors, 2.5, digits.y_test), digits.class_names)
    assert notice(at) == f"**What to notice.** {expected}" and int((errors > 2.5).sum()) > 0
    assert "threshold=2.5&" in copied_link(at)


def test_traverse_starts_from_the_links_image_and_refuses_a_class_the_data_lacks():
    at = open_link("traverse", dataset="digits", variant="cvae", code=2, image=9, seed=1, **{"class": 12})
    assert not at.exception
    said = "The link's `class=12` is not possible in this view (0 to 9): the page's default is used."
    assert [w.value for w in at.warning] == [said]
    assert at.radio(key="traverse.start").value == "a test image" and at.number_input(key="traverse.index").value == 9
    label = int(load_dataset("digits").y_test[9])
    assert at.selectbox(key=f"traverse.class.{label}").value == label
    assert copied_link(at).endswith(f"&image=9&seed=1&class={label}&lesson=1")


def test_search_opens_on_the_links_query_distance_k_and_damage():
    at = open_link("search", dataset="digits", variant="deep_ae", code=8, image=7, metric="cosine", k=5,
                   noise="masking", level=0.3)
    assert not at.exception and not at.error and not at.warning
    assert at.number_input(key="search.test_index").value == 7
    assert (at.radio(key="search.metric").value, at.slider(key="search.k").value) == ("cosine", 5)
    assert at.toggle(key="search.corrupt").value and at.selectbox(key="search.noise").value == "masking"
    assert any(image.caption.startswith("test image 7 with masking 0.3 damage")   # the query, as searched
               for element in at.get("image") for image in element.proto.imgs)
    assert copied_link(at).endswith("/search?dataset=digits&variant=deep_ae&code=8&image=7&metric=cosine&k=5"
                                    "&noise=masking&level=0.3&lesson=1")
