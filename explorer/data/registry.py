"""Named datasets: ``@register_dataset`` on a loader, where each one is looked for, its status,
and loading through an in-process cache.

Fashion-MNIST and MNIST are the four official IDX files (:data:`IDX_FILES`, raw or ``.gz``).
A directory counts only when it holds all four. They are looked for, in this order, in:

1. the explicit directory: the ``data_dir`` argument, else ``$EXPLORER_DATA_DIR``; first
   ``<dir>/<name>/``, then ``<dir>`` itself. Both datasets use the same file names, so a folder
   holding the files directly is taken for whichever name is asked for: keep them in
   ``<dir>/mnist/`` and ``<dir>/fashion-mnist/`` when you have both;
2. ``/usr/share/datasets/<name>/``, where ``apt-get install -y dataset-fashion-mnist`` puts them;
3. the user cache ``$XDG_CACHE_HOME/autoencoder-explorer/<name>/`` (``~/.cache`` by default),
   where :func:`explorer.data.download` writes them.

A missing dataset is never fetched implicitly; :class:`DatasetStatus` says how to get it.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from explorer.data.dataset import (DEFAULT_MAX_BYTES, ImageDataset, make_split_dataset,
                                   unit_images)
from explorer.data.idx import read_idx_pair
from explorer.data.user import load_user_data
from explorer.errors import DataError

DATA_DIR_ENV = "EXPLORER_DATA_DIR"
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
CACHE_DIR_NAME = "autoencoder-explorer"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}  # no Debian package ships MNIST
DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

DataDir = str | Path | None


@dataclass(frozen=True)
class DatasetStatus:
    """Whether a named dataset can be loaded now; ``hint`` says how to get it when it cannot."""

    name: str
    available: bool
    location: str | None
    hint: str


@dataclass(frozen=True)
class NamedDataset:
    name: str
    description: str
    locate: Callable[[DataDir], str | None]  # data_dir -> where it is, or None
    hint: Callable[[DataDir], str]  # data_dir -> one line on how to get it
    load: Callable[[str], ImageDataset]  # location -> dataset


_DATASETS: dict[str, NamedDataset] = {}


def register_dataset(name: str, *, description: str, locate: Callable[[DataDir], str | None],
                     hint: Callable[[DataDir], str]):
    """Function decorator that registers ``load(location) -> ImageDataset`` under ``name``."""
    def decorate(load: Callable[[str], ImageDataset]):
        if name in _DATASETS and _DATASETS[name].load is not load:
            raise ValueError(f"dataset {name!r} is registered twice")
        _DATASETS[name] = NamedDataset(name, description, locate, hint, load)
        return load
    return decorate


def list_datasets(data_dir: DataDir = None) -> list[DatasetStatus]:
    """The status of every registered named dataset, in registration order."""
    return [dataset_status(name, data_dir) for name in _DATASETS]


def dataset_status(name: str, data_dir: DataDir = None) -> DatasetStatus:
    spec = _get(name)
    location = spec.locate(data_dir)
    if location is not None:
        return DatasetStatus(name, True, location, "")
    return DatasetStatus(name, False, None, spec.hint(data_dir))


def load_dataset(name_or_path: str | Path, data_dir: DataDir = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> ImageDataset:
    """A registered dataset by name, else user data from a path (see :func:`load_user_data`).

    A ``str`` that is a registered name always means the named dataset, even if a file of that
    name exists; pass a :class:`~pathlib.Path` to mean the file. Named datasets are cached per
    process (keyed on name and location) and ``max_bytes`` applies to user data only.
    """
    if isinstance(name_or_path, str) and name_or_path in _DATASETS:
        status = dataset_status(name_or_path, data_dir)
        if not status.available:
            raise DataError(f"dataset {name_or_path!r} is not available: {status.hint}")
        return _load_named(name_or_path, status.location)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return load_user_data(path, max_bytes=max_bytes)
    raise DataError(f"unknown dataset {str(name_or_path)!r}: not one of {_known_names()} and not "
                    "an existing .npz, image folder, .zip or IDX file")


@functools.cache
def _load_named(name: str, location: str) -> ImageDataset:
    # Fashion-MNIST takes about a second to decompress and scale; pages ask for it often.
    return _DATASETS[name].load(location)


def _get(name: str) -> NamedDataset:
    try:
        return _DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; choose one of: {_known_names()}") from None


def _known_names() -> str:
    return ", ".join(_DATASETS)


# --- where the IDX datasets live --------------------------------------------------------------

def user_cache_dir(name: str | None = None) -> Path:
    """``$XDG_CACHE_HOME/autoencoder-explorer[/<name>]``, read at call time."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    root = Path(base) / CACHE_DIR_NAME
    return root / name if name else root


def idx_search_dirs(name: str, data_dir: DataDir = None) -> list[Path]:
    """The directories searched for ``name``'s IDX files, first match wins."""
    explicit = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV)
    dirs = []
    if explicit:
        root = Path(explicit).expanduser()
        dirs += [root / name, root]
    return dirs + [SYSTEM_DATA_DIR / name, user_cache_dir(name)]


def find_idx_file(directory: Path, base: str) -> Path | None:
    """``<directory>/<base>``, else ``<base>.gz``; raw first because it reads faster."""
    for candidate in (directory / base, directory / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_idx_dir(name: str, data_dir: DataDir = None) -> str | None:
    for directory in idx_search_dirs(name, data_dir):
        if all(find_idx_file(directory, base) for base in IDX_FILES):
            return str(directory.resolve())
    return None


def how_to_install(name: str) -> str:
    """The ways to get ``name``'s IDX files without :func:`download`, as one clause."""
    package = DEBIAN_PACKAGES.get(name)
    debian = f"install it with `apt-get install -y {package}`, or " if package else ""
    return (f"{debian}put the four IDX files ({', '.join(IDX_FILES)}, raw or .gz) in a folder "
            f"and pass --data-dir (or set {DATA_DIR_ENV}; in the app, name it under Data folder in "
            "the sidebar)")


def _idx_hint(name: str, data_dir: DataDir) -> str:
    searched = ", ".join(str(d) for d in idx_search_dirs(name, data_dir))
    return (f"not found in {searched}; {how_to_install(name)}, or run "
            f"`python -m explorer download {name}`")


def load_idx_dataset(name: str, location: str, class_names: tuple[str, ...]) -> ImageDataset:
    """The official train/t10k split from a directory holding the four IDX files."""
    directory = Path(location)
    arrays = []
    for split in ("train", "t10k"):
        images_path = find_idx_file(directory, f"{split}-images-idx3-ubyte")
        labels_path = find_idx_file(directory, f"{split}-labels-idx1-ubyte")
        if images_path is None or labels_path is None:
            raise DataError(f"{directory}: the {split} images or labels IDX file is missing; "
                            f"{how_to_install(name)}")
        images, labels = read_idx_pair(images_path, labels_path, max_bytes=None)  # trusted files
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{images_path}: expected uint8 images (N, H, W), found "
                            f"{images.dtype} {images.shape}")
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(class_names):
            raise DataError(f"{labels_path}: labels span {labels.min()}..{labels.max()} but "
                            f"{name} has classes 0..{len(class_names) - 1}")
        arrays += [unit_images(images), labels]
    return ImageDataset(name, *arrays, class_names=class_names, source=str(directory))


# --- the named datasets ----------------------------------------------------------------------

def _locate_sklearn(data_dir: DataDir) -> str | None:
    """scikit-learn's bundled ``digits.csv.gz``, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    return str(path) if path.is_file() else None


@register_dataset("digits", description="1797 handwritten digits, 8x8 grey, bundled with "
                  "scikit-learn; fixed seeded 80/20 split (1437 train / 360 test)",
                  locate=_locate_sklearn,
                  hint=lambda data_dir: "scikit-learn is not installed; run `pip install "
                  "scikit-learn`")
def load_digits(location: str) -> ImageDataset:
    """sklearn's digits (values 0..16, divided by 16) as (N, 1, 8, 8); the split is
    :func:`~explorer.data.dataset.split_indices` with seed 0.

    The CSV is read as ``sklearn.datasets.load_digits`` reads it (64 pixel columns, then the label),
    without importing ``sklearn.datasets``, which pulls in scipy and took 1 s of the app's cold start."""
    with gzip.open(location, "rt") as rows:
        table = np.loadtxt(rows, delimiter=",")  # (1797, 65)
    images = (table[:, :-1].reshape(-1, 8, 8) / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    return make_split_dataset("digits", images, table[:, -1].astype(np.int64), DIGIT_CLASSES,
                              source="scikit-learn", seed=0)


@register_dataset("fashion-mnist", description="Zalando's 70000 clothing images, 28x28 grey, "
                  "10 classes; official 60000/10000 split",
                  locate=functools.partial(find_idx_dir, "fashion-mnist"),
                  hint=functools.partial(_idx_hint, "fashion-mnist"))
def load_fashion_mnist(location: str) -> ImageDataset:
    return load_idx_dataset("fashion-mnist", location, FASHION_CLASSES)


@register_dataset("mnist", description="LeCun's 70000 handwritten digits, 28x28 grey; "
                  "official 60000/10000 split",
                  locate=functools.partial(find_idx_dir, "mnist"),
                  hint=functools.partial(_idx_hint, "mnist"))
def load_mnist(location: str) -> ImageDataset:
    return load_idx_dataset("mnist", location, DIGIT_CLASSES)
