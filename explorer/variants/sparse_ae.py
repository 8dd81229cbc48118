"""The sparse autoencoder: a sigmoid code whose units are pushed to be mostly off.

Ng's CS294A notes ("Sparse autoencoder", 2011, Sec. 3) add beta * sum_j KL(rho || rho_hat_j) to the
reconstruction error, rho_hat_j being unit j's mean activation over the training examples (here the
mini-batch). Their sparse layer is one wide hidden layer; here the sparse layer is the code itself
(latent_dim units) so a 2-unit code still gives a map. Sparse codes of a few units are a tight
bottleneck for a one-layer decoder, so the code sits between MLP layers: x -> hidden -> sigmoid code
-> hidden -> x_hat, which lets the decoder read a lot from which units are on and how strongly.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from explorer import losses
from explorer.config import BackpropConfig, param
from explorer.nn import ACTIVATIONS, hidden_widths, mlp
from explorer.registry import register
from explorer.variants.base import Autoencoder

SPARSE_PAPER_WIDTHS = (512,)  # one hidden layer each side; 'auto' scales it down for small images


@dataclass
class SparseAEConfig(BackpropConfig):
    hidden: str = param("auto", help="Widths of the hidden layers around the sparse code, comma-separated (the "
                                     "decoder mirrors them); 'auto' picks 512 for 28x28 images and fewer units "
                                     "for smaller ones.")
    activation: str = param("elu", choices=tuple(ACTIVATIONS), help="The function each hidden unit applies to "
                                                                    "what it receives.")
    penalty: str = param("kl", choices=("kl", "l1"),
                         help="Sparsity penalty on the code: KL divergence of each unit's mean activation "
                              "from rho (Ng's notes), or the L1 norm of the code.")
    rho: float = param(0.05, min=0.001, max=0.5, help="The average activation each code unit should have over the "
                                                      "images (KL penalty): small values keep most units off for "
                                                      "most images.")
    beta: float = param(3.0, min=0.0, max=100.0, help="Weight of the KL sparsity penalty (Ng's notes use 3).")
    l1_weight: float = param(0.1, min=0.0, max=100.0, help="Weight of the L1 penalty on the code (penalty=l1).")


@register("sparse_ae", config=SparseAEConfig,
          description="Sparse autoencoder: a sigmoid code whose units are mostly off (KL or L1 penalty).",
          paper="Ng, Sparse autoencoder, CS294A lecture notes, Stanford 2011")
class SparseAE(Autoencoder):
    def __init__(self, config: SparseAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        widths = hidden_widths(config.hidden, self.input_dim, paper_widths=SPARSE_PAPER_WIDTHS)
        # (B, D) -> (B, K) in (0, 1): the activations the penalty reads are the code's.
        self.encoder = nn.Sequential(nn.Flatten(), mlp((self.input_dim, *widths, config.latent_dim),
                                                       config.activation, "sigmoid"))
        self.decoder = mlp((config.latent_dim, *widths[::-1], self.input_dim), config.activation)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.encoder(x)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(z)

    def sparsity_penalty(self, code: Tensor) -> Tensor:
        """The weighted penalty on a batch of codes (B, K): beta * sum_j KL(rho || rho_hat_j), or
        l1_weight * sum_j |h_j| averaged over the batch."""
        if self.config.penalty == "kl":
            return self.config.beta * losses.kl_sparsity(self.config.rho, code)
        return self.config.l1_weight * losses.l1_activity(code)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        code = self.encode(x)
        return {"recon": self.reconstruction_term(self.decode_logits(code), x),
                "sparsity": self.sparsity_penalty(code)}
