"""The shipped gallery: complete, small, loadable, and its cards reproduce."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from explorer import metrics
from explorer.checkpoint import load
from explorer.data import dataset_status, load_dataset
from explorer.gallery import PRETRAINED_ROOT, list_pretrained
from explorer.metrics import evaluate
from explorer.pretrain import build_plan
from explorer.projection import PCAProjector, load_projection, shipped_name, shown_indices

SHIPPED = list_pretrained()
MAX_BYTES = 40 * 1024 * 1024
FASHION = dataset_status("fashion-mnist").available
needs_fashion = pytest.mark.skipif(not FASHION, reason="Fashion-MNIST is not installed")


def test_gallery_is_complete():
    """The whole plan ships: every variant at codes 2 and 8 on digits; on Fashion-MNIST every variant
    at its retrieval size and the five map models at code 2."""
    shipped = {(e.dataset, e.variant, e.latent_dim) for e in SHIPPED}
    planned = {(e.dataset, e.variant, e.latent_dim) for e in build_plan()}
    assert planned <= shipped, f"missing: {sorted(planned - shipped)}"
    assert all(entry.card.get("config") for entry in SHIPPED), "a shipped folder without its card"


def test_gallery_fits_in_40_mb():
    total = sum(p.stat().st_size for p in PRETRAINED_ROOT.rglob("*") if p.is_file())
    assert total <= MAX_BYTES, f"{total / 2**20:.1f} MiB"


@pytest.mark.parametrize("entry", SHIPPED, ids=lambda e: f"{e.dataset}/{e.path.name}")
def test_every_shipped_model_loads_strictly_with_its_card(entry):
    checkpoint = load(entry.path)
    card = entry.card
    assert checkpoint.variant == entry.variant and checkpoint.model.latent_dim == entry.latent_dim
    assert card["fingerprint"] == checkpoint.dataset["fingerprint"]
    assert card["metrics"]["variant"] == entry.variant
    assert {"command", "seed", "epochs", "train_seconds", "device"} <= set(card)


@functools.lru_cache(maxsize=None)
def measured(dataset_name: str, folder: str) -> dict:
    """``eval``'s metrics of a shipped model, measured now on its data (once per test session)."""
    entry = next(e for e in SHIPPED if e.dataset == dataset_name and e.path.name == folder)
    dataset = load_dataset(entry.dataset)
    assert dataset.fingerprint == entry.card["fingerprint"]
    return evaluate(load(entry.path).model, dataset)


def reproduce(entry):
    metrics, card = measured(entry.dataset, entry.path.name), entry.card["metrics"]
    for key in ("test_sq_err_per_image", "pca_sq_err_per_image", "precision_at_10"):
        assert metrics[key] == pytest.approx(card[key], rel=0.01), key


@pytest.mark.parametrize("entry", [e for e in SHIPPED if e.dataset == "digits"], ids=lambda e: e.path.name)
def test_digits_cards_reproduce_within_1_percent(entry):
    reproduce(entry)


@needs_fashion  # about 5 s a model on 2 cores (18 s for conv_ae and aae), pixel P@10 computed once
@pytest.mark.parametrize("entry", [e for e in SHIPPED if e.dataset == "fashion-mnist"], ids=lambda e: e.path.name)
def test_fashion_cards_reproduce_within_1_percent(entry):
    reproduce(entry)


STOCHASTIC = {"rbm", "vae", "cvae"}  # sampled codes or a Boltzmann machine, not a deterministic AE


def test_digits_quality_measured_now():
    """Every deterministic autoencoder shipped at code 8 beats PCA-8 on digits, measured on the data."""
    for entry in SHIPPED:
        if entry.dataset == "digits" and entry.latent_dim == 8 and entry.variant not in STOCHASTIC:
            assert measured("digits", entry.path.name)["ratio_to_pca"] < 1, entry.variant


@needs_fashion
def test_fashion_quality_measured_now():
    """The gallery's quality goals on Fashion-MNIST (issue 13), measured on the data: PCA-30 as published;
    the best model that reconstructs from its code alone at 0.45x PCA-30 or better; the H&S deep
    autoencoder, with and without RBM pretraining, at 0.5x; lstm_ae at 0.8x; codes beating pixels at
    retrieval for at least 9 variants."""
    fashion = {e.path.name: measured("fashion-mnist", e.path.name) for e in SHIPPED
               if e.dataset == "fashion-mnist" and e.latent_dim > 2}
    assert fashion["deep_ae-30"]["pca_sq_err_per_image"] == pytest.approx(12.24, abs=0.01)
    code_only = {name: m for name, m in fashion.items() if not m["side_information"]}
    assert min(m["ratio_to_pca"] for m in code_only.values()) <= 0.45
    for folder, most in (("deep_ae-30", 0.5), ("dbn_ae-30", 0.5), ("lstm_ae-30", 0.8), ("conv_ae-30", 0.8)):
        assert fashion[folder]["ratio_to_pca"] <= most, folder
    retrieval = [name for name, m in fashion.items() if m["precision_at_10"] >= m["precision_at_10_pixels"]]
    assert len(retrieval) >= 9, retrieval


def shipped_map_cases():
    cases = [(d, None) for d in ("digits", "fashion-mnist")]
    return cases + [(e.dataset, e) for e in SHIPPED if e.latent_dim > 2]


@pytest.mark.parametrize("dataset_name, entry", shipped_map_cases(),
                         ids=lambda v: v if isinstance(v, str) else (v.path.name if v else "pixels"))
def test_shipped_maps_are_there_and_fit_the_points_the_app_shows(dataset_name, entry):
    """The Latent page's default maps ship (so no first view waits on UMAP), for the test images
    the page shows; where the data is here, they are of exactly those pixels and (up to float
    rounding) those codes, which is when the page uses them instead of fitting."""
    folder = PRETRAINED_ROOT / dataset_name if entry is None else entry.path
    source = "pixels" if entry is None else "codes"
    n_test = 10_000 if dataset_name == "fashion-mnist" else 360
    shown = shown_indices(n_test)
    paths = {method: folder / shipped_name(source, method, len(shown)) for method in ("pca", "umap")}
    assert all(path.is_file() for path in paths.values()), paths
    if dataset_name == "fashion-mnist" and not FASHION:
        return
    dataset = load_dataset(dataset_name)
    if entry is None:
        inputs = dataset.x_test[shown].reshape(len(shown), -1)
    else:
        model = load(entry.path).model
        inputs = model.encode_array(dataset.x_test, dataset.y_test)[shown]
    pca = load_projection(paths["pca"])
    assert np.allclose(pca.embedding_, PCAProjector().fit(inputs).embedding_, atol=1e-3)
    umap = load_projection(paths["umap"], inputs if entry is None else None)  # pixels: fingerprint-checked
    assert umap.embedding_.shape == (len(shown), 2)
    assert np.allclose(umap.inputs_, inputs, rtol=1e-3, atol=1e-4)


@needs_fashion
def test_deep_ae_2d_map_beats_the_pca_map_of_the_pixels():
    """Hinton & Salakhutdinov 2006, Fig. 3, measured on Fashion-MNIST's test set: the 2-D codes of the
    shipped deep_ae separate the classes better (5-NN accuracy in 2-D) than PCA-2 of the pixels."""
    dataset = load_dataset("fashion-mnist")
    codes = load(PRETRAINED_ROOT / "fashion-mnist" / "deep_ae-2").model.encode_array(dataset.x_test)
    pixels_map = PCAProjector().fit(dataset.x_test.reshape(len(dataset.x_test), -1)).embedding_
    code_accuracy = metrics.knn_accuracy_2d(codes, dataset.y_test)
    pca_accuracy = metrics.knn_accuracy_2d(pixels_map, dataset.y_test)
    assert code_accuracy > pca_accuracy + 0.1, (code_accuracy, pca_accuracy)
