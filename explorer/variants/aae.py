"""The adversarial autoencoder of Makhzani et al. (2015): a discriminator on the code, not a KL term,
makes the distribution of codes q(z) match the prior p(z).

Each mini-batch runs the paper's two phases (Sec. 2): reconstruction (encoder and decoder minimise
the reconstruction error), then regularisation (the discriminator learns to tell prior samples from
codes, then the encoder, as the GAN's generator, is updated to fool it). The encoder is
deterministic, the first of the paper's three choices of q(z|x) (Sec. 2), so the code is z = f(x).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer.config import BackpropConfig, TrainedConfig, inherit, param
from explorer.nn import ACTIVATIONS, hidden_widths, mlp
from explorer.registry import register
from explorer.variants.base import Autoencoder, Stage, adam, minimise

MIXTURE_COMPONENTS = 10  # one per digit class, as in the paper's Figs. 2b and 4
MIXTURE_RADIUS = 2.0     # the components' centres lie on a circle of this radius


@dataclass
class AAEConfig(BackpropConfig):
    # Each batch makes three updates (reconstruction, discriminator, generator): 100 epochs cost
    # about what the VAE's 400 do, and the codes match N(0, I) by then on digits.
    epochs: int = inherit(TrainedConfig, "epochs", 100)
    hidden: str = param("auto", help="Widths of the encoder's hidden layers, comma-separated (the decoder and the "
                                     "discriminator mirror them); 'auto' picks the paper's 1000,1000 for 28x28 "
                                     "images and fewer units for smaller ones.")
    activation: str = param("elu", choices=tuple(ACTIVATIONS),
                            help="The function each hidden unit applies to what it receives (ELU gave a lower "
                                 "error than the paper's ReLU on digits).")
    prior: str = param("gaussian", choices=("gaussian", "mixture"),
                       help="The shape the codes are pushed to fill: one round Gaussian cloud, or a ring of 10 "
                            "Gaussians in the first two dimensions (the paper's Fig. 2b).")
    # Measured on Fashion-MNIST (code 16, 512 hidden, 5 epochs; test error, final discriminator
    # accuracy): 1e-3 collapsed (31.9, 0.42; 3.5-9.5x PCA in longer runs), 5e-4 trained (12.8, 0.81),
    # 2e-4 reconstructed about as well but let the discriminator win (1.00 after 15 epochs: codes off
    # the prior). On digits (code 8): 1e-3 0.66x PCA-8 at accuracy 0.56, 5e-4 0.49x at 0.61.
    adversarial_lr: float = param(5e-4, min=1e-6, max=10.0,
                                  help="Step size of the updates that push the codes towards the prior (learning "
                                       "rate is the reconstruction's): higher matches the prior closer, but "
                                       "training can become unstable.")


def mixture_centres(latent_dim: int) -> Tensor:
    """(10, K) component means: evenly spaced on a circle in dims (0, 1), or on a line when K = 1."""
    centres = torch.zeros(MIXTURE_COMPONENTS, latent_dim)
    if latent_dim == 1:
        centres[:, 0] = torch.linspace(-MIXTURE_RADIUS, MIXTURE_RADIUS, MIXTURE_COMPONENTS)
    else:
        angles = 2 * math.pi * torch.arange(MIXTURE_COMPONENTS) / MIXTURE_COMPONENTS
        centres[:, 0], centres[:, 1] = MIXTURE_RADIUS * angles.cos(), MIXTURE_RADIUS * angles.sin()
    return centres


def sample_mixture(n: int, latent_dim: int) -> Tensor:
    """(n, K) draws from the ring of Gaussians, equally weighted. The components are isotropic (the
    paper's figures do not give a shape); in the ring's plane their standard deviation is a quarter of
    the distance between neighbouring centres, so the 10 modes stay apart."""
    centres = mixture_centres(latent_dim)
    std = torch.ones(latent_dim)
    std[:2] = (centres[1] - centres[0]).norm() / 4
    return centres[torch.randint(MIXTURE_COMPONENTS, (n,))] + torch.randn(n, latent_dim) * std


@register("aae", config=AAEConfig,
          description="Adversarial autoencoder: a discriminator on the code pushes the codes' distribution "
                      "to the prior (Gaussian or a mixture of 10).",
          paper="Makhzani, Shlens, Jaitly, Goodfellow & Frey, Adversarial Autoencoders, "
                "arXiv:1511.05644, 2015")
class AAE(Autoencoder):
    gaussian_latent = True  # the default prior; an instance with the mixture prior sets False

    def __init__(self, config: AAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        self.gaussian_latent = config.prior == "gaussian"
        widths = hidden_widths(config.hidden, self.input_dim, paper_widths=(1000, 1000))
        # (B, D) -> (B, K): a linear code layer, so the codes can take any value the prior can.
        self.encoder = nn.Sequential(nn.Flatten(), mlp((self.input_dim, *widths, config.latent_dim),
                                                       config.activation))
        self.decoder = mlp((config.latent_dim, *widths[::-1], self.input_dim), config.activation)
        # (B, K) -> (B, 1) logit that z was drawn from the prior rather than produced by the encoder.
        self.discriminator = mlp((config.latent_dim, *widths, 1), config.activation)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.encoder(x)  # (B, K)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(z)  # (B, D)

    def sample_prior(self, n: int) -> Tensor:
        """(n, K) draws from p(z), on the model's device."""
        k = self.latent_dim
        z = torch.randn(n, k) if self.config.prior == "gaussian" else sample_mixture(n, k)
        return z.to(self.decoder[0].weight.device)

    def generator_loss(self, codes: Tensor) -> Tensor:
        """-log D(z) for the encoder's codes (B, K): the non-saturating generator loss of
        Goodfellow et al. 2014 (Sec. 3), which the paper's generator update minimises."""
        logits = self.discriminator(codes).squeeze(1)  # (B,)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def discriminator_loss(self, prior_samples: Tensor, codes: Tensor) -> tuple[Tensor, Tensor]:
        """-log D(z_prior) - log(1 - D(z_code)), batch-averaged, and the fraction of the 2B
        samples the discriminator labels correctly (1/2 when q(z) matches p(z))."""
        real, fake = self.discriminator(prior_samples).squeeze(1), self.discriminator(codes).squeeze(1)
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        accuracy = ((real > 0).float().mean() + (fake < 0).float().mean()) / 2
        return loss, accuracy

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """The terms the encoder minimises: reconstruction, and fooling the current discriminator."""
        z = self.encode(x)
        return {"recon": self.reconstruction_term(self.decode_logits(z), x),
                "generator": self.generator_loss(z)}

    # What a training step computes its objectives through: under torchrun each goes through
    # DistributedDataParallel, which averages the gradients of its phase (explorer.distributed).
    objectives = ("reconstruction_objective", "discriminator_objective", "generator_objective")

    def reconstruction_objective(self, x: Tensor) -> dict[str, Tensor]:
        return {"recon": self.reconstruction_term(self.decode_logits(self.encode(x)), x)}

    def discriminator_objective(self, prior_samples: Tensor, codes: Tensor) -> dict[str, Tensor]:
        loss, accuracy = self.discriminator_loss(prior_samples, codes)
        return {"discriminator": loss, "discriminator_accuracy": accuracy}

    def generator_objective(self, x: Tensor) -> dict[str, Tensor]:
        return {"generator": self.generator_loss(self.encode(x))}

    def training_stages(self) -> list[Stage]:
        autoencoder = [*self.encoder.parameters(), *self.decoder.parameters()]
        # The regularisation phase is a GAN; beta1 = 0.5 (Radford et al. 2016, Sec. 4) damps the
        # oscillation between discriminator and generator that the default 0.9 lets grow.
        adversarial_betas, lr = (0.5, 0.999), self.config.adversarial_lr
        optimizers = {"autoencoder": adam(autoencoder, self.config.lr),
                      "discriminator": adam(self.discriminator.parameters(), lr, adversarial_betas),
                      "generator": adam(self.encoder.parameters(), lr, adversarial_betas)}
        # No rate follows the validation error: lowering the reconstruction's alone hands the codes to the
        # adversarial pair (digits aae-8 ended 1.4x its best validation error when it did).
        return [Stage("train", self.config.epochs, functools.partial(self.two_phase_step, optimizers))]

    def two_phase_step(self, optimizers: dict[str, torch.optim.Optimizer], x: Tensor, y: Tensor | None
                       ) -> dict[str, Tensor]:
        """The paper's reconstruction phase, then its regularisation phase, on one batch (Sec. 2)."""
        terms = minimise(self.reconstruction_objective(x), optimizers["autoencoder"])
        with torch.no_grad():
            codes = self.encode(x)  # (B, K): the discriminator's negatives
        discriminator = self.discriminator_objective(self.sample_prior(len(x)), codes)
        accuracy = discriminator.pop("discriminator_accuracy")
        terms |= minimise(discriminator, optimizers["discriminator"])
        # The generator step also leaves gradients on the discriminator; its own step clears them first.
        terms |= minimise(self.generator_objective(x), optimizers["generator"])
        return {**terms, "discriminator_accuracy": accuracy.detach()}
