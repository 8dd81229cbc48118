"""Inside an RBM: filters, Gibbs chains, free energies."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer import boltzmann
from explorer.registry import build, make_config
from explorer.training import train
from tests.conftest import make_image_dataset


@pytest.fixture(scope="module")
def trained_rbm():
    dataset = make_image_dataset(n_train=240, n_test=60, seed=1)
    model = train(dataset, make_config("rbm", latent_dim=16, epochs=15, batch_size=20, lr=0.1)).model
    return model, dataset


def test_the_rbm_layer_is_found_where_there_is_one():
    rbm = build("rbm", input_shape=(1, 8, 8))
    assert boltzmann.first_rbm_layer(rbm) is rbm.rbm
    assert boltzmann.first_rbm_layer(build("ae", input_shape=(1, 8, 8))) is None
    assert "rbm" in boltzmann.rbm_variants() and "ae" not in boltzmann.rbm_variants()


def test_filters_map_zero_to_grey_and_the_largest_weight_to_an_extreme():
    layer = build("rbm", make_config("rbm", latent_dim=3), input_shape=(1, 2, 2)).rbm
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 1.0, -2.0, 0.5], [3.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
    images = boltzmann.filters(layer, (1, 2, 2))
    assert images.shape == (3, 1, 2, 2)
    assert images[0].ravel().tolist() == [0.5, 0.75, 0.0, 0.625]
    assert images[1, 0, 0, 0] == 1.0 and images[2, 0, 0, 0] == 0.0


def test_gibbs_strip_starts_at_the_images_and_is_reproducible(trained_rbm):
    model, dataset = trained_rbm
    layer = boltzmann.first_rbm_layer(model)
    start = dataset.x_test[:3]
    strip, steps = boltzmann.gibbs_strip(layer, start, 20, n_frames=5, seed=4)
    assert strip.shape == (3, 5, 1, 8, 8) and steps == [0, 5, 10, 15, 20]
    assert np.array_equal(strip[:, 0], start) and strip.min() >= 0 and strip.max() <= 1
    again, _ = boltzmann.gibbs_strip(layer, start, 20, n_frames=5, seed=4)
    assert np.array_equal(strip, again)


def test_free_energy_is_the_formula_and_lower_for_data_than_for_noise(trained_rbm):
    model, dataset = trained_rbm
    layer = boltzmann.first_rbm_layer(model)
    x = dataset.x_test
    v = torch.as_tensor(x).flatten(1)
    expected = -(v @ layer.visible_bias) - F.softplus(v @ layer.weight.T + layer.hidden_bias).sum(1)
    energies = boltzmann.free_energies(layer, x)
    assert energies == pytest.approx(expected.detach().numpy(), rel=1e-5, abs=1e-4)
    medians = boltzmann.medians(boltzmann.energy_groups(layer, x))
    assert medians["test images"] == pytest.approx(float(np.median(energies)))
    for kind in boltzmann.NOISE_KINDS:
        assert medians["test images"] < medians[f"{kind} noise"] - 1, kind


def test_chains_start_at_test_images_or_at_seeded_noise(trained_rbm):
    _, dataset = trained_rbm
    assert np.array_equal(boltzmann.chain_start(dataset.x_test, "data", 4, 3), dataset.x_test[4:7])
    noise = boltzmann.chain_start(dataset.x_test, "noise", 4, 3)
    assert noise.shape == (3, *dataset.input_shape) and np.array_equal(noise, boltzmann.chain_start(dataset.x_test, "noise", 4, 3))
    assert not np.array_equal(noise, boltzmann.chain_start(dataset.x_test, "noise", 5, 3))
