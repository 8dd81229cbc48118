"""Generation without the page: seeded prior draws for the VAE, AAE (Gaussian and mixture) and CVAE,
and a one-line reason for every other variant (the page: tests/ui/test_generation_page.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import generate
from explorer.errors import ConfigError
from explorer.registry import build, list_variants, make_config
from explorer.traverse import decode

SAMPLING = {"vae", "aae", "cvae"}


def small(variant: str, **config):
    torch.manual_seed(0)
    return build(variant, make_config(variant, latent_dim=4, **config), input_shape=(1, 8, 8),
                 n_classes=10 if variant == "cvae" else 0).eval()


@pytest.mark.parametrize("variant", sorted(SAMPLING))
def test_a_seed_draws_the_same_images_and_another_seed_others(variant):
    model = small(variant)
    first, again, other = (generate.sample(model, seed, label=3) for seed in (5, 5, 6))
    assert first.images.shape == (generate.SAMPLES, 1, 8, 8) and first.codes.shape == (generate.SAMPLES, 4)
    np.testing.assert_array_equal(first.codes, again.codes)
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.allclose(first.codes, other.codes)
    np.testing.assert_allclose(first.images, decode(model, first.codes, first.label), atol=1e-6)
    assert first.label == (3 if variant == "cvae" else None)


def test_the_global_generator_is_left_alone():
    model = small("vae")
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    generate.sample(model, 9)
    assert torch.equal(torch.rand(3), expected)


def test_gaussian_draws_have_the_priors_moments():
    codes = generate.prior_codes(small("vae"), 20_000, 0)
    assert abs(codes.mean()) < 0.02 and abs(codes.std() - 1) < 0.02


def test_the_aae_mixture_prior_is_drawn_from_its_ring():
    model = small("aae", prior="mixture")
    codes = generate.prior_codes(model, 4000, 0)
    torch.manual_seed(0)
    expected = model.sample_prior(4000).numpy()
    np.testing.assert_array_equal(codes, expected)
    assert "ring of 10 Gaussians" in generate.sample(model, 0).caption("aae")


def test_the_cvae_draws_the_class_asked():
    model = small("cvae")
    drawn = generate.sample(model, 2, label=7)
    np.testing.assert_allclose(drawn.images, model.decode_array(drawn.codes, np.full(generate.SAMPLES, 7)), atol=1e-6)
    assert "decoded as class seven" in drawn.caption("cvae", "seven") and "seed 2" in drawn.caption("cvae")


@pytest.mark.parametrize("spec", [s for s in list_variants() if s.name not in SAMPLING], ids=lambda s: s.name)
def test_every_other_variant_says_why_in_one_line(spec):
    model = build(spec.name, make_config(spec.name, latent_dim=2), input_shape=(1, 8, 8))
    reason = generate.refusal(model)
    assert reason is not None and "\n" not in reason and f"`{spec.name}` has no prior" in reason
    with pytest.raises(ConfigError, match="no prior"):
        generate.sample(model, 0)
