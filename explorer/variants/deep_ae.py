"""The deep autoencoder of Hinton & Salakhutdinov (2006), trained from random weights by backprop."""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from explorer.config import BackpropConfig, param
from explorer.nn import ACTIVATIONS, hidden_widths, mlp
from explorer.registry import register
from explorer.variants.base import Autoencoder


@dataclass
class DeepAEConfig(BackpropConfig):
    hidden: str = param("auto", help="Widths of the encoder's hidden layers, comma-separated (the decoder mirrors "
                                     "them); 'auto' picks the paper's 1000,500,250 for 28x28 images and fewer "
                                     "units for smaller ones.")
    activation: str = param("elu", choices=tuple(ACTIVATIONS),
                            help="The function each hidden unit applies to what it receives (the paper's logistic "
                                 "units need RBM pretraining, see dbn_ae; ELU trains from random weights).")


@register("deep_ae", config=DeepAEConfig,
          description="Deep autoencoder: an encoder stack, a linear code layer and a mirrored decoder.",
          paper="Hinton & Salakhutdinov, Reducing the dimensionality of data with neural networks, Science 2006")
class DeepAE(Autoencoder):
    def __init__(self, config: DeepAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        widths = hidden_widths(config.hidden, self.input_dim)
        # (B, D) -> (B, K) with a linear code layer, as in the paper's 30-d code.
        self.encoder = nn.Sequential(nn.Flatten(), mlp((self.input_dim, *widths, config.latent_dim),
                                                       config.activation))
        # (B, K) -> (B, D) logits; the output nonlinearity (sigmoid) is applied by decode.
        self.decoder = mlp((config.latent_dim, *widths[::-1], self.input_dim), config.activation)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.encoder(x)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(z)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        return {"recon": self.reconstruction_term(self.decode_logits(self.encode(x)), x)}
