"""The core's quality claims, measured: each model beats PCA with the same code size."""
from __future__ import annotations

import pytest

from explorer.data import dataset_status, load_dataset
from explorer.metrics import errors_against_pca
from explorer.registry import make_config
from explorer.training import train


@pytest.mark.parametrize("variant, overrides", [
    ("deep_ae", {"latent_dim": 8, "epochs": 50}),   # the README's example command
    ("ae", {}),                                      # defaults
    ("vae", {}),
])
def test_beats_pca_on_digits(digits, variant, overrides):
    trainer = train(digits, make_config(variant, **overrides), device="cpu", seed=0)
    errors = errors_against_pca(trainer.model, digits)
    assert errors["ratio_to_pca"] < 1.0, errors


@pytest.mark.slow
@pytest.mark.skipif(not dataset_status("fashion-mnist").available, reason="Fashion-MNIST is not installed")
def test_deep_ae_30_beats_pca_30_on_fashion_mnist_within_10_epochs():
    fashion = load_dataset("fashion-mnist")
    trainer = train(fashion, make_config("deep_ae", latent_dim=30, epochs=10), device="cpu", seed=0)
    errors = errors_against_pca(trainer.model, fashion)
    assert errors["pca_sq_err_per_image"] == pytest.approx(12.24, abs=0.05)
    assert errors["ratio_to_pca"] < 1.0, errors
