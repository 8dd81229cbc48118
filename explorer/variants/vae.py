"""The variational autoencoder of Kingma & Welling (2014)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explorer import losses
from explorer.config import BackpropConfig, TrainedConfig, inherit, param
from explorer.nn import ACTIVATIONS, hidden_widths, mlp
from explorer.registry import register
from explorer.variants.base import Autoencoder


@dataclass
class VAEConfig(BackpropConfig):
    epochs: int = inherit(TrainedConfig, "epochs", 400)  # the sampled ELBO converges more slowly
    hidden: str = param("auto", help="Widths of the encoder's hidden layers, comma-separated (the decoder mirrors "
                                     "them); 'auto' picks 512 for 28x28 images and fewer units for smaller ones.")
    activation: str = param("elu", choices=tuple(ACTIVATIONS), help="The function each hidden unit applies to "
                                                                    "what it receives.")
    beta: float = param(1.0, min=0.0, max=100.0,
                        help="Weight on the KL term; 1 is the ELBO, >1 is the beta-VAE of Higgins et al. 2017.")


@register("vae", config=VAEConfig,
          description="Variational autoencoder: Gaussian encoder q(z|x), reparameterised sampling, KL to N(0, I).",
          paper="Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014")
class VAE(Autoencoder):
    gaussian_latent = True

    def __init__(self, config: VAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        widths = hidden_widths(config.hidden, self.input_dim, paper_widths=(512,))
        side = self.condition_dim
        self.body = nn.Sequential(nn.Flatten(), mlp((self.input_dim + side, *widths), config.activation,
                                                    config.activation))
        self.mu = nn.Linear(widths[-1], config.latent_dim)
        self.logvar = nn.Linear(widths[-1], config.latent_dim)
        self.decoder = mlp((config.latent_dim + side, *widths[::-1], self.input_dim), config.activation)

    @property
    def condition_dim(self) -> int:
        """Width of what :meth:`condition` appends to the encoder's and decoder's inputs."""
        return 0

    def condition(self, inputs: Tensor, y: Tensor | None) -> Tensor:
        """The encoder's or decoder's input given the label; the unconditional VAE ignores ``y``."""
        return inputs

    def encode_distribution(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(B, C, H, W) -> mean and log-variance of q(z|x), each (B, K)."""
        h = self.body(self.condition(x, y))
        return self.mu(h), self.logvar(h)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.encode_distribution(x, y)[0]

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a sample that gradients flow through (Sec. 2.4)."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(self.condition(z, y))

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        mu, logvar = self.encode_distribution(x, y)
        logits = self.decode_logits(self.reparameterize(mu, logvar), y)
        return {"recon": self.reconstruction_term(logits, x),
                "kl": self.config.beta * losses.gaussian_kl(mu, logvar)}

    def kl_per_dimension(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, K) KL to the prior of each image's posterior in each latent dimension; averaged over
        images, how much information a dimension carries."""
        return losses.gaussian_kl_per_dim(*self.encode_distribution(x, y))
