"""Damage, repair and score: the core of the Denoise page."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import denoise
from explorer.variants.pca import pca_baseline
from tests.conftest import make_image_dataset


def test_noise_is_reproducible_and_level_zero_is_harmless(tiny_dataset):
    x = tiny_dataset.x_test[:8]
    first = denoise.add_noise(x, "salt_and_pepper", 0.2, seed=1)
    assert np.array_equal(first, denoise.add_noise(x, "salt_and_pepper", 0.2, seed=1))
    assert not np.array_equal(first, denoise.add_noise(x, "salt_and_pepper", 0.2, seed=2))
    clean = denoise.quality(x, denoise.add_noise(x, "gaussian", 0.0))
    assert clean.psnr == denoise.PSNR_CAP and clean.ssim == pytest.approx(1.0)


def test_no_repair_gets_worse_as_noise_rises(tiny_dataset):
    levels = denoise.curve_levels("gaussian", 5)
    curve = denoise.psnr_curve(None, tiny_dataset.x_test, None, "gaussian", levels)
    assert levels.tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0]) and np.all(np.diff(curve) < 0)


def test_a_projection_onto_the_data_removes_gaussian_noise():
    dataset = make_image_dataset(n_train=200, n_test=64)
    x = dataset.x_test
    noisy = denoise.add_noise(x, "gaussian", 0.4)
    repaired = denoise.repair(pca_baseline(dataset, 3), noisy)
    assert denoise.quality(x, repaired).psnr > denoise.quality(x, noisy).psnr + 3
