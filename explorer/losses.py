"""Every loss term, written once. Each returns a scalar: a sum over pixels or units of one image,
averaged over the batch, so terms of different variants are on the same per-image scale."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

def reconstruction(logits: Tensor, x: Tensor, kind: str) -> Tensor:
    """Negative log-likelihood of ``x`` (B, C, H, W) in [0, 1] under the decoder's ``logits``.

    ``bce``: Bernoulli decoder, cross-entropy summed over pixels (Kingma & Welling 2014, App. C.1).
    ``mse``: Gaussian decoder with fixed variance 1/2, i.e. the squared error of sigmoid(logits).
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - x).square()
    return per_pixel.flatten(1).sum(1).mean()


def squared_error_per_image(x_hat: Tensor, x: Tensor) -> Tensor:
    """(B,) squared error summed over pixels: the figure every table in the product reports."""
    return (x_hat - x).square().flatten(1).sum(1)


def gaussian_kl_per_dim(mu: Tensor, logvar: Tensor) -> Tensor:
    """(B, K) KL(N(mu, exp(logvar)) || N(0, 1)) per latent dimension, in closed form
    (Kingma & Welling 2014, App. B): -1/2 (1 + log s^2 - mu^2 - s^2)."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp())


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL to the standard normal prior, summed over dimensions, averaged over the batch."""
    return gaussian_kl_per_dim(mu, logvar).sum(1).mean()


def kl_sparsity(rho: float, activations: Tensor, eps: float = 1e-6) -> Tensor:
    """Sum over hidden units j of KL(rho || rho_hat_j), rho_hat_j the unit's mean activation over
    the batch (Ng, CS294A lecture notes "Sparse autoencoder", 2011). ``activations``: (B, K) in (0, 1)."""
    rho_hat = activations.mean(0).clamp(eps, 1 - eps)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def l1_activity(activations: Tensor) -> Tensor:
    """Sum over units of |h_j|, averaged over the batch: the L1 alternative to the KL sparsity term."""
    return activations.abs().sum(1).mean()


def sigmoid_jacobian_frobenius(h: Tensor, weight: Tensor) -> Tensor:
    """||dh/dx||_F^2 for h = sigmoid(W x + b), in closed form (Rifai et al. 2011, eq. 8):
    sum_j (h_j (1 - h_j))^2 sum_i W_ji^2. ``h``: (B, K), ``weight``: (K, D). Returns (B,)."""
    return (h * (1 - h)).square() @ weight.square().sum(1)


def jacobian_frobenius(encode: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """||dh/dx||_F^2 per sample by autograd, for any encoder whose samples are independent.

    One backward pass per code unit, each keeping the graph so the penalty itself can be trained.
    ``x``: (B, ...). Returns (B,).
    """
    x = x.detach().requires_grad_(True)
    h = encode(x)  # (B, K)
    total = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
    for k in range(h.shape[1]):
        (grad,) = torch.autograd.grad(h[:, k].sum(), x, create_graph=True)
        total = total + grad.flatten(1).square().sum(1)
    return total


# Plain names of the loss terms variants report and of the Trainer's test error, for charts and tables.
TERM_NAMES = {
    "recon": "reconstruction", "kl": "KL to the prior", "sparsity": "sparsity penalty",
    "contraction": "contraction penalty", "generator": "generator (fool the discriminator)",
    "discriminator": "discriminator", "discriminator_accuracy": "discriminator accuracy",
    "free_energy_gap": "free-energy gap (CD)", "recon_bce": "reconstruction cross-entropy (monitor)",
    "code_recon": "code reconstruction", "recon_code_only": "reconstruction from the code alone (monitor)",
    "sq_err": "squared error", "val_sq_err": "validation error", "test_sq_err": "test error",
}


def term_name(key: str) -> str:
    """The plain name of a loss term (its key with spaces where none is listed)."""
    return TERM_NAMES.get(key, key.replace("_", " "))

