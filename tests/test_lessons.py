"""Lesson links without Streamlit: the URL's settings read against their bounds, the link written back,
and each page's "What to notice" sentence carrying the numbers of the result it is built from (the
Denoise page's sentence: tests/test_denoise.py; the Search page's: tests/test_robustness.py)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from explorer import anomaly, boltzmann, compare, lessons, maps, metrics, traverse
from explorer.baselines import pca_baseline

NUMBER = r"-?\d+(?:\.\d+)?"


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(NUMBER, text)]


# --- the link's settings ----------------------------------------------------------------------------

def test_the_issues_link_locks_denoise_to_masking_at_a_quarter():
    read, refused = lessons.parse("denoise", {"dataset": "fashion-mnist", "variant": "denoising_ae", "code": "30",
                                              "noise": "masking", "level": "0.25", "lesson": "1"})
    assert refused == []
    assert read == lessons.Lesson({"noise": "masking", "level": 0.25}, locked=True, presenter=False)


@pytest.mark.parametrize(("page", "name", "text"), [
    ("denoise", "noise", "fog"), ("denoise", "level", "1.5"), ("denoise", "level", "nan"), ("denoise", "level", "x"),
    ("traverse", "seed", "-1"), ("traverse", "seed", "2.5"), ("traverse", "class", "1000"),
    ("rbm", "steps", "0"), ("rbm", "steps", "1001"), ("rbm", "start", "data"), ("model", "lesson", "2"),
    ("latent", "presenter", "yes"), ("latent", "map", "tsne"), ("latent", "points", "0"), ("denoise", "first", "-8"),
    ("anomaly", "threshold", "-1"), ("anomaly", "threshold", "inf"), ("traverse", "image", "1.5")])
def test_a_value_out_of_bounds_is_refused_in_one_line_and_left_to_the_default(page, name, text):
    read, refused = lessons.parse(page, {name: text, "dataset": "digits"})
    assert len(refused) == 1 and "\n" not in refused[0]
    assert f"`{name}={text}`" in refused[0] and "default" in refused[0]
    assert name not in read.settings and not read.locked and not read.presenter


def test_settings_of_other_pages_are_not_read():
    read, refused = lessons.parse("latent", {"noise": "masking", "seed": "3", "lesson": "1"})
    assert read.settings == {} and read.locked and refused == []


def test_the_link_carries_the_model_the_settings_in_schema_order_and_lesson_1():
    settings = {"steps": 20, "seed": 7, "start": "noise", "unknown": 1}
    link = lessons.link("rbm", {"dataset": "digits", "variant": "rbm", "code": 8}, settings, base="http://host:8501/",
                        presenter=True)
    assert link == ("http://host:8501/rbm?dataset=digits&variant=rbm&code=8&start=noise&seed=7&steps=20"
                    "&presenter=1&lesson=1")


@pytest.mark.parametrize(("page", "settings"), [("denoise", {"noise": "salt_and_pepper", "level": 0.35, "first": 16}),
                                                 ("traverse", {"image": 9, "seed": 123, "class": 4}),
                                                 ("rbm", {"start": "test images", "seed": 0, "steps": 1000}),
                                                 ("latent", {"map": "pca", "points": 1000}),
                                                 ("anomaly", {"threshold": 2.125})])
def test_a_link_reads_back_as_the_settings_it_was_built_from(page, settings):
    url = urlparse(lessons.link(page, {"dataset": "digits", "variant": "vae", "code": None}, settings))
    assert url.path == f"/{page}"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert "code" not in query
    read, refused = lessons.parse(page, query)
    assert refused == [] and read.settings == settings and read.locked


# --- "What to notice": the numbers are the result's ------------------------------------------------

def test_the_model_notice_quotes_the_errors_against_pca(tiny_dataset):
    errors = {"test_sq_err_per_image": 3.14159, "pca_sq_err_per_image": 4.5, "ratio_to_pca": 3.14159 / 4.5}
    text = metrics.errors_notice(errors, "deep_ae", 8)
    assert numbers(text)[:4] == [3.14, 0.70, 4.50, 8] and "beats the best linear code" in text
    worse = metrics.errors_notice({**errors, "ratio_to_pca": 1.2}, "rbm", 8)
    assert "does not beat" in worse


def test_the_latent_notice_quotes_each_maps_5nn_accuracy():
    titles = ["codes", "PCA of the pixels", "UMAP of the pixels"]
    qualities = [{"knn_accuracy": a, "trustworthiness": 0.9} for a in (0.8834, 0.6361, 0.9581)]
    text = maps.notice(titles, qualities, 360)
    assert "codes 0.883, PCA of the pixels 0.636, UMAP of the pixels 0.958" in text and text.startswith("On these 360")
    assert "separates the classes better than PCA of the pixels but not as well as UMAP of the pixels:" in text
    assert "better than PCA of the pixels and UMAP of the pixels:" in maps.notice(titles, qualities[::-1], 360)
    unlabelled = maps.notice(titles, [{"trustworthiness": t} for t in (0.9, 0.8, 0.95)], 50)
    assert "trustworthiness: codes 0.900, PCA of the pixels 0.800, UMAP of the pixels 0.950" in unlabelled


def test_the_latent_notice_reads_real_map_scores(digits):
    rng = np.random.default_rng(0)
    x, y = digits.x_test[:200], digits.y_test[:200]
    pixels = x.reshape(len(x), -1)
    points = [pixels @ rng.normal(size=(pixels.shape[1], 2)) for _ in range(2)]
    qualities = [maps.map_quality(p, y, pixels) for p in points]
    text = maps.notice(["a", "b"], qualities, len(x))
    assert numbers(text)[2:] == [round(q["knn_accuracy"], 3) for q in qualities]   # after "200" and "5"-NN


def test_the_traverse_notice_quotes_the_share_of_the_top_dimensions():
    scores = np.array([0.5, 2.0, 0.001, 1.0, 0.3, 0.2])
    text = traverse.notice(scores, "KL")
    share = (2.0 + 1.0 + 0.5) / scores.sum()
    assert "(z1, z3, z0) hold " + f"{share:.0%}" in text and "1 dimension(s) have a KL below 0.01" in text
    assert "ignored" not in traverse.notice(scores, "variance") and "holds 80%" in traverse.notice(scores[:2], "KL")


def test_the_anomaly_notice_quotes_the_threshold_summary():
    errors = np.array([0.1, 5.0, 0.2, 7.0, 6.0, 0.3, 0.4, 0.5])
    labels = np.array([0, 1, 0, 1, 2, 2, 0, 1])
    summary = anomaly.above_threshold(errors, 1.0, labels)
    text = anomaly.notice(summary, ["zero", "one", "two"])
    assert text.startswith("At the threshold 1.00, 3 of 8 test images (37.5%)")
    assert "most flagged class is one, 2 of them (67%)" in text
    assert "class" not in anomaly.notice(anomaly.above_threshold(errors, 1.0), None)


def test_the_rbm_notice_quotes_the_median_free_energies():
    text = boltzmann.notice({"test images": -15.14, "shuffled noise": 19.5, "uniform noise": 32.44})
    assert "median free energy is -15.1; shuffled noise 19.5 (34.6 higher) and uniform noise 32.4 (47.6 higher)" \
        in text and "has learned" in text
    assert "not the most probable" in boltzmann.notice({"test images": 3.0, "shuffled noise": 1.0,
                                                       "uniform noise": 9.0})


def test_the_compare_notice_quotes_the_rows_errors(tiny_dataset):
    k = 2
    indices = np.arange(6)
    rows = compare.reconstruction_rows([("copy", _Copy()), ("pca again", pca_baseline(tiny_dataset, k))],
                                       tiny_dataset, indices, k)
    errors = {label: error for label, _, error in rows}
    text = compare.notice(rows, k)
    assert f"On these 6 test images, 1 of 2 models reconstruct better than PCA with the same 2 numbers per image " \
           f"(error {errors['PCA-2']:.2f}); the best is copy at 0.00" in text


class _Copy:
    """A perfect reconstruction, as a model the compare rows can call."""
    def reconstruct_array(self, x, y=None):
        return x
