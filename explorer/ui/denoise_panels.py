"""The parts of the Denoise page: the methods compared (current model, PCA, a plain AE), their
repairs of the shown images, their scores and the PSNR-against-noise-level curve (cached)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import denoise
from explorer.gallery import find_pretrained
from explorer.variants.pca import pca_baseline
from explorer.noise import NOISE_TYPES
from explorer.plots import level_curves
from explorer.registry import make_config
from explorer.ui import cache, side_jobs, state, widgets

SAMPLE_SIZE = 128   # test images every score is averaged over (SSIM costs ~0.2 ms an image)
NOISE_SEED = 0
LEVEL_STEPS = 20    # slider positions; the curve's points (denoise.CURVE_POINTS = 10) are every other one
LEVEL_DECIMALS = 6


@dataclass(frozen=True)
class Method:
    label: str
    key: str          # cache identity: the model's key ("none" for the noisy input itself)
    model: object     # None: no repair


def noisy_method() -> Method:
    return Method("noisy (no repair)", "none", None)


def methods(current: state.CurrentModel, dataset) -> list[Method]:
    """The current model, PCA of the same code size and, when there is one, a plain AE."""
    k = current.model.latent_dim
    found = [Method(f"{current.variant} (current)", current.key, current.model),
             Method(f"PCA-{k}", f"pca:{dataset.fingerprint[:16]}:{k}", pca_baseline(dataset, k))]
    plain = plain_ae(dataset, k)
    if plain is not None and plain.key != current.key:
        found.append(Method(f"plain ae-{plain.model.latent_dim}", plain.key, plain.model))
    return found


def _plain_slot(dataset, k: int) -> str:
    return f"plain_ae:{dataset.fingerprint[:16]}:{k}"


def plain_ae(dataset, k: int) -> state.CurrentModel | None:
    """The shipped ``ae`` for this dataset (this code size, else any), else one trained on this page."""
    entry = find_pretrained(dataset.name, "ae", k) or find_pretrained(dataset.name, "ae")
    if entry is not None:
        checkpoint = cache.pretrained_checkpoint(str(entry.path))
        return state.CurrentModel(checkpoint.model, entry.dataset, f"pretrained {entry.label}",
                                  key=entry.key)
    return side_jobs.result(_plain_slot(dataset, k))


def offer_plain_ae(dataset, k: int) -> None:
    """No shipped plain AE: say so, and train one (defaults, this code size) in the background."""
    slot = _plain_slot(dataset, k)
    side_jobs.failure(slot)
    if side_jobs.running(slot):
        side_jobs.show(slot, "trained here (denoise page)")
        return
    config = make_config("ae", latent_dim=k)
    config = config.scaled_to(len(dataset.x_train))
    st.caption(f"No shipped plain `ae` for {dataset.name}, so that column is missing.")
    if st.button(f"Train a plain ae (code {k}, {config.epochs} epochs)", key="denoise.train_ae"):
        side_jobs.start(slot, "ae", dataset, config)
        st.rerun()


def sample_indices(n_test: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n_test, min(SAMPLE_SIZE, n_test), replace=False))


@st.cache_data(show_spinner=False, max_entries=256)
def noisy(fingerprint: str, indices: tuple, noise: str, level: float, _dataset) -> np.ndarray:
    """Test images ``indices`` damaged by ``noise`` at ``level``: the same damage for every method."""
    return denoise.add_noise(_dataset.x_test[list(indices)], noise, level, NOISE_SEED)


@st.cache_data(show_spinner=False, max_entries=512)
def repaired(method_key: str, fingerprint: str, indices: tuple, noise: str, level: float,
             _method: Method, _dataset) -> np.ndarray:
    """The method's repair of :func:`noisy`, clipped to [0, 1]."""
    y = _dataset.y_test[list(indices)] if _dataset.y_test is not None else None
    damaged = noisy(fingerprint, indices, noise, level, _dataset)
    return np.clip(denoise.repair(_method.model, damaged, y), 0, 1)


def sample(dataset) -> tuple:
    return tuple(sample_indices(len(dataset.x_test)).tolist())


@st.cache_data(show_spinner=False, max_entries=256)
def scores(method_key: str, fingerprint: str, noise: str, level: float, _method: Method, _dataset) -> denoise.Quality:
    """Mean PSNR and SSIM over the fixed sample of test images."""
    indices = sample(_dataset)
    x_hat = repaired(method_key, fingerprint, indices, noise, level, _method, _dataset)
    return denoise.quality(_dataset.x_test[list(indices)], x_hat)


def curve_levels(noise: str) -> list[float]:
    """The curve's levels, rounded as the slider's values are, so a slider position on the curve is
    already computed."""
    return [round(float(level), LEVEL_DECIMALS) for level in denoise.curve_levels(noise)]


@st.cache_data(show_spinner="Scoring every noise level…", max_entries=128)
def curve(method_key: str, fingerprint: str, noise: str, _method: Method, _dataset) -> np.ndarray:
    """Mean PSNR over the fixed sample at each of the curve's levels (PSNR only: SSIM costs more)."""
    indices = sample(_dataset)
    x = _dataset.x_test[list(indices)]
    return np.array([denoise.quality_psnr(x, repaired(method_key, fingerprint, indices, noise, level, _method, _dataset))
                     for level in curve_levels(noise)])


def warm_curves(methods: list[Method], dataset) -> None:
    """Every noise type's curve for every method, so switching noise type later costs nothing."""
    for noise in NOISE_TYPES:
        for method in methods:
            curve(method.key, dataset.fingerprint, noise, method, dataset)


def image_column(column, title: str, images: np.ndarray, quality: denoise.Quality | None) -> None:
    with column:
        st.markdown(f"**{title}**")
        widgets.show_images(images, 2)
        if quality is not None:
            st.markdown(f"PSNR **{quality.psnr:.1f}** dB  \nSSIM **{quality.ssim:.3f}**")


def level_slider(noise: str) -> float:
    spec = NOISE_TYPES[noise]
    level = st.slider(f"Level ({spec.level_name})", spec.min_level, spec.max_level, spec.default_level,
                      step=(spec.max_level - spec.min_level) / LEVEL_STEPS, key=f"denoise.level.{noise}")
    return round(level, LEVEL_DECIMALS)


def curve_chart(methods: list[Method], chosen: list[str], dataset, noise: str, level: float) -> None:
    """PSNR against level for every method; those not ``chosen`` are only in the legend."""
    curves = {m.label: curve(m.key, dataset.fingerprint, noise, m, dataset) for m in methods}
    hidden = tuple(label for label in curves if label not in chosen)
    st.plotly_chart(level_curves(curve_levels(noise), curves, NOISE_TYPES[noise].level_name, marker_at=level,
                                 baselines=(noisy_method().label,), hidden=hidden,
                                 title=f"PSNR against {noise.replace('_', ' ')} level "
                                       f"({len(sample(dataset))} test images)"),
                    key="denoise.curve")
