"""contractive_ae: the closed-form penalty is the Jacobian norm, and training contracts the code."""
import pytest
import torch

from explorer import losses
from explorer.registry import build, make_config
from explorer.training import train


def cae(shape=(1, 8, 8), **config):
    torch.manual_seed(0)
    config = make_config("contractive_ae", latent_dim=5, **config)
    return build("contractive_ae", config, input_shape=shape).double()


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 10, 7)])
def test_closed_form_equals_the_autograd_jacobian_norm(shape):
    model = cae(shape)
    with torch.no_grad():
        model.code_layer.weight.mul_(20)   # large weights: units spread over the whole sigmoid
    x = torch.rand(6, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    closed = model.jacobian_norm(x)
    by_autograd = losses.jacobian_frobenius(model.encode, x)
    assert closed.shape == (6,)
    torch.testing.assert_close(closed, by_autograd, rtol=1e-5, atol=1e-8)


def test_deep_encoder_penalty_is_the_squared_norm_of_the_full_jacobian():
    model = cae(encoder="deep", hidden="12")
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    expected = [torch.func.jacrev(lambda v: model.encode(v[None])[0])(sample).square().sum() for sample in x]
    torch.testing.assert_close(model.jacobian_norm(x), torch.stack(expected), rtol=1e-10, atol=0)


@torch.no_grad()
def test_loss_weights_the_mean_jacobian_norm_by_lambda():
    model = cae(contraction=3.0)
    x = torch.rand(8, 1, 8, 8, dtype=torch.float64)
    terms = model.loss(x)
    assert float(terms["contraction"]) == pytest.approx(3.0 * float(model.jacobian_norm(x).mean()), rel=1e-12)


def test_trained_cae_has_a_smaller_jacobian_than_a_plain_ae(digits):
    x_test = torch.from_numpy(digits.x_test.copy())
    common = dict(latent_dim=8)    # default epochs: at 50 the gap is only 2x, at 200 it is 6x
    contractive = train(digits, make_config("contractive_ae", **common),
                        device="cpu", seed=0).model
    # The same one-layer sigmoid encoder, trained without the penalty.
    plain = train(digits, make_config("ae", code_activation="sigmoid", **common), device="cpu", seed=0).model
    cae_norm = float(losses.jacobian_frobenius(contractive.encode, x_test).detach().mean())
    ae_norm = float(losses.jacobian_frobenius(plain.encode, x_test).detach().mean())
    assert cae_norm < 0.3 * ae_norm
