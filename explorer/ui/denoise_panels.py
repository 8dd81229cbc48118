"""The parts of the Denoise page: the methods compared (the current model, the shipped denoising AE
and plain AE, PCA and the noisy input), the noise controls, the repairs, their scores and the
PSNR-against-level curve. The comparison itself is :mod:`explorer.denoise`; this module caches and
draws it. It scores a small sample of test images (``denoise.SAMPLE_SIZE``), work too small to share between
cores, so it runs on one thread (:mod:`explorer.threads`: with the cores busy, two threads wait on each other)."""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explorer import denoise
from explorer.baselines import pca_baseline
from explorer.denoise import sample_indices
from explorer.gallery import find_pretrained
from explorer.noise import NOISE_TYPES
from explorer.plots import level_curves
from explorer.recipes import config_for
from explorer.threads import one_thread
from explorer.ui import cache, lesson, side_jobs, state, widgets

NOISE_SEED = 0
LEVEL_STEPS = 20    # slider positions over the level's range
LEVEL_DECIMALS = 6
HELPERS = ("denoising_ae", "ae")   # compared beside the current model: the lesson's two autoencoders
NAMES = {"denoising_ae": "denoising AE", "ae": "plain AE"}
NOISY = denoise.Method("noisy input (no repair)", "none", None)


def model_label(variant: str, latent_dim: int, current: bool = False) -> str:
    return f"{NAMES.get(variant, variant)} (code {latent_dim}{', current' if current else ''})"


def methods(current: state.CurrentModel, dataset) -> list[denoise.Method]:
    """The noisy input, the current model, the denoising AE and plain AE (shipped for this dataset
    at this code size, else at another, else trained on this page) and PCA at this code size."""
    k = current.model.latent_dim
    found = [NOISY, denoise.Method(model_label(current.variant, k, current=True), current.key, current.model)]
    for variant in HELPERS:
        helper = helper_model(dataset, variant, k)
        if helper is not None and helper.key != current.key:
            found.append(denoise.Method(model_label(variant, helper.model.latent_dim), helper.key, helper.model))
    found.append(denoise.Method(f"PCA (code {k})", f"pca:{dataset.fingerprint[:16]}:{k}", pca_baseline(dataset, k)))
    return found


def _slot(dataset, variant: str, k: int) -> str:
    return f"denoise.{variant}:{dataset.fingerprint[:16]}:{k}"


def helper_model(dataset, variant: str, k: int) -> state.CurrentModel | None:
    """The shipped ``variant`` for this dataset at this code size, else one trained here: a model of
    another size would not be the same-size comparison the lesson states."""
    entry = find_pretrained(dataset.name, variant, k)
    if entry is not None:
        checkpoint = cache.pretrained_checkpoint(str(entry.path))
        return state.CurrentModel(checkpoint.model, entry.dataset, f"pretrained {entry.label}", key=entry.key)
    return side_jobs.result(_slot(dataset, variant, k))


def offer_helpers(dataset, k: int, current: state.CurrentModel) -> None:
    """For each lesson model neither shipped nor current: say so, and train one (defaults, this code
    size) in the background."""
    for variant in HELPERS:
        if variant == current.variant or helper_model(dataset, variant, k) is not None:
            continue
        slot = _slot(dataset, variant, k)
        side_jobs.failure(slot)
        if side_jobs.running(slot):
            side_jobs.show(slot, "trained here (denoise page)")
            continue
        config = config_for(variant, dataset.input_shape, len(dataset.x_train), k)
        st.caption(f"No shipped {NAMES[variant]} for {dataset.name} at code {k}, so it is not compared yet.")
        if st.button(f"Train a {NAMES[variant]} (code {k}, {config.epochs} epochs)", key=f"denoise.train.{variant}"):
            side_jobs.start(slot, dataset, config)
            st.rerun()


def reset_on_new_model(methods: list[denoise.Method]) -> tuple[str, float]:
    """The setting the page opens on (:func:`explorer.denoise.opening_setting`, the current model
    first in ``methods``). When the methods are not those the controls were opened for (another model
    or dataset), the controls go back to that setting and the curve to every method. A lesson link's
    damage and level replace it."""
    noise, level = denoise.opening_setting(methods)
    asked = lesson.setting("noise", noise)
    opening = asked, lesson.setting("level", level if asked == noise else NOISE_TYPES[asked].default_level)
    opened_for = (_keys(methods), opening)
    if st.session_state.get("denoise.opened_for") != opened_for:
        controls = [key for key in st.session_state if str(key).startswith("denoise.level.")]
        for key in controls + ["denoise.noise"]:
            st.session_state.pop(key, None)
        st.session_state["denoise.opened_for"] = opened_for
    return opening


def noise_box(column, opening: tuple[str, float]) -> str:
    names = list(NOISE_TYPES)
    help_text = "  \n".join(f"**{denoise.noise_name(name)}**: {t.description}" for name, t in NOISE_TYPES.items())
    return column.selectbox("Damage", names, index=names.index(opening[0]), format_func=denoise.noise_name,
                            key="denoise.noise", help=help_text)


def level_slider(noise: str, opening: tuple[str, float]) -> float:
    spec = NOISE_TYPES[noise]
    default = opening[1] if noise == opening[0] else spec.default_level
    level = st.slider(f"How much ({spec.level_name})", spec.min_level, spec.max_level, default,
                      step=(spec.max_level - spec.min_level) / LEVEL_STEPS, key=f"denoise.level.{noise}")
    return round(level, LEVEL_DECIMALS)


def _keys(methods: list[denoise.Method]) -> tuple[str, ...]:
    return tuple(m.key for m in methods)


def _labels(dataset, indices) -> np.ndarray | None:
    return dataset.y_test[indices] if dataset.y_test is not None else None


@st.cache_data(show_spinner=False, max_entries=256)
def _scores(method_keys: tuple, fingerprint: str, noise: str, level: float, _methods, _dataset) -> list:
    indices = sample_indices(len(_dataset.x_test))
    with one_thread():
        return denoise.compare(_methods, _dataset.x_test[indices], _labels(_dataset, indices), noise, level, NOISE_SEED)


def scores(methods: list[denoise.Method], dataset, noise: str, level: float) -> list[denoise.Score]:
    """Each method's mean PSNR and SSIM over the fixed sample of test images."""
    return _scores(_keys(methods), dataset.fingerprint, noise, level, methods, dataset)


@st.cache_data(show_spinner=False, max_entries=256)
def _repairs(method_keys: tuple, fingerprint: str, shown: tuple, noise: str, level: float, _methods, _dataset) -> list:
    indices = list(shown)
    with one_thread():
        return denoise.repairs(_methods, _dataset.x_test[indices], _labels(_dataset, indices), noise, level, NOISE_SEED)


def repairs(methods: list[denoise.Method], dataset, shown: tuple, noise: str, level: float) -> list[np.ndarray]:
    """Each method's repair of the shown test images."""
    return _repairs(_keys(methods), dataset.fingerprint, shown, noise, level, methods, dataset)


@st.cache_data(show_spinner="Scoring every level of this damage…", max_entries=64)
def _curves(method_keys: tuple, fingerprint: str, noise: str, _methods, _dataset) -> dict:
    indices = sample_indices(len(_dataset.x_test))
    with one_thread():
        return denoise.psnr_curves(_methods, _dataset.x_test[indices], _labels(_dataset, indices), noise,
                                   denoise.curve_levels(noise), NOISE_SEED)


def image_column(column, title: str, images: np.ndarray, quality: denoise.Quality | None) -> None:
    with column:
        widgets.show_images(images, 2)   # first: titles wrap to different heights in narrow columns
        st.markdown(f"**{title}**")
        if quality is not None:
            st.markdown(f"PSNR **{quality.psnr:.1f}** dB  \nSSIM **{quality.ssim:.3f}**")


def curve_chart(methods: list[denoise.Method], dataset, noise: str, level: float) -> None:
    """PSNR against level for every method (those left out of the box stay in the legend only), and
    what it shows for the denoising AE."""
    curves = _curves(_keys(methods), dataset.fingerprint, noise, methods, dataset)
    labels = list(curves)
    # Keyed by the methods themselves: under one key the browser kept the last model's chips after a
    # switch, although the session had been reset (a stale box beside a new curve).
    chosen = st.multiselect("Methods on the curve", labels, default=labels,
                            key=f"denoise.curve_methods.{hashlib.sha1(repr(labels).encode()).hexdigest()[:10]}")
    levels = denoise.curve_levels(noise)
    hidden = tuple(label for label in labels if label not in chosen)
    name = denoise.noise_name(noise)
    st.plotly_chart(level_curves(levels, curves, f"{name} level ({NOISE_TYPES[noise].level_name})",
                                 y_title="PSNR (dB), higher is better", marker_at=level, baselines=(NOISY.label,),
                                 hidden=hidden, title=f"Repair quality as the {name} damage grows "
                                                      f"({len(sample_indices(len(dataset.x_test)))} test images)"),
                    key="denoise.curve")
    denoiser = next((m.label for m in methods if m.role == "denoising"), None)
    if denoiser is not None:
        shown = {label: values for label, values in curves.items() if label in chosen or label == denoiser}
        if len(shown) > 1:
            st.caption(denoise.curve_lesson(shown, levels, noise, denoiser))
