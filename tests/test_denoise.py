"""Damage, repair and score: the core of the Denoise page, and its lesson with the shipped weights."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import denoise
from explorer.baselines import fit_pca, pca_baseline
from explorer.checkpoint import load
from explorer.data import dataset_status, load_dataset
from explorer.gallery import find_pretrained, list_pretrained
from explorer.registry import build, make_config
from tests.conftest import make_image_dataset

NOISY = denoise.Method("noisy input", "none", None)


def untrained(variant: str, **config):
    return build(variant, make_config(variant, latent_dim=2, **config), input_shape=(1, 8, 8))


def test_noise_is_reproducible_and_level_zero_is_harmless(tiny_dataset):
    x = tiny_dataset.x_test[:8]
    first = denoise.add_noise(x, "salt_and_pepper", 0.2, seed=1)
    assert np.array_equal(first, denoise.add_noise(x, "salt_and_pepper", 0.2, seed=1))
    assert not np.array_equal(first, denoise.add_noise(x, "salt_and_pepper", 0.2, seed=2))
    clean = denoise.quality(x, denoise.add_noise(x, "gaussian", 0.0))
    assert clean.psnr == denoise.PSNR_CAP and clean.ssim == pytest.approx(1.0)


def test_no_repair_gets_worse_as_noise_rises(tiny_dataset):
    levels = denoise.curve_levels("gaussian", 5)
    curve = denoise.psnr_curves([NOISY], tiny_dataset.x_test, None, "gaussian", levels)["noisy input"]
    assert levels.tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0]) and np.all(np.diff(curve) < 0)


def test_a_projection_onto_the_data_removes_gaussian_noise():
    dataset = make_image_dataset(n_train=200, n_test=64)
    x = dataset.x_test
    noisy = denoise.add_noise(x, "gaussian", 0.4)
    repaired = denoise.repair(fit_pca(dataset, 3), noisy)
    assert denoise.quality(x, repaired).psnr > denoise.quality(x, noisy).psnr + 3


def test_compare_scores_every_method_on_the_same_damage():
    dataset = make_image_dataset(n_train=200, n_test=64)
    x = dataset.x_test
    pca = denoise.Method("PCA", "pca", fit_pca(dataset, 3))
    scores = denoise.compare([NOISY, pca], x, None, "masking", 0.3, seed=4)
    damaged = denoise.add_noise(x, "masking", 0.3, seed=4)
    assert [s.label for s in scores] == ["noisy input", "PCA"] and [s.role for s in scores] == ["noisy", "pca"]
    assert scores[0].quality == denoise.quality(x, damaged)
    assert scores[1].quality == denoise.quality(x, denoise.repair(pca.model, damaged))
    curves = denoise.psnr_curves([NOISY, pca], x, None, "masking", np.array([0.3]), seed=4)
    assert curves["PCA"][0] == pytest.approx(scores[1].quality.psnr)


def test_roles_and_the_setting_a_comparison_opens_on():
    dae = denoise.Method("dae", "d", untrained("denoising_ae", noise="gaussian", noise_level=0.2))
    plain, deep = denoise.Method("ae", "a", untrained("ae")), denoise.Method("deep", "p", untrained("deep_ae"))
    assert [m.role for m in (dae, plain, deep)] == ["denoising", "plain", "model"]
    assert dae.trained_on == ("gaussian", 0.2) and plain.trained_on is None
    assert denoise.opening_setting([deep, dae]) == ("gaussian", 0.2)   # the first denoising method's damage
    defaults = make_config("denoising_ae")
    assert denoise.opening_setting([deep, plain]) == (defaults.noise, defaults.noise_level)


def score(label, role, psnr, trained_on=None):
    return denoise.Score(label, role, denoise.Quality(psnr, 0.5), trained_on)


def test_the_lesson_takes_its_numbers_from_the_scores_as_shown():
    scores = [score("noisy input", "noisy", 12.44), score("denoising AE", "denoising", 17.94, ("masking", 0.25)),
              score("PCA-8", "pca", 14.46)]
    assert denoise.lesson(scores, "masking", 0.25) == (
        "At masking 0.25, the denoising AE scores 17.9 dB: 5.5 dB above the noisy input and 3.4 dB above "
        "PCA-8. This is the damage it was trained to undo.")
    unseen = denoise.lesson(scores[:2] + [score("PCA-8", "pca", 18.0)], "gaussian", 0.3)
    assert "0.1 dB below PCA-8" in unseen and "trained to undo masking 0.25; this damage it never saw" in unseen
    assert denoise.lesson([scores[0], scores[2]], "masking", 0.25).startswith(
        "At masking 0.25, the best repair here is PCA-8 at 14.5 dB.")


def test_the_curve_lesson_names_the_levels_where_the_method_is_best():
    levels = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    curves = {"dae": np.array([9.0, 9, 5, 9, 9]), "pca": np.array([8.0, 8, 8, 8, 10])}
    assert denoise.curve_lesson(curves, levels, "salt_and_pepper", "dae") == (
        "On the curve, the dae is the best repair at 3 of 5 salt and pepper levels (0.1 to 0.2 and 0.4).")
    assert denoise.curve_lesson(curves, levels, "masking", "pca").endswith("2 of 5 masking levels (0.3 and 0.5).")
    assert "not the best repair at any" in denoise.curve_lesson({"a": levels, "b": levels + 1}, levels, "masking", "a")


def shipped_denoisers():
    """Every shipped denoising AE, on digits and (where installed) Fashion-MNIST."""
    return [pytest.param(entry, id=f"{entry.dataset}/{entry.path.name}",
                         marks=[] if dataset_status(entry.dataset).available else
                         pytest.mark.skip(reason=f"{entry.dataset} is not installed"))
            for entry in list_pretrained() if entry.variant == "denoising_ae"]


@pytest.mark.parametrize("entry", shipped_denoisers())
def test_the_shipped_denoising_ae_wins_at_the_damage_it_was_trained_on(entry):
    """Vincent et al.'s lesson, as the page opens on it: at the training corruption the shipped
    denoising AE repairs better (PSNR) than the noisy input, PCA and the plain AE of its code size."""
    dataset = load_dataset(entry.dataset)
    dae = load(entry.path).model
    k = dae.latent_dim
    methods = [NOISY, denoise.Method("dae", entry.key, dae), denoise.Method("PCA", "pca", pca_baseline(dataset, k))]
    plain = find_pretrained(entry.dataset, "ae", k)   # the gallery ships a plain ae at every denoising code
    methods.append(denoise.Method("ae", plain.key, load(plain.path).model))
    x = dataset.x_test[:2000]
    scores = {s.label: s.quality.psnr for s in denoise.compare(methods, x, None, *denoise.opening_setting(methods))}
    rivals = {label: value for label, value in scores.items() if label != "dae"}
    assert scores["dae"] > max(rivals.values()) + 1.0, scores   # dB
