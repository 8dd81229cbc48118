"""sparse_ae: the penalty is Ng's formula, and training drives the code's mean activation to rho."""
import pytest
import torch

from explorer.registry import build, make_config
from explorer.training import train



def sparse_model(**config):
    return build("sparse_ae", make_config("sparse_ae", latent_dim=2, **config), input_shape=(1, 8, 8))


def test_kl_penalty_is_beta_times_the_sum_of_kl_divergences():
    codes = torch.tensor([[0.1, 0.5], [0.3, 0.5]])   # rho_hat = (0.2, 0.5)
    # KL(0.1 || 0.2) = 0.1 ln(0.1/0.2) + 0.9 ln(0.9/0.8) = 0.0366900
    # KL(0.1 || 0.5) = 0.1 ln(0.1/0.5) + 0.9 ln(0.9/0.5) = 0.3680642
    model = sparse_model(rho=0.1, beta=2.0)
    assert float(model.sparsity_penalty(codes)) == pytest.approx(2.0 * (0.0366900 + 0.3680642), abs=1e-6)
    at_target = torch.full((4, 2), 0.1)
    assert float(model.sparsity_penalty(at_target)) == pytest.approx(0.0, abs=1e-7)


def test_l1_penalty_is_the_weighted_mean_code_sum():
    codes = torch.tensor([[0.1, 0.5], [0.3, 0.5]])   # per-image sums 0.6 and 0.8
    model = sparse_model(penalty="l1", l1_weight=0.5)
    assert float(model.sparsity_penalty(codes)) == pytest.approx(0.5 * 0.7, abs=1e-7)


def test_loss_adds_the_penalty_of_the_batch_codes():
    torch.manual_seed(0)
    model = sparse_model(beta=5.0)
    x = torch.rand(16, 1, 8, 8)
    with torch.no_grad():
        terms = model.loss(x)
    assert set(terms) == {"recon", "sparsity"}
    codes = model.encode(x).detach()
    assert float(terms["sparsity"]) == pytest.approx(float(model.sparsity_penalty(codes)), rel=1e-6)
    assert codes.shape == (16, 2) and bool(((codes > 0) & (codes < 1)).all())


def test_training_brings_the_mean_activation_to_rho(digits):
    # The default 200 epochs: the mean activation falls below 0.1 at once, then creeps down to rho.
    sparse = train(digits, make_config("sparse_ae", latent_dim=8), device="cpu", seed=0).model
    # Without the penalty the units sit near 0.5 from the first epochs on; 20 epochs show it.
    dense = train(digits, make_config("sparse_ae", latent_dim=8, beta=0.0, epochs=20),
                  device="cpu", seed=0).model
    sparse_activation = sparse.encode_array(digits.x_test).mean(0)   # (K,) each unit's mean activation
    dense_activation = dense.encode_array(digits.x_test).mean(0)
    assert abs(float(sparse_activation.mean()) - 0.05) < 0.02
    assert float(sparse_activation.max()) < 0.1            # every unit, not just the average
    assert float(dense_activation.mean()) > 4 * float(sparse_activation.mean())
