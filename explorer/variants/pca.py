"""PCA as an autoencoder: the linear baseline every comparison in the product is measured against."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from explorer import losses
from explorer.config import AutoencoderConfig
from explorer.projection import principal_axes
from explorer.registry import register
from explorer.variants.base import Autoencoder, Stage

if TYPE_CHECKING:
    from explorer.data.store import TrainingImages


@dataclass
class PCAConfig(AutoencoderConfig):
    pass


@register("pca", config=PCAConfig,
          description="Principal component analysis: the optimal linear code, fitted in closed form.",
          paper="Pearson 1901; the baseline of Hinton & Salakhutdinov, Science 2006")
class PCA(Autoencoder):
    """encode: z = (x - mean) W^T, decode: x_hat = z W + mean, W the top-K principal axes (K, D).

    The decoder is linear and unclamped, as in Hinton & Salakhutdinov's comparison.
    """

    def __init__(self, config, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        self.register_buffer("mean", torch.zeros(self.input_dim))
        self.register_buffer("components", torch.zeros(config.latent_dim, self.input_dim))
        self.register_buffer("explained_variance", torch.zeros(config.latent_dim))

    def fit_data(self, x: TrainingImages, y: Tensor | None = None) -> None:
        """The top-K principal axes of the training images (:func:`explorer.projection.principal_axes`)."""
        flat = x.whole().flatten(1).double().cpu().numpy()
        mean = flat.mean(0)
        scatter, axes = principal_axes(flat - mean, self.latent_dim)
        self.mean.copy_(torch.from_numpy(mean))
        self.components.copy_(torch.from_numpy(axes))
        self.explained_variance.copy_(torch.from_numpy(scatter / max(1, len(flat) - 1)))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return (x.flatten(1) - self.mean) @ self.components.T

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return (z @ self.components + self.mean).reshape(-1, *self.input_shape)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        return {"sq_err": losses.squared_error_per_image(self.reconstruct(x), x).mean()}

    def training_stages(self) -> list[Stage]:
        return []

