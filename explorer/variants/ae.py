"""The undercomplete autoencoder: one hidden layer that is the code."""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from explorer.config import BackpropConfig, param
from explorer.nn import activation
from explorer.registry import register
from explorer.variants.base import Autoencoder


@dataclass
class AEConfig(BackpropConfig):
    code_activation: str = param("linear", choices=("linear", "sigmoid", "tanh", "relu"),
                                 help="The function applied to the code: linear keeps it as computed, sigmoid, "
                                      "tanh and relu squash it.")


@register("ae", config=AEConfig,
          description="Undercomplete autoencoder: x -> code (one hidden layer) -> x_hat.",
          paper="Rumelhart, Hinton & Williams 1986; Bourlard & Kamp 1988")
class AE(Autoencoder):
    def __init__(self, config: AEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(self.input_dim, config.latent_dim),
                                     activation(config.code_activation))
        self.decoder = nn.Linear(config.latent_dim, self.input_dim)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.encoder(x)  # (B, K)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(z)  # (B, D)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        return {"recon": self.reconstruction_term(self.decode_logits(self.encode(x)), x)}
