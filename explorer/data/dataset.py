"""The in-memory dataset every model and page works with, and the seeded train/test split.

Arrays are stored read-only because named datasets are shared through an in-process cache and
their fingerprint is computed once: an in-place edit by one caller would silently change what
every other caller sees. Copy (``x.copy()``) before modifying.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from explorer.errors import DataError
from explorer.limits import MAX_DATASET_BYTES

DEFAULT_MAX_BYTES = 200 * 1024**2  # uploads larger than this (uncompressed) are refused
TEST_FRACTION = 0.2
# The Trainer's validation split, carved out of the training split: enough images that the best epoch
# is not chosen by noise, few enough that training keeps nine tenths.
VALIDATION_FRACTION = 0.1
MIN_VALIDATION = 100
MIN_TRAIN_FOR_VALIDATION = 10


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images as float32 in [0, 1], shape (N, C, H, W), C-contiguous, with optional int64 labels.

    ``name`` is "digits", "fashion-mnist", "mnist" or "upload:<filename>"; ``source`` says where
    the data was read from. ``y_*`` are None and ``class_names`` is () when the data is unlabeled;
    otherwise labels are class indices 0..n_classes-1 into ``class_names``.
    """

    name: str
    x_train: np.ndarray  # (N_train, C, H, W) float32
    y_train: np.ndarray | None  # (N_train,) int64
    x_test: np.ndarray  # (N_test, C, H, W) float32
    y_test: np.ndarray | None  # (N_test,) int64
    class_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        # Coerce once here so every consumer can rely on the documented dtypes and layout.
        for field in ("x_train", "x_test"):
            _set(self, field, _frozen(getattr(self, field), np.float32))
        for field in ("y_train", "y_test"):
            if getattr(self, field) is not None:
                _set(self, field, _frozen(getattr(self, field), np.int64))
        _set(self, "class_names", tuple(str(c) for c in self.class_names))
        self._check_consistent()

    def _check_consistent(self) -> None:
        if self.x_train.ndim != 4 or self.x_test.shape[1:] != self.x_train.shape[1:]:
            raise ValueError(f"{self.name}: x_train {self.x_train.shape} and x_test "
                             f"{self.x_test.shape} must both be (N, C, H, W) with equal C, H, W")
        labelled = (self.y_train is not None, self.y_test is not None)
        if labelled[0] != labelled[1] or labelled[0] != bool(self.class_names):
            raise ValueError(f"{self.name}: y_train, y_test and class_names must all be set or "
                             "all be empty")
        for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
            if y is not None and y.shape != (len(x),):
                raise ValueError(f"{self.name}: labels {y.shape} do not match images {x.shape}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 hex over dtype, shape and bytes of the four arrays; identical data, identical
        fingerprint in any run (the name and source are not part of it)."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            if array is None:
                digest.update(b"none;")
                continue
            digest.update(f"{array.dtype.str}{array.shape};".encode())
            digest.update(array.reshape(-1).view(np.uint8))  # C-contiguous: a view, no copy
        return digest.hexdigest()

    def describe(self) -> str:
        """One line: name, train and test counts, image shape, classes."""
        if self.class_names:
            shown = ", ".join(self.class_names[:10]) + (", …" if self.n_classes > 10 else "")
            classes = f"{self.n_classes} classes ({shown})"
        else:
            classes = "unlabeled"
        return (f"{self.name}: {len(self.x_train)} train + {len(self.x_test)} test images of "
                f"{self.input_shape}, {classes}")


def _set(dataset: ImageDataset, field: str, value) -> None:
    object.__setattr__(dataset, field, value)  # the dataclass is frozen for callers, not for us


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    """``array`` as a C-contiguous read-only view of ``dtype`` (a copy only if needed)."""
    view = np.ascontiguousarray(array, dtype=dtype).view()
    view.flags.writeable = False  # on the view only; the caller's own array stays writable
    return view


def split_indices(n: int, seed: int, test_fraction: float = TEST_FRACTION
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)`` into (train, test) index arrays.

    The first ``ceil(test_fraction * n)`` (at least 1) entries of
    ``np.random.default_rng(seed).permutation(n)`` are the test set and the rest the training
    set; each part is then sorted so images keep their original order. For the 1797 digits and
    seed 0 this gives 1437 train / 360 test.
    """
    if n < 2:
        raise ValueError(f"need at least 2 items to split, got {n}")
    return _held_out(n, min(n - 1, max(1, math.ceil(test_fraction * n))), seed)


def validation_split(n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (fit, validation) rows of a training split of ``n_train`` images: about
    :data:`VALIDATION_FRACTION` held out, at least :data:`MIN_VALIDATION` (at most a fifth of the images),
    none below :data:`MIN_TRAIN_FOR_VALIDATION` images. The test split is never part of it: only the
    validation rows choose anything (the best epoch, early stopping). 1437 digits -> 1293 + 144."""
    if n_train < MIN_TRAIN_FOR_VALIDATION:
        return np.arange(n_train), np.arange(0)
    n_val = max(math.ceil(VALIDATION_FRACTION * n_train), min(MIN_VALIDATION, n_train // 5))
    return _held_out(n_train, n_val, seed)


def _held_out(n: int, n_held: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out): the first ``n_held`` of a seeded permutation of ``range(n)`` held out, each part sorted."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def make_split_dataset(name: str, x: np.ndarray, y: np.ndarray | None,
                       class_names: tuple[str, ...], source: str, seed: int) -> ImageDataset:
    """An :class:`ImageDataset` from one pool of images, split by :func:`split_indices`."""
    if len(x) < 2:
        raise DataError(f"{source}: found {len(x)} image(s); need at least 2 (one to train on, "
                        "one to test on)")
    train, test = split_indices(len(x), seed)
    return ImageDataset(name=name, x_train=x[train], y_train=None if y is None else y[train],
                        x_test=x[test], y_test=None if y is None else y[test],
                        class_names=class_names, source=source)


def unit_images(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) -> float32 (N, 1, H, W) in [0, 1], in one vectorised pass."""
    return np.divide(images, np.float32(255), dtype=np.float32)[:, None]


def size_limit_error(file: object, size: int, limit: int) -> DataError:
    """The one message for every size guard (uploads, archives, IDX headers)."""
    return DataError(f"{file}: {size:,} bytes uncompressed exceeds the {limit:,}-byte limit; "
                     "if you trust the file, load it with a larger max_bytes")


def check_float32_size(file: object, n_values: int) -> None:
    """Refuse data whose pixels, as the float32 every model reads, would exceed the dataset limit;
    called with the count a header declares, before anything is read."""
    if n_values * 4 > MAX_DATASET_BYTES:
        raise DataError(f"{file}: its {n_values:,} values take {n_values * 4:,} bytes as float32, over the "
                        f"{MAX_DATASET_BYTES:,}-byte limit; use fewer or smaller images")


def labels_to_classes(labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map raw integer labels to indices 0..K-1 in sorted order; class names are the labels as
    strings (labels 3 and 7 become classes 0 and 1 named "3" and "7")."""
    values, indices = np.unique(labels, return_inverse=True)
    return indices.astype(np.int64), tuple(str(v) for v in values)
