"""The Traverse page: sliders sorted by how informative each dimension is, the decoded image following
them, the manifold grid and the interpolation strip (the maths behind them: tests/test_traverse.py;
the decode latency: benchmarks/latency.py)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import traverse
from explorer.registry import build, make_config
from explorer.tensors import as_tensor
from explorer.ui import traverse_panels as panels
from explorer.ui.state import CurrentModel

PAGE = "traverse"


def code_sliders(at: AppTest) -> list:
    return [s for s in at.slider if re.match(r"z\d+ · ", s.label)]


def image_captions(at: AppTest) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def test_vae_sliders_are_sorted_by_kl_and_the_image_follows_them(open_page, small_models, digits):
    model = small_models["vae"].model
    at = open_page(small_models["vae"], PAGE)
    assert not at.exception and not at.error
    sliders = code_sliders(at)
    assert len(sliders) == 4
    with torch.inference_mode():
        kl = model.eval().kl_per_dimension(as_tensor(digits.x_test)).mean(0).numpy()
    shown = [(int(re.match(r"z(\d+)", s.label)[1]), float(s.label.split("KL ")[1])) for s in sliders]
    assert [d for d, _ in shown] == list(np.argsort(-kl, kind="stable"))
    np.testing.assert_allclose([value for _, value in shown], np.sort(kl)[::-1], rtol=5e-3)  # 3 significant digits
    assert all(s.value == 0.0 and s.min <= -3 and s.max >= 3 for s in sliders)  # from the prior mean
    sliders[0].set_value(1.5).run()
    assert not at.exception
    assert any("1 dimension(s) moved" in c for c in image_captions(at))
    captions = image_captions(at)
    assert any("inverse normal CDF" in c for c in captions)
    assert any("linear and spherical (slerp) interpolation" in c for c in captions)


def test_deterministic_ae_sliders_span_the_observed_codes(open_page, small_models, digits):
    model = small_models["ae"]
    at = open_page(model, PAGE)
    at.radio(key="traverse.start").set_value("a test image").run()
    at.number_input(key="traverse.index").set_value(9).run()
    assert not at.exception and not at.error
    codes = model.model.encode_array(digits.x_test)
    low, high = traverse.slider_ranges(codes, gaussian=False)
    for s in code_sliders(at):
        d = int(re.match(r"z(\d+)", s.label)[1])
        assert "variance" in s.label
        assert s.min == pytest.approx(low[d]) and s.max == pytest.approx(high[d])
        assert s.value == pytest.approx(float(np.clip(codes[9, d], low[d], high[d])), abs=1e-5)
    captions = image_captions(at)
    assert any("observed range" in c for c in captions)
    assert any("slerp applies to Gaussian latents" in c for c in captions)


def test_cvae_generates_the_chosen_class(open_page, small_models, digits):
    at = open_page(small_models["cvae"], PAGE)
    at.radio(key="traverse.start").set_value("a test image").run()
    at.number_input(key="traverse.index").set_value(4).run()
    label = int(digits.y_test[4])
    select = at.selectbox(key=f"traverse.class.{label}")
    assert select.value == label
    select.set_value((label + 1) % 10).run()
    assert not at.exception and not at.error
    at.slider(key="traverse.grid_n").set_value(5).run()
    assert not at.exception


def slider_box_and_row(tree):
    """The block under ``tree`` (an AppTest's element tree or a part of it) that holds the code sliders,
    and the row of columns it sits in; None when ``tree`` holds none."""
    def walk(node, row=None):
        children = getattr(node, "children", {})
        if any(re.match(r"z\d+ · ", getattr(child, "label", "") or "") for child in children.values()):
            return node, row
        columns = any(getattr(child, "type", None) == "column" for child in children.values())
        for child in children.values():
            found = walk(child, node if columns else row)
            if found:
                return found
        return None
    return walk(tree)


def test_many_sliders_scroll_in_a_box_beside_the_decoded_image(open_page, small_models, digits):
    torch.manual_seed(0)
    wide = CurrentModel(build("vae", make_config("vae", latent_dim=panels.SLIDERS_IN_BOX + 2),
                              input_shape=digits.input_shape), "digits", "untrained (test)")
    at = open_page(wide, PAGE)
    assert not at.exception and len(code_sliders(at)) == panels.SLIDERS_IN_BOX + 2
    box, row = slider_box_and_row(at._tree)
    assert box.proto.height_config.pixel_height == panels.SLIDER_BOX_PIXELS   # scrolls on its own
    beside = [column for column in row.children.values() if not slider_box_and_row(column)]
    assert any("decoded code" in image.caption for column in beside for element in column.get("image")
               for image in element.proto.imgs)                                # the image in the next column
    few, _ = slider_box_and_row(open_page(small_models["vae"], PAGE)._tree)    # 4 sliders: no box
    assert not few.proto.height_config.pixel_height
