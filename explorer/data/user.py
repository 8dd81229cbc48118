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
* Size guard: archives (.zip, .npz) are refused when the uncompressed sizes their headers
  declare exceed ``max_bytes``, and reading stops once more than that has come out (headers can
  lie); folders by the sum of file sizes; IDX by the size its header declares; images also by
  their decoded pixel bytes (decompression bombs).
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from explorer.data.dataset import (DEFAULT_MAX_BYTES, ImageDataset, labels_to_classes,
                                   make_split_dataset, size_limit_error)
from explorer.data.idx import read_idx_pair
from explorer.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ASPECT_TOLERANCE = 0.01
_IDX_NAME = re.compile(r"idx\d-ubyte(\.gz)?$", re.IGNORECASE)
# The official names join with dashes (train-images-idx3-ubyte); copies often use a dot (train-images.idx3-ubyte).
IDX_IMAGES = re.compile(r"images([.-])idx3", re.IGNORECASE)
_IDX_LABELS = re.compile(r"labels[.-]idx1", re.IGNORECASE)
_CHUNK = 1 << 20

Arrays = tuple[np.ndarray, "np.ndarray | None", tuple[str, ...]]  # (x, y, class_names)
Entry = tuple[str, tuple[str, ...], bytes]  # (name for messages, path parts, file bytes)


def load_user_data(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   image_size: tuple[int, int] | None = None, seed: int = 0) -> ImageDataset:
    """An :class:`ImageDataset` named ``upload:<filename>`` from ``path``, by the module rules.

    ``image_size`` (width, height) applies to image folders and archives only.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        x, y, classes = _images_to_arrays(_folder_entries(path, max_bytes), path, image_size,
                                          max_bytes)
    elif not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    elif path.suffix.lower() == ".npz":
        x, y, classes = _load_npz(path, max_bytes)
    elif path.suffix.lower() == ".zip":
        x, y, classes = _images_to_arrays(_zip_entries(path, max_bytes), path, image_size,
                                          max_bytes)
    elif _IDX_NAME.search(path.name):
        x, y, classes = _load_idx(path, max_bytes)
    else:
        raise DataError(f"{path}: unsupported file type; use an .npz, a folder or .zip of "
                        "PNG/JPEG images, or an *-images-idx3-ubyte[.gz] file")
    return make_split_dataset(f"upload:{path.name}", x, y, classes, str(path), seed)


# --- arrays: .npz and IDX ------------------------------------------------------------------

def _load_npz(path: Path, max_bytes: int) -> Arrays:
    arrays, names = _read_npz(path, max_bytes, keys=("x", "y"))
    if "x" not in arrays:
        raise DataError(f"{path}: has no array named 'x' (found: {', '.join(names) or 'none'});"
                        " save it as np.savez(file, x=images, y=labels)")
    x = _array_to_images(arrays["x"], path)
    return (x, *_labels(arrays.get("y"), len(x), path))


def _read_npz(path: Path, max_bytes: int, keys: tuple[str, ...]
              ) -> tuple[dict[str, np.ndarray], list[str]]:
    """The named arrays of an .npz, read without np.load so sizes are checked before reading
    and pickled objects are never loaded; returns them and the names of all arrays."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {n[:-4]: archive.getinfo(n) for n in archive.namelist() if n.endswith(".npy")}
            present = [key for key in keys if key in members]
            _check_declared(path, [members[key] for key in present], max_bytes)
            arrays, budget = {}, max_bytes
            for key in present:
                data = read_member_capped(archive, members[key], path, budget)
                budget -= len(data)
                arrays[key] = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz ({error}); save it with np.savez") from None
    return arrays, sorted(members)


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


# --- images: folders and zips -------------------------------------------------------------

def _is_image(parts: tuple[str, ...]) -> bool:
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and parts[-1].lower().endswith(IMAGE_SUFFIXES)


def _folder_entries(root: Path, max_bytes: int) -> list[Entry]:
    files = sorted(p for p in root.rglob("*") if _is_image(p.relative_to(root).parts)
                   and p.is_file())
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise size_limit_error(root, total, max_bytes)
    return [(str(p.relative_to(root)), p.relative_to(root).parts, p.read_bytes()) for p in files]


def _zip_entries(path: Path, max_bytes: int) -> list[Entry]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = sorted((i for i in archive.infolist() if not i.is_dir()
                            and _is_image(PurePosixPath(i.filename).parts)),
                           key=lambda i: i.filename)
            _check_declared(path, infos, max_bytes)
            entries, budget = [], max_bytes
            for info in infos:
                data = read_member_capped(archive, info, path, budget)
                budget -= len(data)
                entries.append((info.filename, PurePosixPath(info.filename).parts, data))
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:
        raise DataError(f"{path}: not a readable zip archive ({error})") from None
    return entries


def _check_declared(path: Path, infos: list[zipfile.ZipInfo], max_bytes: int) -> None:
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise size_limit_error(path, declared, max_bytes)


def read_member_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path,
                       budget: int) -> bytes:
    """A member's bytes, refusing as soon as more than ``budget`` bytes have come out."""
    chunks, total = [], 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            total += len(chunk)
            if total > budget:
                raise size_limit_error(f"{path}:{info.filename}", total, budget)
            chunks.append(chunk)
    return b"".join(chunks)


def _images_to_arrays(entries: list[Entry], source: Path, image_size: tuple[int, int] | None,
                      max_bytes: int) -> Arrays:
    if not entries:
        raise DataError(f"{source}: contains no PNG or JPEG images; add .png/.jpg/.jpeg files "
                        "(in class subfolders for labels)")
    entries = _strip_wrapper(entries)
    y, classes = _folder_labels(entries, source)
    images = [_open_image(name, data, source) for name, _, data in entries]
    decoded = sum(im.width * im.height * len(im.getbands()) for im in images)
    if decoded > max_bytes:  # small PNGs can hold huge images (decompression bombs)
        raise size_limit_error(f"{source} (decoded pixels)", decoded, max_bytes)
    names = [name for name, _, _ in entries]
    target = _target_size(names, [im.size for im in images], image_size, source)
    pixels = [_decode(name, im, target, source) for name, im in zip(names, images)]
    if all(p.ndim == 2 for p in pixels):
        x = np.stack(pixels)[:, None]  # (N, 1, H, W)
    else:  # any colour image makes the whole set RGB
        x = np.stack([np.dstack([p] * 3) if p.ndim == 2 else p for p in pixels])
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, H, W, 3) -> (N, 3, H, W)
    return np.divide(x, np.float32(255), dtype=np.float32), y, classes


def _strip_wrapper(entries: list[Entry]) -> list[Entry]:
    """Look through a single folder that holds everything (``archive/`` inside archive.zip)."""
    while all(len(parts) > 1 for _, parts, _ in entries) and len({e[1][0] for e in entries}) == 1:
        entries = [(name, parts[1:], data) for name, parts, data in entries]
    return entries


def _folder_labels(entries: list[Entry], source: Path) -> tuple[np.ndarray | None, tuple[str, ...]]:
    top_level = [name for name, parts, _ in entries if len(parts) == 1]
    if len(top_level) == len(entries):
        return None, ()
    if top_level:
        raise DataError(f"{source}: has images both at the top level ({top_level[0]}) and in "
                        "subfolders; put every image in a class subfolder, or all at the top "
                        "level for unlabeled data")
    return labels_to_classes(np.array([parts[0] for _, parts, _ in entries]))


def _open_image(name: str, data: bytes, source: Path) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))  # reads the header only; pixels come in _decode
    except (OSError, Image.DecompressionBombError) as error:
        raise DataError(f"{source}: {name} is not a readable PNG or JPEG image ({error})") from None


def _target_size(names: list[str], sizes: list[tuple[int, int]],
                 image_size: tuple[int, int] | None, source: Path) -> tuple[int, int]:
    """``image_size`` or the most common (width, height); refuses other aspect ratios."""
    if image_size is not None and not (len(image_size) == 2 and min(image_size) > 0):
        raise DataError(f"{source}: image_size must be (width, height) > 0, got {image_size}")
    target = tuple(image_size) if image_size else Counter(sizes).most_common(1)[0][0]
    width, height = target
    for name, (w, h) in zip(names, sizes):
        if (w, h) != target and abs((w * height) / (h * width) - 1) > ASPECT_TOLERANCE:
            chosen = "given as image_size" if image_size else "the most common size"
            raise DataError(f"{source}: {name} is {w}x{h} but the target size is "
                            f"{width}x{height} ({chosen}) and their aspect ratios differ by more "
                            "than 1%; crop the images to one aspect ratio")
    return target


def _decode(name: str, image: Image.Image, target: tuple[int, int], source: Path) -> np.ndarray:
    """uint8 pixels, (H, W) for greyscale or (H, W, 3) for colour, resized to ``target``."""
    try:
        if image.mode.startswith("I"):  # 16-bit grey: convert("L") would clip, not scale
            image = Image.fromarray((np.asarray(image) / 257).round().clip(0, 255)
                                    .astype(np.uint8))
        image = image.convert("L" if image.mode in ("1", "L", "LA") else "RGB")
        if image.size != target:
            image = image.resize(target, Image.Resampling.BILINEAR)
        pixels = np.asarray(image)
    except (OSError, ValueError) as error:
        raise DataError(f"{source}: {name} could not be decoded ({error})") from None
    if pixels.ndim == 3 and (pixels == pixels[..., :1]).all():
        pixels = pixels[..., 0]  # RGB with identical channels (or a grey palette) is grey
    return pixels
