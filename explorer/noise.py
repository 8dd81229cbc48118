"""Corruptions of images in [0, 1]: the training noise of the denoising autoencoder and the
damage the "denoise" page applies before asking a model to repair it.

Each corruption is ``fn(x, level, generator=None) -> x_tilde`` with ``x`` of shape (B, C, H, W);
``x`` is never modified in place. Randomness comes from ``generator`` when one is given (on any
device: draws are made on the generator's device and moved to ``x``'s), else from torch's global
generator. :data:`NOISE_TYPES` lists them with a description and the range of ``level`` for the UI.

The masking and salt-and-pepper corruptions are those of Vincent et al., Extracting and composing
robust features with denoising autoencoders, ICML 2008 (Sec. 2.3), and Vincent et al., JMLR 2010
(Sec. 4.2): a fixed fraction of each image's pixels, chosen at random, is destroyed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from explorer.errors import ConfigError


def _uniform(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    """U[0, 1) draws of ``shape``, made on the generator's device, returned on ``like``'s."""
    device = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, device=device).to(like.device, like.dtype)


def _chosen_pixels(x: Tensor, fraction: float, generator: torch.Generator | None) -> Tensor:
    """(B, C, H, W) bool mask with exactly round(fraction * C*H*W) True entries per image."""
    n_pixels = x[0].numel()
    n_chosen = round(fraction * n_pixels)
    # The ranks of i.i.d. uniforms are a uniformly random permutation of each image's pixels.
    ranks = _uniform((x.shape[0], n_pixels), x, generator).argsort(1).argsort(1)  # (B, C*H*W)
    return (ranks < n_chosen).reshape(x.shape)


def gaussian(x: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """Additive isotropic Gaussian noise of standard deviation ``sigma``, clipped to [0, 1]."""
    device = generator.device if generator is not None else x.device
    noise = torch.randn(x.shape, generator=generator, device=device).to(x.device, x.dtype)
    return (x + sigma * noise).clamp(0.0, 1.0)


def masking(x: Tensor, fraction: float, generator: torch.Generator | None = None) -> Tensor:
    """Masking noise: ``fraction`` of each image's pixels, chosen at random, set to 0."""
    return x.masked_fill(_chosen_pixels(x, fraction, generator), 0.0)


def salt_and_pepper(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Salt-and-pepper noise: a fraction ``p`` of each image's pixels, chosen at random, set to
    0 or 1 with equal probability."""
    chosen = _chosen_pixels(x, p, generator)
    salt = (_uniform(x.shape, x, generator) < 0.5).to(x.dtype)
    return torch.where(chosen, salt, x)


def occlusion(x: Tensor, level: float, generator: torch.Generator | None = None, *,
              top: int | None = None, left: int | None = None,
              height: int | None = None, width: int | None = None) -> Tensor:
    """A rectangle set to 0 in every image, the hole an inpainting demo asks the model to fill.

    The size is ``height`` x ``width`` pixels, or by default a rectangle of the image's aspect
    covering the fraction ``level`` of its area. The corner is (``top``, ``left``), or by default
    drawn uniformly at random for each image so that the hole fits inside it.
    """
    _, _, h, w = x.shape
    height = height if height is not None else round(h * level ** 0.5)
    width = width if width is not None else round(w * level ** 0.5)
    height, width = min(max(height, 0), h), min(max(width, 0), w)
    tops = _corners(top, h - height, x, generator)     # (B,)
    lefts = _corners(left, w - width, x, generator)    # (B,)
    rows = torch.arange(h, device=x.device)            # (H,)
    cols = torch.arange(w, device=x.device)            # (W,)
    in_rows = (rows >= tops[:, None]) & (rows < tops[:, None] + height)    # (B, H)
    in_cols = (cols >= lefts[:, None]) & (cols < lefts[:, None] + width)   # (B, W)
    hole = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]            # (B, 1, H, W)
    return x.masked_fill(hole, 0.0)


def _corners(given: int | None, largest: int, x: Tensor, generator: torch.Generator | None) -> Tensor:
    """(B,) corner coordinates: ``given`` for every image, else uniform in 0..largest."""
    if given is not None:
        return torch.full((x.shape[0],), given, device=x.device)
    return (_uniform((x.shape[0],), x, generator) * (largest + 1)).long().clamp(max=largest)


@dataclass(frozen=True)
class NoiseType:
    """A corruption as the UI lists it: what it does and the range its ``level`` slider spans."""
    apply: Callable[..., Tensor]
    description: str
    level_name: str
    min_level: float
    max_level: float
    default_level: float


NOISE_TYPES: dict[str, NoiseType] = {
    "gaussian": NoiseType(gaussian, "Additive Gaussian noise, clipped to [0, 1].", "sigma", 0.0, 1.0, 0.3),
    "masking": NoiseType(masking, "A random fraction of the pixels set to 0 (Vincent et al. 2008).",
                         "fraction", 0.0, 1.0, 0.25),
    "salt_and_pepper": NoiseType(salt_and_pepper, "A random fraction of the pixels set to 0 or 1.",
                                 "fraction", 0.0, 1.0, 0.1),
    "occlusion": NoiseType(occlusion, "A rectangle covering a fraction of the image set to 0 (inpainting).",
                           "area fraction", 0.0, 1.0, 0.25),
}


def corrupt(x: Tensor, noise: str, level: float, generator: torch.Generator | None = None) -> Tensor:
    """Apply the corruption named ``noise`` (a key of :data:`NOISE_TYPES`) at ``level``."""
    try:
        noise_type = NOISE_TYPES[noise]
    except KeyError:
        raise ConfigError(f"unknown noise {noise!r}; choose one of {', '.join(NOISE_TYPES)}") from None
    if not noise_type.min_level <= level <= noise_type.max_level:
        raise ConfigError(f"{noise} level {level} is outside [{noise_type.min_level}, {noise_type.max_level}]")
    return noise_type.apply(x, level, generator)
