"""PCA as an autoencoder: the linear baseline every comparison in the product is measured against."""
from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from explorer import losses
from explorer.config import AutoencoderConfig
from explorer.registry import register
from explorer.tensors import as_tensor
from explorer.variants.base import Autoencoder, Stage

if TYPE_CHECKING:
    from explorer.data import ImageDataset


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

    def fit_data(self, x: Tensor, y: Tensor | None = None) -> None:
        """Eigen-decomposition of the D x D covariance: cheaper than an SVD of (N, D) when N >> D."""
        flat = x.flatten(1).double()
        mean = flat.mean(0)
        centred = flat - mean
        covariance = centred.T @ centred / max(1, flat.shape[0] - 1)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
        k = min(self.latent_dim, self.input_dim)
        top = eigenvectors[:, -k:].flip(1).T  # (k, D)
        # Fix each axis's sign (largest |loading| positive) so refits give identical codes.
        signs = torch.sign(top.gather(1, top.abs().argmax(1, keepdim=True)))
        self.mean.copy_(mean.float())
        self.components.zero_()
        self.components[:k].copy_((top * signs).float())
        self.explained_variance[:k].copy_(eigenvalues.flip(0)[:k].float())

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return (x.flatten(1) - self.mean) @ self.components.T

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return (z @ self.components + self.mean).reshape(-1, *self.input_shape)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        return {"sq_err": losses.squared_error_per_image(self.reconstruct(x), x).mean()}

    def training_stages(self) -> list[Stage]:
        return []


_BASELINES: "collections.OrderedDict[tuple[str, int], PCA]" = collections.OrderedDict()
BASELINES_KEPT = 16  # (dataset, code size) pairs: a few MB each at most (K x D floats)


def pca_baseline(dataset: "ImageDataset", latent_dim: int) -> PCA:
    """PCA with ``latent_dim`` components fitted on ``dataset``'s train split: the baseline every
    table and page compares with. The last few fits are kept, shared by every caller and session."""
    key = (dataset.fingerprint, latent_dim)
    if key in _BASELINES:
        _BASELINES.move_to_end(key)
        return _BASELINES[key]
    pca = PCA(PCAConfig(latent_dim=latent_dim), dataset.input_shape)
    pca.fit_data(as_tensor(dataset.x_train), None)
    _BASELINES[key] = pca.eval()
    while len(_BASELINES) > BASELINES_KEPT:
        _BASELINES.popitem(last=False)
    return pca
