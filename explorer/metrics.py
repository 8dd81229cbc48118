"""Test metrics: reconstruction error against PCA, retrieval precision, kNN and probe accuracy."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.losses import squared_error_per_image
from explorer.registry import build, make_config
from explorer.search import CodeIndex
from explorer.tensors import as_tensor

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder


def _batched(model: "Autoencoder", fn, x: np.ndarray, y: np.ndarray | None, batch_size: int) -> np.ndarray:
    device = next(iter(model.state_dict().values())).device
    was_training = model.training
    model.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb = as_tensor(x[start:start + batch_size], device)
            yb = as_tensor(y[start:start + batch_size], device) if y is not None else None
            outputs.append(fn(xb, yb).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)


def encode_all(model: "Autoencoder", x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 2048) -> np.ndarray:
    """(N, C, H, W) -> (N, K) codes, batched, without gradients."""
    return _batched(model, model.encode, x, y, batch_size)


def reconstruct_all(model: "Autoencoder", x: np.ndarray, y: np.ndarray | None = None,
                    batch_size: int = 2048) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H, W) reconstructions."""
    return _batched(model, model.reconstruct, x, y, batch_size)


def sq_err_per_image(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """(N,) squared error summed over pixels in [0, 1]."""
    return squared_error_per_image(torch.from_numpy(np.asarray(x_hat, np.float32)),
                                   torch.from_numpy(np.asarray(x, np.float32))).numpy()


def precision_at_k(index_codes: np.ndarray, index_labels: np.ndarray, query_codes: np.ndarray,
                   query_labels: np.ndarray, k: int = 10, metric: str = "euclidean") -> float:
    """Mean fraction of each query's k nearest indexed items that share its label."""
    neighbours, _ = CodeIndex(metric).fit(index_codes).query(query_codes, k)
    return float((index_labels[neighbours] == query_labels[:, None]).mean())


_PCA_CACHE: dict[tuple[str, int], "Autoencoder"] = {}


def pca_baseline(dataset: "ImageDataset", latent_dim: int) -> "Autoencoder":
    """PCA with ``latent_dim`` components fitted on the train split (cached per dataset and size)."""
    key = (dataset.fingerprint, latent_dim)
    if key not in _PCA_CACHE:
        pca = build("pca", make_config("pca", latent_dim=latent_dim), input_shape=dataset.input_shape)
        pca.fit_data(as_tensor(dataset.x_train), None)
        _PCA_CACHE[key] = pca.eval()
    return _PCA_CACHE[key]


_PIXEL_PRECISION_CACHE: dict[tuple[str, int], float] = {}


def pixel_precision_at_k(dataset: "ImageDataset", k: int = 10) -> float:
    key = (dataset.fingerprint, k)
    if key not in _PIXEL_PRECISION_CACHE:
        _PIXEL_PRECISION_CACHE[key] = precision_at_k(dataset.x_train.reshape(len(dataset.x_train), -1),
                                                     dataset.y_train,
                                                     dataset.x_test.reshape(len(dataset.x_test), -1),
                                                     dataset.y_test, k)
    return _PIXEL_PRECISION_CACHE[key]


def evaluate(model: "Autoencoder", dataset: "ImageDataset") -> dict:
    """The test metrics ``python -m explorer eval --json`` prints (keys are a stable interface)."""
    x_test, y_test = dataset.x_test, dataset.y_test
    cond = model.conditional
    error = float(sq_err_per_image(x_test, reconstruct_all(model, x_test, y_test if cond else None)).mean())
    pca_error = float(sq_err_per_image(x_test, reconstruct_all(pca_baseline(dataset, model.latent_dim),
                                                                x_test)).mean())
    metrics = {"variant": model.variant_name, "dataset": dataset.name, "fingerprint": dataset.fingerprint,
               "latent_dim": model.latent_dim, "n_test": len(x_test),
               "test_sq_err_per_image": error, "pca_sq_err_per_image": pca_error,
               "ratio_to_pca": error / pca_error if pca_error > 0 else float("nan"),
               "precision_at_10": None, "precision_at_10_pixels": None}
    if y_test is not None:
        train_codes = encode_all(model, dataset.x_train, dataset.y_train if cond else None)
        test_codes = encode_all(model, x_test, y_test if cond else None)
        metrics["precision_at_10"] = precision_at_k(train_codes, dataset.y_train, test_codes, y_test, 10)
        metrics["precision_at_10_pixels"] = pixel_precision_at_k(dataset, 10)
    return metrics
