"""The denoising autoencoder of Vincent, Larochelle, Bengio & Manzagol (ICML 2008).

Training corrupts each input x into x_tilde and asks the network to reconstruct the clean x from
the code of x_tilde: the loss is L(x, g(f(x_tilde))) (Sec. 2.3), never L(x_tilde, ...). The network
is the deep autoencoder of :mod:`explorer.variants.deep_ae`; Vincent et al. stack one-layer DAEs
into such a deep network, and depth helps the "denoise" page repair real damage.
Corruption happens only inside :meth:`loss`; ``encode``, ``decode`` and ``reconstruct`` work on the
input as given, so at evaluation a corrupted image is repaired, a clean one reproduced.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from explorer.config import param
from explorer.noise import corrupt
from explorer.registry import register
from explorer.variants.deep_ae import DeepAE, DeepAEConfig

TRAINING_NOISES = ("masking", "gaussian", "salt_and_pepper")


@dataclass
class DenoisingAEConfig(DeepAEConfig):
    noise: str = param("masking", choices=TRAINING_NOISES,
                       help="Corruption applied to training inputs: masking noise (pixels set to 0, the "
                            "paper's), additive Gaussian, or salt-and-pepper.")
    noise_level: float = param(0.25, min=0.0, max=1.0,
                               help="Fraction of pixels destroyed (masking, salt-and-pepper) or the Gaussian's "
                                    "standard deviation.")


@register("denoising_ae", config=DenoisingAEConfig,
          description="Denoising autoencoder: reconstructs clean inputs from corrupted ones.",
          paper="Vincent, Larochelle, Bengio & Manzagol, Extracting and composing robust features "
                "with denoising autoencoders, ICML 2008")
class DenoisingAE(DeepAE):
    def corrupt(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> the training corruption x_tilde of x (from torch's global generator,
        which the Trainer seeds)."""
        return corrupt(x, self.config.noise, self.config.noise_level)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        logits = self.decode_logits(self.encode(self.corrupt(x)))
        return {"recon": self.reconstruction_term(logits, x)}  # against the clean x
