"""The Traverse page: sliders sorted by how informative each dimension is, the decoded image following
them, the manifold grid and the interpolation strip; and the pure helpers behind them."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch
from scipy.special import ndtri
from streamlit.testing.v1 import AppTest

from explorer.tensors import as_tensor
from explorer.ui import traverse_panels as panels

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
        kl = model.eval().kl_per_dimension(as_tensor(digits.x_test)).numpy()
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
    low, high = panels.slider_ranges(codes, gaussian=False)
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


def test_grid_interpolation_and_decoding_helpers(small_models):
    np.testing.assert_allclose(panels.grid_values(4, True, 0, 0), ndtri([0.125, 0.375, 0.625, 0.875]))
    np.testing.assert_allclose(panels.grid_values(3, False, -1, 2), [-1, 0.5, 2])
    codes = panels.manifold_codes(np.full(3, 7.0), (0, 2), rows=np.array([10, 20]), cols=np.array([1, 2, 3]))
    assert codes.tolist() == [[1, 7, 20], [2, 7, 20], [3, 7, 20], [1, 7, 10], [2, 7, 10], [3, 7, 10]]
    a, b, t = np.array([3.0, 0.0]), np.array([0.0, 3.0]), np.linspace(0, 1, 5)
    arc = panels.slerp(a, b, t)
    np.testing.assert_allclose(arc[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 3.0)   # stays on the sphere
    assert np.linalg.norm(panels.lerp(a, b, t)[2]) < 2.2               # the chord cuts inside
    model = small_models["vae"].model
    z = np.zeros((1, model.latent_dim), np.float32)
    panels.decode(model, z, None)
    started = time.perf_counter()
    for _ in range(20):
        image = panels.decode(model, z, None)
    assert image.shape == (1, 1, 8, 8) and (time.perf_counter() - started) / 20 < 0.02
