"""The contractive autoencoder of Rifai, Vincent, Muller, Glorot & Bengio (ICML 2011).

The loss adds lambda * ||J_f(x)||_F^2, the squared Frobenius norm of the encoder's Jacobian
dh/dx (eq. 2), which makes the code locally insensitive to most directions of input space while
the reconstruction keeps it sensitive along the data. For the paper's encoder, one sigmoid layer
h = sigmoid(W x + b), the norm has the closed form sum_j (h_j (1 - h_j))^2 ||W_j||^2 (eq. 8), as
cheap as a forward pass. A deeper encoder (an MLP before the sigmoid code) is penalised through
autograd, one backward pass per code unit.

The penalty constrains the encoder only, so the decoder is free: here an MLP (the ``hidden`` widths
mirrored), where the paper's is one tied layer. With 8 sigmoid units and a one-layer decoder the
model reconstructs digits worse than PCA-8; the MLP decoder brings it well under.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from explorer import losses
from explorer.config import BackpropConfig, param
from explorer.nn import ACTIVATIONS, hidden_widths, mlp
from explorer.registry import register
from explorer.variants.base import Autoencoder


@dataclass
class ContractiveAEConfig(BackpropConfig):
    encoder: str = param("sigmoid", choices=("sigmoid", "deep"),
                         help="'sigmoid' is the paper's single sigmoid layer with an exact penalty; 'deep' puts "
                              "hidden layers before it and computes the penalty with autograd (about code-size "
                              "times slower).")
    hidden: str = param("auto", help="Widths of the decoder's hidden layers, comma-separated (a 'deep' encoder "
                                     "mirrors them); 'auto' picks 512 for 28x28 images and fewer units for "
                                     "smaller ones.")
    activation: str = param("elu", choices=tuple(ACTIVATIONS), help="The function each hidden unit applies to "
                                                                    "what it receives.")
    contraction: float = param(0.1, min=0.0, max=100.0,
                               help="How strongly the code is kept from changing when the input changes a little "
                                    "(the weight of the encoder's squared Jacobian norm).")


@register("contractive_ae", config=ContractiveAEConfig,
          description="Contractive autoencoder: penalises the encoder's Jacobian, a code robust to "
                      "small input changes.",
          paper="Rifai, Vincent, Muller, Glorot & Bengio, Contractive auto-encoders: explicit invariance "
                "during feature extraction, ICML 2011")
class ContractiveAE(Autoencoder):
    def __init__(self, config: ContractiveAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        widths = hidden_widths(config.hidden, self.input_dim, paper_widths=(512,))
        encoder_widths = widths if config.encoder == "deep" else ()
        # (B, C, H, W) -> (B, D) or (B, widths[-1]): what the sigmoid code layer reads.
        self.body = nn.Sequential(nn.Flatten(), mlp((self.input_dim, *encoder_widths), config.activation,
                                                    config.activation))
        self.code_layer = nn.Linear(encoder_widths[-1] if encoder_widths else self.input_dim, config.latent_dim)
        self.decoder = mlp((config.latent_dim, *widths[::-1], self.input_dim), config.activation)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.code_layer(self.body(x)).sigmoid()  # (B, K) in (0, 1)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(z)

    def jacobian_norm(self, x: Tensor, code: Tensor | None = None) -> Tensor:
        """(B,) ||dh/dx||_F^2 for each image: closed form for the one-layer encoder (``code`` may be
        passed to reuse the forward pass), autograd for a deep one."""
        if self.config.encoder == "sigmoid":
            code = self.encode(x) if code is None else code
            return losses.sigmoid_jacobian_frobenius(code, self.code_layer.weight)
        return losses.jacobian_frobenius(self.encode, x)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        code = self.encode(x)
        return {"recon": self.reconstruction_term(self.decode_logits(code), x),
                "contraction": self.config.contraction * self.jacobian_norm(x, code).mean()}
