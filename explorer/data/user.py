"""User data: an ``.npz``, a folder or ``.zip`` of PNG/JPEG images, or an IDX images file.

Rules (the README quotes them):

* ``.npz``: images under the key ``x``, shaped (N, H, W), (N, H, W, C) with C 1 or 3 (also
  accepted channels-first, (N, C, H, W)), or (N, D) with D a perfect square, read as
  (1, sqrt D, sqrt D). Optional ``y``: N labels (integers, or strings). Integer pixels must lie
  in 0..255 and are divided by 255; float pixels must lie in [0, 1]; NaN and inf are refused.
* Image folder or ``.zip``: ``.png``, ``.jpg``, ``.jpeg`` files (any case; hidden files and
  ``__MACOSX`` ignored). Images in subfolders are labelled by their first subfolder's name
  (classes sorted by name); images all at the top level are unlabeled; both at once is refused.
  One folder wrapping everything, as zip tools often add, is looked through.
  Colour: one channel if every image is greyscale (modes 1, L, LA, I;16, a grey palette, or RGB
  with identical channels), else every image is converted to RGB. Size: the target is
  ``image_size`` (width, height) if given, else the most common size; an image of another size
  is resized (bilinear) only if its aspect ratio is within 1% of the target's, else refused.
* IDX: a ``*-images-idx3-ubyte[.gz]`` file (or ``*-images.idx3-ubyte``); its labels are read from
  the file named with ``labels-idx1`` in place of ``images-idx3`` when that exists. Pixel rules as
  for ``.npz``.
* Labels become class indices 0..K-1; class names are the sorted distinct labels as strings.
* Every source is split 80/20 with :func:`~explorer.data.dataset.split_indices` and ``seed``
  (at least one test image); fewer than 2 images is refused.
* Size guard, checked from headers before anything is read or decoded: archives (.zip, .npz) by
  the uncompressed sizes their headers declare (``max_bytes``), and reading stops once more than
  that has come out; each .npz array by its .npy header, which must also match its member's size;
  folders by the sum of file sizes; IDX by the size its header declares; images by their width x
  height (:data:`~explorer.limits.MAX_IMAGE_PIXELS` each) and their decoded bytes (decompression
  bombs); every source by the float32 copy it makes (:data:`~explorer.limits.MAX_DATASET_BYTES`).
* Never read: pickled objects in an .npz, zip members named outside the archive, zip members that
  are links, links from a folder to outside it.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from explorer.data.dataset import (DEFAULT_MAX_BYTES, ImageDataset, check_float32_size, labels_to_classes,
                                   make_split_dataset)
from explorer.data.idx import read_idx_pair
from explorer.data.images import Arrays, folder_entries, images_to_arrays, zip_entries
from explorer.data.npz import Header, read_npz
from explorer.errors import DataError

_IDX_NAME = re.compile(r"idx\d-ubyte(\.gz)?$", re.IGNORECASE)
# The official names join with dashes (train-images-idx3-ubyte); copies often use a dot (train-images.idx3-ubyte).
IDX_IMAGES = re.compile(r"images([.-])idx3", re.IGNORECASE)
_IDX_LABELS = re.compile(r"labels[.-]idx1", re.IGNORECASE)


def load_user_data(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   image_size: tuple[int, int] | None = None, seed: int = 0) -> ImageDataset:
    """An :class:`ImageDataset` named ``upload:<filename>`` from ``path``, by the module rules.

    ``image_size`` (width, height) applies to image folders and archives only.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        x, y, classes = images_to_arrays(folder_entries(path, max_bytes), path, image_size, max_bytes)
    elif not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    elif path.suffix.lower() == ".npz":
        x, y, classes = _load_npz(path, max_bytes)
    elif path.suffix.lower() == ".zip":
        x, y, classes = images_to_arrays(zip_entries(path, max_bytes), path, image_size, max_bytes)
    elif _IDX_NAME.search(path.name):
        x, y, classes = _load_idx(path, max_bytes)
    else:
        raise DataError(f"{path}: unsupported file type; use an .npz, a folder or .zip of "
                        "PNG/JPEG images, or an *-images-idx3-ubyte[.gz] file")
    return make_split_dataset(f"upload:{path.name}", x, y, classes, str(path), seed)


# --- arrays: .npz and IDX ------------------------------------------------------------------

def _load_npz(path: Path, max_bytes: int) -> Arrays:
    arrays, names = read_npz(path, ("x", "y"), max_bytes, check=lambda headers: _check_images(headers, path))
    if "x" not in arrays:
        raise DataError(f"{path}: has no array named 'x' (found: {', '.join(names) or 'none'});"
                        " save it as np.savez(file, x=images, y=labels)")
    x = _array_to_images(arrays["x"], path)
    return (x, *_labels(arrays.get("y"), len(x), path))


def _check_images(headers: dict[str, Header], path: Path) -> None:
    """Refuse images whose float32 copy would exceed the limit, from the header alone."""
    if "x" in headers:
        check_float32_size(path, math.prod(headers["x"].shape))


def _load_idx(path: Path, max_bytes: int) -> Arrays:
    if _IDX_LABELS.search(path.name):
        raise DataError(f"{path}: is a labels file; pass the matching *-images-idx3-ubyte file")
    labels_name = IDX_IMAGES.sub(r"labels\1idx1", path.name)
    candidates = [path.with_name(labels_name), path.with_name(labels_name.removesuffix(".gz")),
                  path.with_name(labels_name.removesuffix(".gz") + ".gz")]
    labels_path = next((p for p in candidates if p != path and p.is_file()), None)
    images, labels = read_idx_pair(path, labels_path, max_bytes=max_bytes)
    x = _array_to_images(images, path)
    return (x, *_labels(labels, len(x), labels_path))


def _array_to_images(x: np.ndarray, file: Path) -> np.ndarray:
    """(N, H, W), (N, H, W, C), (N, C, H, W) or (N, D) pixels -> float32 (N, C, H, W) in [0, 1]."""
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise DataError(f"{file}: can't infer an image shape from x of shape {x.shape}: "
                            f"{x.shape[1]} is not a perfect square; save x as (N, H, W) or "
                            "(N, H, W, C)")
        x = x.reshape(len(x), 1, side, side)
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[3] in (1, 3):
        x = x.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    elif not (x.ndim == 4 and x.shape[1] in (1, 3)):
        raise DataError(f"{file}: images of shape {x.shape} are not (N, H, W), (N, H, W, C) "
                        "with C 1 or 3, or (N, D)")
    if 0 in x.shape[2:]:
        raise DataError(f"{file}: images of shape {x.shape[1:]} are empty")
    return np.ascontiguousarray(_to_unit_range(x, file))


def _to_unit_range(x: np.ndarray, file: Path) -> np.ndarray:
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    if x.dtype.kind in "ui":
        low, high = x.min(initial=0), x.max(initial=0)
        if low < 0 or high > 255:
            raise DataError(f"{file}: values outside [0,1]: integer pixels must lie in 0..255 "
                            f"and are divided by 255, found {low}..{high}")
        return np.divide(x, np.float32(255), dtype=np.float32)
    if x.dtype.kind != "f":
        raise DataError(f"{file}: pixels of dtype {x.dtype}; expected integers 0..255 or "
                        "floats in [0, 1]")
    for bad, test in (("NaN", np.isnan), ("inf", np.isinf)):
        if test(x).any():
            raise DataError(f"{file}: pixels contain {bad}; replace or drop those images")
    low, high = x.min(initial=0), x.max(initial=0)
    if low < 0 or high > 1:
        raise DataError(f"{file}: values outside [0,1]: float pixels found in {low:g}..{high:g};"
                        " divide 8-bit pixels by 255 or save them as uint8")
    return x.astype(np.float32)


def _labels(y: np.ndarray | None, n_images: int, file: Path | None
            ) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if y is None:
        return None, ()
    if y.shape != (n_images,):
        raise DataError(f"{file}: labels of shape {y.shape} do not match {n_images} images; "
                        "y must hold one label per image")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise DataError(f"{file}: labels must be whole numbers or strings, found {y.dtype} "
                        "with fractions, NaN or inf")
    if y.dtype.kind not in "uibfU":
        raise DataError(f"{file}: labels of dtype {y.dtype}; use integers or strings")
    return labels_to_classes(y.astype(np.int64) if y.dtype.kind == "f" else y)
