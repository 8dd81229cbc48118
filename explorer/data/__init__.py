"""Datasets: the named ones (digits, fashion-mnist, mnist) and user data (.npz, image folders or
.zip, IDX), all as :class:`ImageDataset` with float32 (N, C, H, W) images in [0, 1].

Importing this package does no work: no scikit-learn import, no file access, no download.
Every problem a user can cause raises :class:`~explorer.errors.DataError` with a one-line message.
"""
from explorer.data.dataset import DEFAULT_MAX_BYTES, ImageDataset
from explorer.data.download import download
from explorer.data.idx import read_idx, write_idx
from explorer.data.registry import DatasetStatus, dataset_status, list_datasets, load_dataset
from explorer.data.user import load_user_data
from explorer.errors import DataError

__all__ = [
    "DEFAULT_MAX_BYTES", "DataError", "DatasetStatus", "ImageDataset", "dataset_status",
    "download", "list_datasets", "load_dataset", "load_user_data", "read_idx", "write_idx",
]
