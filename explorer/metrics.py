"""Test metrics: reconstruction error against PCA, retrieval precision, kNN and probe accuracy."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.baselines import pca_baseline
from explorer.data.dataset import validation_split
from explorer.memo import BoundedCache
from explorer.search import CodeIndex, label_matches

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder


def precision_at_k(index_codes: np.ndarray, index_labels: np.ndarray, query_codes: np.ndarray,
                   query_labels: np.ndarray, k: int = 10, metric: str = "euclidean") -> float:
    """Mean fraction of each query's k nearest indexed items that share its label."""
    neighbours, _ = CodeIndex(metric).fit(index_codes).query(query_codes, k)
    return float(label_matches(neighbours, index_labels, query_labels).mean())


# The same for every model of a dataset, and a full pixel search (10k x 60k x 784 on Fashion-MNIST):
# computed once per dataset and k, and kept.
_PIXEL_PRECISION: BoundedCache[float] = BoundedCache(8)


def pixel_precision_at_k(dataset: "ImageDataset", k: int = 10) -> float:
    """:func:`precision_at_k` of the raw pixels, test images against the training images."""
    return _PIXEL_PRECISION.get((dataset.fingerprint, k), lambda: precision_at_k(
        dataset.x_train.reshape(len(dataset.x_train), -1), dataset.y_train,
        dataset.x_test.reshape(len(dataset.x_test), -1), dataset.y_test, k))


def errors_against_pca(model: "Autoencoder", dataset: "ImageDataset") -> dict:
    """Test squared error per image of ``model`` and of PCA with as many components."""
    error = float(model.reconstruction_errors(dataset.x_test, dataset.y_test).mean())
    pca_error = float(pca_baseline(dataset, model.latent_dim).reconstruction_errors(dataset.x_test).mean())
    return {"test_sq_err_per_image": error, "pca_sq_err_per_image": pca_error,
            "ratio_to_pca": error / pca_error if pca_error > 0 else float("nan")}


def validation_error(model: "Autoencoder", dataset: "ImageDataset", seed: int) -> float | None:
    """Mean squared error per image on the validation rows a Trainer seeded with ``seed`` held out of
    the training split (None when it held none out)."""
    _, rows = validation_split(len(dataset.x_train), seed)
    if not len(rows):
        return None
    y = dataset.y_train[rows] if dataset.y_train is not None else None
    return float(model.reconstruction_errors(dataset.x_train[rows], y).mean())


def evaluate(model: "Autoencoder", dataset: "ImageDataset", seed: int = 0) -> dict:
    """The test metrics ``python -m explorer eval --json`` prints (keys are a stable interface), with the
    validation error beside the test error (the rows held out by a Trainer seeded with ``seed``)."""
    x_test, y_test = dataset.x_test, dataset.y_test
    metrics = {"variant": model.variant_name, "dataset": dataset.name, "fingerprint": dataset.fingerprint,
               "latent_dim": model.latent_dim, "side_information": model.side_information or None,
               "n_test": len(x_test), **errors_against_pca(model, dataset),
               "val_sq_err_per_image": validation_error(model, dataset, seed),
               "precision_at_10": None, "precision_at_10_pixels": None}
    if y_test is not None:
        train_codes = model.encode_array(dataset.x_train, dataset.y_train)
        test_codes = model.encode_array(x_test, y_test)
        metrics["precision_at_10"] = precision_at_k(train_codes, dataset.y_train, test_codes, y_test, 10)
        metrics["precision_at_10_pixels"] = pixel_precision_at_k(dataset, 10)
    return metrics


# --- image quality: PSNR and SSIM, per image ---------------------------------------------------

SSIM_K1, SSIM_K2 = 0.01, 0.03  # Wang et al. 2004, Sec. III-C
SSIM_GAUSSIAN_SIZE, SSIM_GAUSSIAN_SIGMA = 11, 1.5
SSIM_UNIFORM_SIZE = 7


def psnr(x: np.ndarray, x_hat: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """(N,) peak signal-to-noise ratio in dB, 10 log10(data_range^2 / MSE), the MSE averaged over
    each image's pixels; inf where an image is reproduced exactly. ``x``, ``x_hat``: (N, ...)."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    mse = np.square(x - x_hat).reshape(len(x), -1).mean(1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range ** 2 / mse)


def ssim_window(height: int, width: int) -> tuple[torch.Tensor, float]:
    """The (k, k) SSIM weights (summing to 1) for images of ``height`` x ``width``, and the factor
    applied to the windowed (co)variances.

    Images at least 11 pixels on a side get Wang et al.'s 11x11 Gaussian of sigma 1.5 with the
    population (co)variance, as skimage's ``structural_similarity(gaussian_weights=True,
    use_sample_covariance=False)``. Smaller ones (8x8 digits) get skimage's default 7x7 uniform
    window with the sample (co)variance, factor k^2 / (k^2 - 1); below 7 pixels, the largest odd
    window that fits.
    """
    if min(height, width) >= SSIM_GAUSSIAN_SIZE:
        offsets = torch.arange(SSIM_GAUSSIAN_SIZE, dtype=torch.float64) - SSIM_GAUSSIAN_SIZE // 2
        profile = torch.exp(-offsets.square() / (2 * SSIM_GAUSSIAN_SIGMA ** 2))
        weights = torch.outer(profile, profile)
        return weights / weights.sum(), 1.0
    fits = min(height, width)
    size = min(SSIM_UNIFORM_SIZE, fits if fits % 2 else fits - 1)
    n_window = size * size
    return torch.full((size, size), 1.0 / n_window, dtype=torch.float64), n_window / max(1, n_window - 1)


def ssim(x: np.ndarray, x_hat: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """(N,) mean structural similarity of each image pair (Wang, Bovik, Sheikh & Simoncelli, Image
    quality assessment: from error visibility to structural similarity, IEEE TIP 2004, eq. 13):

        SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),

    C1 = (0.01 L)^2, C2 = (0.03 L)^2, with local statistics weighted by :func:`ssim_window` and
    averaged over every position where the window fits inside the image and over channels.
    ``x``, ``x_hat``: (N, C, H, W) with values in a range of width ``data_range`` (L).
    """
    x = torch.as_tensor(np.asarray(x, np.float64))
    x_hat = torch.as_tensor(np.asarray(x_hat, np.float64))
    n, c, h, w = x.shape
    weights, covariance_factor = ssim_window(h, w)
    # Both windows are outer products of 1-D profiles, so filter columns then rows: 2k instead of k^2
    # multiplications per pixel (float64 2-D convolutions are slow on CPUs: 0.7 s for 256 28x28 images).
    k = weights.shape[0]
    down = weights.sum(1).reshape(k, 1).expand(c, 1, k, 1)    # (C, 1, k, 1): each channel filtered alone
    across = weights.sum(0).reshape(1, k).expand(c, 1, 1, k)  # (C, 1, 1, k)

    def local_mean(image: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, C, H-k+1, W-k+1)
        return torch.nn.functional.conv2d(torch.nn.functional.conv2d(image, down, groups=c), across, groups=c)

    mu_x, mu_y = local_mean(x), local_mean(x_hat)
    var_x = covariance_factor * (local_mean(x * x) - mu_x.square())
    var_y = covariance_factor * (local_mean(x_hat * x_hat) - mu_y.square())
    cov_xy = covariance_factor * (local_mean(x * x_hat) - mu_x * mu_y)
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    similarity = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
                  / ((mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2)))
    return similarity.flatten(1).mean(1).numpy()


def knn_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                 test_labels: np.ndarray, k: int = 5) -> float:
    """Accuracy of a k-NN majority vote (Euclidean, ties to the nearest) on codes, train -> test."""
    neighbours, _ = CodeIndex().fit(train_codes).query(test_codes, k)
    votes = train_labels[neighbours]  # (Q, k), nearest first
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    counts = np.zeros((len(votes), n_classes))
    np.add.at(counts, (np.arange(len(votes))[:, None], votes), 1.0 + 1e-3 / (1 + np.arange(k)))
    return float((counts.argmax(1) == test_labels).mean())


def linear_probe_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                          test_labels: np.ndarray, seed: int = 0) -> float:
    """Test accuracy of multinomial logistic regression on standardised codes (a linear probe)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    probe.fit(train_codes, train_labels)
    return float(probe.score(test_codes, test_labels))


# --- 2-D map quality: how well a map keeps the labels and the neighbourhoods of its inputs ------

MAP_QUALITY_POINTS = 2000  # maps are scored on a seeded subsample of at most this many points


def map_subsample(n: int, max_points: int = MAP_QUALITY_POINTS, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded subsample of ``n`` points; all of them when ``n <= max_points``."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def knn_accuracy_2d(points: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 5,
                    max_points: int = MAP_QUALITY_POINTS) -> float:
    """``folds``-fold cross-validated k-NN label accuracy on a map (N, 2): each point is classified
    by :func:`knn_accuracy`'s vote among its k nearest points in the other folds (seeded folds, on
    at most ``max_points`` points); the fraction classified correctly."""
    keep = map_subsample(len(points), max_points)
    points, labels = np.asarray(points, np.float32)[keep], np.asarray(labels)[keep]
    fold_of = np.random.default_rng(0).permutation(len(points)) % folds
    correct = 0.0
    for fold in range(folds):
        test, train = fold_of == fold, fold_of != fold
        if test.any() and train.sum() >= k:
            correct += knn_accuracy(points[train], labels[train], points[test], labels[test], k) * test.sum()
    return correct / len(points)


def _pairwise_distances(points: np.ndarray, dtype=np.float64) -> np.ndarray:
    """(N, D) -> (N, N) Euclidean distances (one matmul, clipped at 0 for rounding)."""
    points = np.asarray(points, dtype)
    squared = np.einsum("ij,ij->i", points, points)
    return np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2.0 * points @ points.T, 0.0))


# The two map scores below are scikit-learn's formulas written out in numpy (tests/test_projection.py
# checks them against sklearn.manifold.trustworthiness and sklearn.metrics.silhouette_score): the
# Latent page scores every map on its first view, and importing sklearn.metrics was a large part of
# the time from `streamlit run` to the first drawn map (benchmarks/RESULTS.md, cold start).

def trustworthiness_2d(inputs: np.ndarray, points: np.ndarray, k: int = 5,
                       max_points: int = MAP_QUALITY_POINTS) -> float:
    """Trustworthiness (Venna & Kaski 2001) of the map ``points`` (N, 2) of ``inputs`` (N, D): 1 when
    every point's k map neighbours are among its k input neighbours, lower the further down its input
    ranking they are: T = 1 - 2 / (n k (2n - 3k - 1)) * sum over map neighbours j of i of
    max(0, rank_i(j) - k). On at most ``max_points`` points."""
    keep = map_subsample(len(points), max_points)
    inputs = np.asarray(inputs, np.float32).reshape(len(inputs), -1)[keep]
    n = len(keep)
    # float32: a quarter of float64's time for 2000 Fashion-MNIST pixel vectors (0.05 s against 0.2 s);
    # a rank it flips between two near-equal distances moves T by 2 / (n k (2n - 3k - 1)), 5e-8 at n = 2000
    input_distances = _pairwise_distances(inputs, np.float32)           # (n, n)
    map_distances = _pairwise_distances(np.asarray(points)[keep])
    np.fill_diagonal(input_distances, np.inf)
    np.fill_diagonal(map_distances, np.inf)
    map_neighbours = np.argpartition(map_distances, k - 1, axis=1)[:, :k]  # (n, k), i's k nearest on the map
    # rank_i(j) = 1 + how many points are nearer to i than j in the inputs: counted for the k map
    # neighbours only, (n, k, n) comparisons instead of sorting every row as sklearn does.
    reach = np.take_along_axis(input_distances, map_neighbours, axis=1)   # (n, k)
    rank = (input_distances[:, None, :] < reach[:, :, None]).sum(-1) + 1  # (n, k)
    excess = rank - k
    return float(1.0 - excess[excess > 0].sum() * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))


def silhouette_2d(points: np.ndarray, labels: np.ndarray, max_points: int = MAP_QUALITY_POINTS) -> float:
    """Mean silhouette of the classes on the map (Rousseeuw 1987), in [-1, 1]: per point
    (b - a) / max(a, b), a its mean distance to its own class, b to the nearest other class, 0 for a
    class of one; NaN with fewer than two classes. On at most ``max_points`` points."""
    keep = map_subsample(len(points), max_points)
    classes, own = np.unique(np.asarray(labels)[keep], return_inverse=True)
    if not 2 <= len(classes) < len(keep):
        return float("nan")
    members = np.eye(len(classes))[own]                                 # (n, C) one-hot
    sums = _pairwise_distances(np.asarray(points)[keep]) @ members       # (n, C) distances summed per class
    sizes = members.sum(0)                                               # (C,)
    rows = np.arange(len(keep))
    a = sums[rows, own] / np.maximum(sizes[own] - 1, 1)
    means = sums / sizes
    means[rows, own] = np.inf
    b = means.min(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.nan_to_num((b - a) / np.maximum(a, b))
    scores[sizes[own] == 1] = 0.0
    return float(scores.mean())


def errors_notice(errors: dict, variant: str, latent_dim: int) -> str:
    """The Model page's "What to notice", from :func:`errors_against_pca` as the sidebar shows it."""
    error, pca, ratio = errors["test_sq_err_per_image"], errors["pca_sq_err_per_image"], errors["ratio_to_pca"]
    verdict = ("beats the best linear code of that size" if ratio < 1 else
               "does not beat the best linear code of that size")
    return (f"`{variant}` reconstructs a test image with a squared error of {error:.2f}, {ratio:.2f}x PCA's "
            f"{pca:.2f} with the same {latent_dim} numbers per image: it {verdict}. The code is all the decoder "
            "sees, so the error says how much of an image those numbers keep.")
