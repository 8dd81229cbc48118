"""Walking a code space without the page: dimension scores, slider ranges, grids and interpolation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import ndtri

from explorer import traverse
from explorer.baselines import pca_baseline
from explorer.registry import build, make_config
from explorer.tensors import as_tensor


def test_kl_scores_are_the_test_average_of_each_dimensions_kl(tiny_dataset):
    torch.manual_seed(0)
    vae = build("vae", make_config("vae", latent_dim=3), input_shape=tiny_dataset.input_shape)
    x = tiny_dataset.x_test
    scores, name = traverse.dimension_scores(vae, x, None, np.zeros((len(x), 3)))
    with torch.inference_mode():
        mu, logvar = vae.eval().encode_distribution(as_tensor(x))
    expected = (-0.5 * (1 + logvar - mu.square() - logvar.exp())).mean(0).double().numpy()
    assert name == "KL" and scores.shape == (3,)
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    # batched exactly as whole: the batches' sums, not their means, are averaged
    np.testing.assert_allclose(vae.apply_batched(vae.kl_per_dimension, x, batch_size=5).mean(0), expected, rtol=1e-5)


def test_other_models_score_by_the_variance_of_their_codes(tiny_dataset):
    model = pca_baseline(tiny_dataset, 2)
    codes = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    scores, name = traverse.dimension_scores(model, tiny_dataset.x_test[:3], None, codes)
    assert name == "variance" and scores.tolist() == pytest.approx([8 / 3, 0.0])
    assert traverse.informative_first(np.array([0.5, 2.0, 0.5, 3.0])).tolist() == [3, 1, 0, 2]


def test_slider_ranges_widen_the_observed_codes_and_reach_three_sigma_for_gaussian_latents():
    codes = np.column_stack([np.linspace(0, 1, 101), np.linspace(-10, 10, 101)])
    low, high = traverse.slider_ranges(codes, gaussian=False)
    np.testing.assert_allclose(low, [0.01 - 0.098 - 1e-3, -9.8 - 1.96 - 1e-3])
    np.testing.assert_allclose(high, [0.99 + 0.098 + 1e-3, 9.8 + 1.96 + 1e-3])
    low, high = traverse.slider_ranges(codes, gaussian=True)
    assert low[0] == -3 and high[0] == 3 and low[1] < -11 and high[1] > 11
    assert traverse.start_code(codes, gaussian=True).tolist() == [0, 0]
    np.testing.assert_allclose(traverse.start_code(codes, gaussian=False), [0.5, 0], atol=1e-6)
    assert traverse.moved(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.5, 2.0])) == 1
    shown = traverse.sliders(np.array([5.0, -1.0]), np.array([1, 0]), np.array([0.0, -2.0]), np.array([1.0, 2.0]))
    assert [(s.dim, s.low, s.high, s.value) for s in shown] == [(1, -2, 2, -1), (0, 0, 1, 1)]  # 5 held at 1
    assert shown[0].step == pytest.approx(4 / traverse.SLIDER_STEPS)


def test_grid_values_hold_equal_prior_mass_or_span_the_range():
    np.testing.assert_allclose(traverse.grid_values(4, True, 0, 0), ndtri([0.125, 0.375, 0.625, 0.875]))
    np.testing.assert_allclose(traverse.grid_values(3, False, -1, 2), [-1, 0.5, 2])


def test_manifold_grid_rows_decrease_down_and_a_single_dimension_is_one_row():
    codes = traverse.manifold_codes(np.full(3, 7.0), (0, 2), rows=np.array([10, 20]), cols=np.array([1, 2, 3]))
    assert codes.tolist() == [[1, 7, 20], [2, 7, 20], [3, 7, 20], [1, 7, 10], [2, 7, 10], [3, 7, 10]]
    low, high = np.array([0.0, -1.0, 5.0]), np.array([2.0, 1.0, 6.0])
    square = traverse.grid(np.full(3, 9.0), 0, 1, 3, False, low, high)
    assert square.codes.shape == (9, 3) and square.across.tolist() == [0, 1, 2] and square.down.tolist() == [1, 0, -1]
    assert square.codes[:, 1].tolist() == [1, 1, 1, 0, 0, 0, -1, -1, -1] and (square.codes[:, 2] == 9).all()
    for down in (None, 0):
        row = traverse.grid(np.full(3, 9.0), 0, down, 3, False, low, high)
        assert row.down is None and row.codes.tolist() == [[0, 9, 9], [1, 9, 9], [2, 9, 9]]


def test_slerp_stays_on_the_sphere_where_lerp_cuts_inside():
    a, b, t = np.array([3.0, 0.0]), np.array([0.0, 3.0]), np.linspace(0, 1, 5)
    arc = traverse.slerp(a, b, t)
    np.testing.assert_allclose(arc[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 3.0)
    assert np.linalg.norm(traverse.lerp(a, b, t)[2]) < 2.2
    np.testing.assert_allclose(traverse.slerp(a, 2 * a, t), traverse.lerp(a, 2 * a, t))  # parallel: a line
    rows = traverse.interpolations(a, b, 5, gaussian=True)
    assert list(rows) == ["linear", "spherical (slerp)"] and rows["linear"].dtype == np.float32
    assert list(traverse.interpolations(a, b, 5, gaussian=False)) == ["linear"]


def test_decode_gives_a_conditional_model_the_class_for_every_row(tiny_dataset):
    torch.manual_seed(0)
    cvae = build("cvae", make_config("cvae", latent_dim=2), input_shape=tiny_dataset.input_shape, n_classes=3)
    z = np.zeros((2, 2), np.float32)
    images = traverse.decode(cvae, z, 1)
    assert images.shape == (2, *tiny_dataset.input_shape)
    np.testing.assert_allclose(images, cvae.decode_array(z, np.array([1, 1])))
    assert not np.allclose(images, traverse.decode(cvae, z, 2))
