"""Damage test images with a corruption from :mod:`explorer.noise`, let models repair them, and
score each repair against the clean image by PSNR and SSIM (:mod:`explorer.metrics`).

A model "repairs" an image by reconstructing it: encode the noisy image, decode the code. PCA does
the same with its linear projection, so every method is scored the same way. A method without a
model stands for "no repair" (the noisy image itself), the line every method has to beat.

The lesson is Vincent, Larochelle, Bengio & Manzagol's (ICML 2008): an autoencoder trained to
undo a corruption (Sec. 2.3) repairs it better than one trained on clean images or than PCA. It
holds for the damage the model was trained on, so :func:`opening_setting` opens the comparison there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.metrics import psnr, ssim
from explorer.noise import NOISE_TYPES, corrupt
from explorer.variants.ae import AEConfig
from explorer.variants.denoising_ae import DenoisingAEConfig
from explorer.variants.pca import PCAConfig

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

PSNR_CAP = 60.0      # dB; an exact copy has infinite PSNR, which would swamp a mean
CURVE_POINTS = 10
SAMPLE_SIZE = 128    # test images a page's scores are averaged over


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


def sample_indices(n_test: int, size: int = SAMPLE_SIZE) -> np.ndarray:
    """The fixed, sorted sample of test images a page scores (the same on every visit)."""
    return np.sort(np.random.default_rng(0).choice(n_test, min(size, n_test), replace=False))


def curve_levels(noise: str, n: int = CURVE_POINTS) -> np.ndarray:
    """``n`` evenly spaced levels over the noise type's range, its clean end left out (an undamaged
    image's PSNR is infinite, capped, and would flatten every other point of a plot)."""
    spec = NOISE_TYPES[noise]
    return np.linspace(spec.min_level, spec.max_level, n + 1)[1:]


# --- the comparison ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Method:
    """One way to repair damaged images: a model's reconstruction, or none (the noisy input)."""
    label: str
    key: str          # names the method in caches: same weights, same key
    model: object     # an Autoencoder, or None: no repair

    @property
    def role(self) -> str:
        """What the lesson calls it: "noisy", "pca", "denoising", "plain" (the one-layer ae) or "model"."""
        if self.model is None:
            return "noisy"
        config = self.model.config
        for role, config_cls in (("pca", PCAConfig), ("denoising", DenoisingAEConfig), ("plain", AEConfig)):
            if isinstance(config, config_cls):
                return role
        return "model"

    @property
    def trained_on(self) -> tuple[str, float] | None:
        """The corruption and level a denoising model was trained to undo; None for other methods."""
        return training_corruption(self.model)


def training_corruption(model: "Autoencoder | None") -> tuple[str, float] | None:
    config = model.config if model is not None else None
    return (config.noise, float(config.noise_level)) if isinstance(config, DenoisingAEConfig) else None


def opening_setting(methods: list[Method]) -> tuple[str, float]:
    """The noise and level a comparison opens on: the training corruption of its first denoising
    method (list the current model first), else a denoising AE's default one."""
    for method in methods:
        if method.trained_on is not None:
            return method.trained_on
    defaults = DenoisingAEConfig()
    return defaults.noise, float(defaults.noise_level)


@dataclass(frozen=True)
class Score:
    label: str
    role: str
    quality: Quality
    trained_on: tuple[str, float] | None = None


def repairs(methods: list[Method], x: np.ndarray, y: np.ndarray | None, noise: str, level: float,
            seed: int = 0) -> list[np.ndarray]:
    """Each method's repair of the same damage to ``x`` (N, C, H, W), clipped to [0, 1]."""
    damaged = add_noise(x, noise, level, seed)
    return [np.clip(repair(m.model, damaged, y), 0.0, 1.0) for m in methods]


def compare(methods: list[Method], x: np.ndarray, y: np.ndarray | None, noise: str, level: float,
            seed: int = 0) -> list[Score]:
    """Every method's repair of the same damage to ``x`` (N, C, H, W), scored against ``x``."""
    return [Score(m.label, m.role, quality(x, x_hat), m.trained_on)
            for m, x_hat in zip(methods, repairs(methods, x, y, noise, level, seed))]


def psnr_curves(methods: list[Method], x: np.ndarray, y: np.ndarray | None, noise: str,
                levels: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """{label: (len(levels),) mean PSNR} of each method's repair at each level, the same damage for all."""
    damaged = [add_noise(x, noise, level, seed) for level in levels]
    return {m.label: np.array([quality_psnr(x, repair(m.model, d, y)) for d in damaged]) for m in methods}


def noise_name(noise: str) -> str:
    """A noise type in plain words: "salt and pepper", not "salt_and_pepper"."""
    return noise.replace("_", " ")


def setting_name(noise: str, level: float) -> str:
    return f"{noise_name(noise)} {level:g}"


def lesson(scores: list[Score], noise: str, level: float) -> str:
    """The "what it shows" sentence, its numbers taken from ``scores`` as shown (PSNR to 0.1 dB)."""
    shown = {s.label: round(s.quality.psnr, 1) for s in scores}
    setting = setting_name(noise, level)
    denoiser = next((s for s in scores if s.role == "denoising"), None)
    if denoiser is None:
        best = max(scores, key=lambda s: shown[s.label])
        return (f"At {setting}, the best repair here is {_named(best)} at {shown[best.label]:.1f} dB. "
                "No denoising autoencoder is compared on this data.")
    rivals = [s for s in scores if s is not denoiser]
    gaps = [f"{abs(shown[denoiser.label] - shown[s.label]):.1f} dB "
            f"{'above' if shown[denoiser.label] > shown[s.label] else 'below'} {_named(s)}" for s in rivals]
    text = f"At {setting}, {_named(denoiser)} scores {shown[denoiser.label]:.1f} dB: {_listed(gaps)}."
    trained_on = denoiser.trained_on
    if trained_on is None:
        return text
    if (noise, round(level, 6)) == (trained_on[0], round(trained_on[1], 6)):
        return text + " This is the damage it was trained to undo."
    return text + f" It was trained to undo {setting_name(*trained_on)}; this damage it never saw."


def curve_lesson(curves: dict[str, np.ndarray], levels: np.ndarray, noise: str, label: str) -> str:
    """Where on the curve the method ``label`` is the best repair of those in ``curves``."""
    others = np.array([values for name, values in curves.items() if name != label])
    if len(others) == 0:
        return ""
    best = curves[label] > others.max(0)   # (len(levels),)
    name = noise_name(noise)
    if not best.any():
        return f"On the curve, the {label} is not the best repair at any {name} level shown."
    runs: list[list[int]] = []             # [first, last] indices of consecutive winning levels
    for i in np.flatnonzero(best):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    spans = [f"{levels[a]:g}" if a == b else f"{levels[a]:g} to {levels[b]:g}" for a, b in runs]
    return (f"On the curve, the {label} is the best repair at {int(best.sum())} of {len(levels)} {name} "
            f"levels ({_listed(spans)}).")


def _named(score: Score) -> str:
    return score.label if score.role == "pca" else f"the {score.label}"


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
