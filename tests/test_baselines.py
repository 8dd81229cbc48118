"""The shipped PCA baseline: the same axes as a fit, for every code size the gallery ships."""
from __future__ import annotations

import pytest
import torch

from explorer import baselines
from explorer.checkpoint import load
from explorer.data import dataset_status, load_dataset
from explorer.gallery import PRETRAINED_ROOT, list_pretrained
from tests.conftest import make_image_dataset


def same_axes(a, b) -> bool:
    """Equal up to float32 rounding (the eigensolver's last bits depend on its thread count)."""
    return all(torch.allclose(getattr(a, name), getattr(b, name), rtol=1e-4, atol=1e-5)
               for name in ("mean", "components", "explained_variance"))


def test_the_shipped_digits_fit_is_the_fit_at_every_shipped_code_size(digits):
    for k in sorted({entry.latent_dim for entry in list_pretrained("digits")}):
        shipped = baselines.pca_baseline(digits, k)
        assert shipped.latent_dim == k and shipped is not baselines.fit_pca(digits, k)   # read, not fitted
        assert same_axes(shipped, baselines.fit_pca(digits, k))


@pytest.mark.skipif(not dataset_status("fashion-mnist").available, reason="fashion-mnist is not installed")
def test_the_shipped_fashion_fit_serves_every_shipped_code_size():
    """Its fingerprint says it was fitted on these images (fitting it again here would take seconds)."""
    dataset = load_dataset("fashion-mnist")
    largest = max(entry.latent_dim for entry in list_pretrained("fashion-mnist"))
    shipped = load(PRETRAINED_ROOT / "fashion-mnist" / baselines.FOLDER)
    assert shipped.dataset["fingerprint"] == dataset.fingerprint and shipped.model.latent_dim == largest
    assert baselines.pca_baseline(dataset, largest).components.shape == (largest, 784)


def test_a_fit_stands_in_for_a_missing_foreign_or_too_small_shipped_one(tmp_path):
    dataset = make_image_dataset(n_train=60, n_test=8)
    assert baselines.pca_baseline(dataset, 2, root=tmp_path) is baselines.fit_pca(dataset, 2)   # none shipped
    baselines.write(dataset, root=tmp_path)   # no gallery models here: one component
    one = baselines.pca_baseline(dataset, 1, root=tmp_path)
    assert one is not baselines.fit_pca(dataset, 1) and same_axes(one, baselines.fit_pca(dataset, 1))
    assert baselines.pca_baseline(dataset, 2, root=tmp_path) is baselines.fit_pca(dataset, 2)
    other = make_image_dataset(n_train=60, n_test=8, seed=1)   # same name, other images
    assert other.name == dataset.name and baselines.pca_baseline(other, 1, root=tmp_path) is baselines.fit_pca(other, 1)
