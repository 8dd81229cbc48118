"""Generation: new images decoded from codes drawn from a model's prior, seeded so a lesson link shows the
same draw again. It applies to the models trained to match a prior over codes: the VAE and CVAE's
N(0, I) (Kingma & Welling 2014, Sec. 3; Sohn et al. 2015 decode z ~ p(z) with the class given), and the
AAE's Gaussian or mixture (Makhzani et al. 2016, Sec. 2: after training, the decoder is a generative
model that maps the imposed prior to the data). The RBM samples by a Gibbs chain instead
(:func:`explorer.boltzmann.gibbs_strip`, the RBM page).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.errors import ConfigError
from explorer.traverse import decode

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder

SAMPLES = 16


def refusal(model: Autoencoder) -> str | None:
    """Why sampling does not apply to ``model`` (one line), or None when it does."""
    if model.conditional or model.gaussian_latent or hasattr(model, "sample_prior"):
        return None
    return (f"`{model.variant_name}` has no prior over its codes, so there is nothing to sample: its codes only "
            "have to reconstruct, and a random code decodes to no particular image. Sampling applies to vae, "
            "aae and cvae (Traverse) and to the RBM's Gibbs chain (RBM page).")


def prior_codes(model: Autoencoder, n: int, seed: int) -> np.ndarray:
    """(n, K) codes drawn from the model's prior (its own ``sample_prior`` where it has one, the AAE's
    mixture included; else N(0, I)), the same for the same seed."""
    with torch.random.fork_rng(devices=[]):   # the global generator is left as it was
        torch.manual_seed(seed)
        sampler = getattr(model, "sample_prior", None)
        z = sampler(n) if sampler is not None else torch.randn(n, model.latent_dim)
    return z.detach().cpu().numpy().astype(np.float32)


@dataclass(frozen=True)
class Samples:
    """A seeded draw: the codes, their images, and the class they were decoded as (conditional models)."""
    codes: np.ndarray        # (n, K)
    images: np.ndarray       # (n, C, H, W)
    seed: int
    label: int | None
    prior: str               # the prior in words

    def caption(self, variant: str, class_name: str | None = None) -> str:
        as_class = f", decoded as class {class_name}" if class_name is not None else ""
        return (f"{len(self.codes)} codes drawn from {variant}'s prior {self.prior} with seed {self.seed}"
                f"{as_class}; no test image was encoded.")


def sample(model: Autoencoder, seed: int, label: int | None = None, n: int = SAMPLES) -> Samples:
    """``n`` images decoded from codes drawn from the prior with ``seed`` (as class ``label`` for a
    conditional model); refuses, by :func:`refusal`, a model with no prior."""
    reason = refusal(model)
    if reason is not None:
        raise ConfigError(reason)
    label = label if model.conditional else None
    codes = prior_codes(model, n, seed)
    prior = "N(0, I)" if model.gaussian_latent else "(a ring of 10 Gaussians)"
    return Samples(codes, decode(model, codes, label), seed, label, prior)
