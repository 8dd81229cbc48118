"""PSNR and SSIM: hand-computed values, and SSIM against scikit-image's formulas transcribed."""
import math

import numpy as np
import pytest

from explorer.metrics import psnr, ssim, ssim_window


def test_psnr_of_a_uniform_error_is_the_hand_value():
    x = np.zeros((2, 1, 8, 8))
    x_hat = np.stack([np.full((1, 8, 8), 0.1), np.full((1, 8, 8), 0.5)])
    # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB; MSE 0.25 -> 10 log10(4) dB.
    np.testing.assert_allclose(psnr(x, x_hat), [20.0, 10 * math.log10(4)], rtol=1e-12)
    np.testing.assert_allclose(psnr(x, x_hat, data_range=2.0), [20 + 10 * math.log10(4), 10 * math.log10(16)],
                               rtol=1e-12)
    assert psnr(x, x).tolist() == [math.inf, math.inf]


def test_ssim_of_constant_images_is_the_luminance_term():
    # No variance anywhere, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) with C1 = 0.01^2.
    a, b = np.full((1, 1, 8, 8), 0.5), np.full((1, 1, 8, 8), 0.25)
    expected = (2 * 0.5 * 0.25 + 1e-4) / (0.5 ** 2 + 0.25 ** 2 + 1e-4)
    np.testing.assert_allclose(ssim(a, b), [expected], rtol=1e-12)
    np.testing.assert_allclose(ssim(a, a), [1.0], rtol=1e-12)


def skimage_formula_ssim(x: np.ndarray, y: np.ndarray, gaussian: bool) -> float:
    """skimage.metrics.structural_similarity(x, y, data_range=1) for one (H, W) image, transcribed
    from its source: filter with reflect padding, crop (win - 1) // 2, average."""
    ndimage = pytest.importorskip("scipy.ndimage")
    if gaussian:  # gaussian_weights=True, sigma=1.5, truncate=3.5 -> 11x11, use_sample_covariance=False
        smooth, win, cov_norm = (lambda a: ndimage.gaussian_filter(a, sigma=1.5, truncate=3.5)), 11, 1.0
    else:         # defaults: 7x7 uniform window, sample covariance
        smooth, win, cov_norm = (lambda a: ndimage.uniform_filter(a, size=7)), 7, 49 / 48
    ux, uy = smooth(x), smooth(y)
    vx = cov_norm * (smooth(x * x) - ux * ux)
    vy = cov_norm * (smooth(y * y) - uy * uy)
    vxy = cov_norm * (smooth(x * y) - ux * uy)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


@pytest.mark.parametrize("size, gaussian", [(8, False), (10, False), (28, True)])
def test_ssim_matches_skimage_formulas(size, gaussian):
    rng = np.random.default_rng(size)
    x = rng.random((3, 1, size, size))
    y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    expected = [skimage_formula_ssim(a[0], b[0], gaussian) for a, b in zip(x, y)]
    np.testing.assert_allclose(ssim(x, y), expected, rtol=1e-10)


def test_ssim_averages_channels_and_orders_by_damage():
    rng = np.random.default_rng(1)
    x = rng.random((1, 3, 12, 12))
    per_channel = [ssim(x[:, [c]], 0.8 * x[:, [c]])[0] for c in range(3)]
    np.testing.assert_allclose(ssim(x, 0.8 * x), [np.mean(per_channel)], rtol=1e-12)
    noisy = [np.clip(x + s * rng.standard_normal(x.shape), 0, 1) for s in (0.05, 0.2, 0.5)]
    scores = [ssim(x, n)[0] for n in noisy]
    assert 1 > scores[0] > scores[1] > scores[2]


def test_ssim_window_is_gaussian_for_large_images_and_uniform_for_small():
    weights, factor = ssim_window(28, 28)
    assert weights.shape == (11, 11) and factor == 1.0
    assert float(weights.sum()) == pytest.approx(1.0)
    assert float(weights[5, 5] / weights[5, 6]) == pytest.approx(math.exp(1 / (2 * 1.5 ** 2)))
    weights, factor = ssim_window(8, 8)
    assert weights.shape == (7, 7) and factor == pytest.approx(49 / 48)
    assert ssim_window(6, 9)[0].shape == (5, 5)
