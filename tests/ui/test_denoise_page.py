"""The Denoise page with the shipped weights: it opens on the denoising AE's training damage, shows
the core's scores and a lesson whose numbers are the ones on screen, and keeps the denoising AE on the
curve whatever model is current (the comparison itself: tests/test_denoise.py)."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer import denoise
from explorer.registry import build, make_config
from explorer.ui.state import CurrentModel

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "explorer/ui/pages/denoise.py"


def open_denoise(variant: str, code: int) -> AppTest:
    """A fresh session on digits' shipped ``variant`` at ``code``, showing the Denoise page."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(dataset="digits", variant=variant, code=str(code))
    return at.run().switch_page(PAGE).run()


def shown_scores(at: AppTest) -> dict[str, float]:
    """{column title: PSNR} as the image columns show them."""
    texts = [md.value for md in at.markdown]
    return {title.strip("*"): float(re.search(r"PSNR \*\*([\d.]+)\*\*", score)[1])
            for title, score in itertools.pairwise(texts) if score.startswith("PSNR")}


def caption(at: AppTest, start: str) -> str:
    return next(c.value for c in at.caption if c.value.startswith(start))


def notice(at: AppTest) -> str:
    """The page's "What to notice" box."""
    return next(box.value for box in at.info if box.value.startswith("**What to notice.**"))


def test_it_opens_on_the_training_damage_where_the_denoising_ae_wins(digits):
    at = open_denoise("denoising_ae", 8)
    assert not at.exception and not at.error
    assert at.selectbox(key="denoise.noise").value == "masking"
    assert at.slider(key="denoise.level.masking").value == pytest.approx(0.25)
    scores = shown_scores(at)
    dae = scores.pop("denoising AE (code 8, current)")
    assert set(scores) == {"noisy input (no repair)", "plain AE (code 8)", "PCA (code 8)"}
    assert dae > max(scores.values()) + 1   # dB
    lesson = notice(at)
    assert f"scores {dae:.1f} dB" in lesson and "the damage it was trained to undo" in lesson
    assert f"{dae - scores['PCA (code 8)']:.1f} dB above PCA (code 8)" in lesson
    indices = denoise.sample_indices(len(digits.x_test))
    x = digits.x_test[indices]
    expected = denoise.quality(x, denoise.add_noise(x, "masking", 0.25)).psnr
    assert scores["noisy input (no repair)"] == pytest.approx(expected, abs=0.05)


def test_another_model_is_compared_with_the_shipped_denoising_ae_on_its_damage():
    at = open_denoise("deep_ae", 8)
    assert (at.selectbox(key="denoise.noise").value, at.slider(key="denoise.level.masking").value) == ("masking", 0.25)
    assert "denoising AE (code 8)" in shown_scores(at)
    assert "denoising AE (code 8)" in curve_box(at).value
    assert caption(at, "On the curve, the denoising AE (code 8)")
    at.selectbox(key="denoise.noise").set_value("gaussian").run()
    assert "this damage it never saw" in notice(at)


def test_a_new_model_reopens_the_page_on_its_own_damage_with_every_method_on_the_curve(digits):
    at = open_denoise("denoising_ae", 2)
    at.selectbox(key="denoise.noise").set_value("gaussian").run()
    curve_box(at).set_value(["PCA (code 2)"]).run()
    config = make_config("denoising_ae", latent_dim=2, noise="salt_and_pepper", noise_level=0.15)
    model = build("denoising_ae", config, input_shape=digits.input_shape)   # untrained: only its config matters
    at.session_state["current"] = CurrentModel(model, "digits", "test")
    at.run()
    assert not at.exception
    assert at.selectbox(key="denoise.noise").value == "salt_and_pepper"
    assert at.slider(key="denoise.level.salt_and_pepper").value == pytest.approx(0.15)
    assert "denoising AE (code 2)" in shown_scores(at)   # the shipped one, beside the current one
    curve = curve_box(at)
    assert curve.value == curve.options and len(curve.options) == 5   # every method back on the curve


def curve_box(at):
    """The "Methods on the curve" box (its key names the methods it was drawn for)."""
    return next(box for box in at.multiselect if box.label == "Methods on the curve")
