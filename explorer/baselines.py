"""The PCA baseline, shipped beside the gallery so that a page compares with PCA without fitting it.

Fitting PCA on Fashion-MNIST means a 784 x 784 covariance over 60k training images, seconds on a
small CPU, which a first page visit should not wait for. ``pretrained/<dataset>/pca-baseline/`` is
an ordinary checkpoint (:mod:`explorer.checkpoint`) of the ``pca`` variant fitted on the training
split with as many components as the largest shipped code. PCA with K components for any smaller
K is its first K axes: the axes are the covariance's eigenvectors sorted by eigenvalue, so the top
K of a bigger fit are the top K (signs are fixed per axis, so they agree too).

The folder's name has no ``-<code>`` suffix, so the gallery (:func:`explorer.gallery.list_pretrained`)
does not list it as a model. Regenerate it with :func:`write` after the dataset or the gallery's
code sizes change; a fit whose dataset fingerprint differs is ignored, never used.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.checkpoint import dataset_record, load, save
from explorer.gallery import PRETRAINED_ROOT, list_pretrained
from explorer.memo import BoundedCache
from explorer.data.store import training_images
from explorer.variants.pca import PCA, PCAConfig

if TYPE_CHECKING:
    from explorer.data import ImageDataset

FOLDER = "pca-baseline"


def pca_baseline(dataset: "ImageDataset", latent_dim: int, root: Path = PRETRAINED_ROOT) -> PCA:
    """PCA with ``latent_dim`` components of ``dataset``'s training split, the baseline every table
    and page compares with: the shipped fit's first axes when one was fitted on this very dataset
    with at least that many, else :func:`fit_pca`."""
    shipped = _shipped(dataset.name, dataset.fingerprint, str(root))
    if shipped is None or shipped.latent_dim < latent_dim:
        return fit_pca(dataset, latent_dim)
    return first_axes(shipped, latent_dim)


_FITS: BoundedCache[PCA] = BoundedCache(16)  # (dataset, code size) pairs, a few MB each at most


def fit_pca(dataset: "ImageDataset", latent_dim: int) -> PCA:
    """PCA fitted here on ``dataset``'s training split; the last few fits are kept, shared by every
    caller and session."""
    def fit() -> PCA:
        pca = PCA(PCAConfig(latent_dim=latent_dim), dataset.input_shape)
        pca.fit_data(training_images(dataset.x_train, "cpu"), None)
        return pca.eval()
    return _FITS.get((dataset.fingerprint, latent_dim), fit)


def first_axes(pca: PCA, latent_dim: int) -> PCA:
    """The PCA of ``pca``'s top ``latent_dim`` axes (its mean, first components and variances)."""
    smaller = PCA(PCAConfig(latent_dim=latent_dim), pca.input_shape)
    smaller.mean.copy_(pca.mean)
    smaller.components.copy_(pca.components[:latent_dim])
    smaller.explained_variance.copy_(pca.explained_variance[:latent_dim])
    return smaller.eval()


@functools.lru_cache(maxsize=8)
def _shipped(name: str, fingerprint: str, root: str) -> PCA | None:
    folder = Path(root) / name / FOLDER
    if not folder.is_dir():
        return None
    checkpoint = load(folder)
    if checkpoint.dataset.get("fingerprint") != fingerprint or not isinstance(checkpoint.model, PCA):
        return None
    return checkpoint.model.eval()


def shipped_size(dataset: "ImageDataset", root: Path = PRETRAINED_ROOT) -> int:
    """Components the shipped baseline needs: the largest shipped code (within the input size)."""
    codes = [entry.latent_dim for entry in list_pretrained(dataset.name, root)]
    return min(max(codes, default=1), dataset.x_train[0].size)


def is_current(dataset: "ImageDataset", root: Path = PRETRAINED_ROOT) -> bool:
    """Whether the shipped baseline was fitted on ``dataset`` with the components the gallery needs."""
    shipped = _shipped(dataset.name, dataset.fingerprint, str(root))
    return shipped is not None and shipped.latent_dim == shipped_size(dataset, root)


def write(dataset: "ImageDataset", root: Path = PRETRAINED_ROOT) -> Path:
    """Fit and store ``dataset``'s baseline with as many components as its largest shipped code."""
    latent_dim = shipped_size(dataset, root)
    _shipped.cache_clear()
    return save(fit_pca(dataset, latent_dim), Path(root) / dataset.name / FOLDER, dataset_record(dataset))
