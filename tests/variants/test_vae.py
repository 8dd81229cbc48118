"""The VAE's defining pieces: the closed-form KL term and the reparameterisation trick."""
from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from explorer import losses
from explorer.registry import build, make_config


def test_closed_form_kl_matches_monte_carlo_estimate():
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated from 200k draws of each of 3 posteriors (K = 4)."""
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    logvar = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    sigma = (0.5 * logvar).exp()
    q, p = Normal(mu, sigma), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = mu + sigma * torch.randn(200_000, 3, 4, generator=generator, dtype=torch.float64)  # (S, B, K)
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(-1)  # (S,): summed over K, batch-averaged
    estimate, standard_error = log_ratio.mean(), log_ratio.std() / math.sqrt(len(log_ratio))
    closed_form = losses.gaussian_kl(mu, logvar)
    assert abs(closed_form - estimate) < 4 * standard_error
    assert abs(closed_form - estimate) / closed_form < 0.01


def test_reparameterized_samples_have_the_posterior_moments_and_pass_gradients():
    """z = mu + sigma * eps: right mean and spread, and dz/dmu = 1, dz/dlogvar = sigma * eps / 2
    (Kingma & Welling 2014, Sec. 2.4), which is what lets the ELBO train the encoder."""
    torch.manual_seed(0)
    mu = torch.tensor([[-1.0, 0.5, 2.0]]).repeat(100_000, 1).requires_grad_(True)
    logvar = torch.tensor([[0.0, -2.0, 1.0]]).repeat(100_000, 1).requires_grad_(True)
    vae = build("vae", make_config("vae", latent_dim=3), input_shape=(1, 8, 8))
    z = vae.reparameterize(mu, logvar)
    sigma = torch.tensor([1.0, math.exp(-1.0), math.exp(0.5)])
    torch.testing.assert_close(z.mean(0), mu[0].detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), sigma, atol=0.01, rtol=0.01)
    z.sum().backward()
    eps = (z - mu) / sigma
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, (0.5 * sigma * eps).detach())


def test_kl_term_is_beta_times_the_sum_of_kl_per_dimension():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 8, 8)
    vae = build("vae", make_config("vae", latent_dim=5, beta=4.0), input_shape=(1, 8, 8))
    per_dimension = vae.kl_per_dimension(x).mean(0)
    assert per_dimension.shape == (5,) and bool((per_dimension >= 0).all())
    torch.testing.assert_close(vae.loss(x)["kl"], 4.0 * per_dimension.sum())


def test_unconditional_vae_ignores_labels_and_decodes_prior_samples_to_images():
    torch.manual_seed(0)
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 3
    vae = build("vae", make_config("vae", latent_dim=2), input_shape=(1, 28, 28), n_classes=3)
    torch.testing.assert_close(vae.encode(x, y), vae.encode(x))
    images = vae.decode(torch.randn(8, 2))
    assert images.shape == (8, 1, 28, 28) and bool(((images >= 0) & (images <= 1)).all())
