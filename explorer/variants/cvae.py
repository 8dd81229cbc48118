"""The conditional VAE: the VAE with the class label given to both the encoder and the decoder.

This is the labelled-data bound of Kingma et al.'s M2 model (2014, Sec. 3.1.2, eq. 6): q(z|x, y),
p(z) = N(0, I) and p(x|y, z), with the VAE's reconstruction and KL terms. Sohn et al. (2015, Sec. 4)
write the same bound with a learned prior p(z|y) and note it may be made independent of the
condition, as here. With the class given to the decoder, z needs to carry only the style (slant,
thickness), so one z decoded under each label draws that style in every class.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from explorer.errors import ConfigError
from explorer.registry import register
from explorer.variants.vae import VAE, VAEConfig


@dataclass
class CVAEConfig(VAEConfig):
    """The VAE's fields; the label's width comes from the dataset's number of classes."""


@register("cvae", config=CVAEConfig,
          description="Conditional VAE: the one-hot label joins the encoder's and the decoder's inputs; "
                      "generates digits of a chosen class.",
          paper="Sohn, Lee & Yan, Learning Structured Output Representation using Deep Conditional "
                "Generative Models, NeurIPS 2015; Kingma, Rezende, Mohamed & Welling, Semi-supervised "
                "Learning with Deep Generative Models (M2), NeurIPS 2014")
class CVAE(VAE):
    conditional = True
    side_information = "the class label"

    def __init__(self, config: CVAEConfig, input_shape, n_classes=0):
        if n_classes < 2:
            raise ConfigError("cvae is conditioned on class labels: train it on a labelled dataset "
                              "with at least 2 classes")
        super().__init__(config, input_shape, n_classes)

    @property
    def condition_dim(self) -> int:
        return self.n_classes

    def condition(self, inputs: Tensor, y: Tensor | None) -> Tensor:
        """(B, ...) image or code -> (B, D + n_classes) with the one-hot label appended (M2's [x, y])."""
        if y is None:
            raise ConfigError("cvae encodes and decodes given the class: pass the labels y")
        one_hot = F.one_hot(y.long(), self.n_classes).to(inputs.dtype)  # (B, n_classes)
        return torch.cat([inputs.flatten(1), one_hot], dim=1)

    @torch.no_grad()
    def generate(self, labels: Tensor, z: Tensor | None = None) -> Tensor:
        """Images of the classes ``labels`` (B,): z (B, K) from the prior N(0, I) unless given.
        Returns (B, C, H, W) in [0, 1]."""
        if z is None:
            z = torch.randn(len(labels), self.latent_dim, device=labels.device)
        return self.decode(z, labels)
