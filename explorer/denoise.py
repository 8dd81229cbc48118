"""Damage test images with a corruption from :mod:`explorer.noise`, let models repair them, and
score each repair against the clean image by PSNR and SSIM (:mod:`explorer.metrics`).

A model "repairs" an image by reconstructing it: encode the noisy image, decode the code. PCA does
the same with its linear projection, so every method is scored the same way. ``model=None`` stands
for "no repair" (the noisy image itself), the line every method has to beat.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.metrics import psnr, ssim
from explorer.noise import NOISE_TYPES, corrupt

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

PSNR_CAP = 60.0      # dB; an exact copy has infinite PSNR, which would swamp a mean
CURVE_POINTS = 10


def add_noise(x: np.ndarray, noise: str, level: float, seed: int = 0) -> np.ndarray:
    """(N, C, H, W) -> corrupted copy; the same ``seed`` gives the same damage on every call."""
    generator = torch.Generator().manual_seed(seed)
    return corrupt(torch.from_numpy(np.array(x, np.float32)), noise, float(level), generator).numpy()


def repair(model: "Autoencoder | None", x_noisy: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """The model's reconstruction of the noisy images (labels only for conditional models)."""
    if model is None:
        return np.asarray(x_noisy, np.float32)
    return model.reconstruct_array(x_noisy, y)


@dataclass(frozen=True)
class Quality:
    psnr: float   # dB, mean over images, each capped at PSNR_CAP
    ssim: float   # mean over images


def quality(x_clean: np.ndarray, x_hat: np.ndarray) -> Quality:
    """Mean PSNR and SSIM of ``x_hat`` against ``x_clean``, both (N, C, H, W) in [0, 1]."""
    x_hat = np.clip(x_hat, 0.0, 1.0)  # PCA's linear decoder may leave [0, 1]
    return Quality(quality_psnr(x_clean, x_hat), float(ssim(x_clean, x_hat).mean()))


def quality_psnr(x_clean: np.ndarray, x_hat: np.ndarray) -> float:
    """Mean PSNR in dB, each image's capped at :data:`PSNR_CAP` (``x_hat`` clipped to [0, 1])."""
    return float(np.minimum(psnr(x_clean, np.clip(x_hat, 0.0, 1.0)), PSNR_CAP).mean())


def curve_levels(noise: str, n: int = CURVE_POINTS) -> np.ndarray:
    """``n`` evenly spaced levels over the noise type's range, its clean end left out (an undamaged
    image's PSNR is infinite, capped, and would flatten every other point of a plot)."""
    spec = NOISE_TYPES[noise]
    return np.linspace(spec.min_level, spec.max_level, n + 1)[1:]


def psnr_curve(model: "Autoencoder | None", x: np.ndarray, y: np.ndarray | None, noise: str,
               levels: np.ndarray, seed: int = 0) -> np.ndarray:
    """(len(levels),) mean PSNR of the repaired images at each noise level (same damage for every model)."""
    return np.array([quality_psnr(x, repair(model, add_noise(x, noise, level, seed), y)) for level in levels])
