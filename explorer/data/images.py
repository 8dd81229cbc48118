"""Image folders and ``.zip`` archives of PNG/JPEG files -> pixel arrays, every size bounded first.

What is checked before it costs memory: a folder's file sizes and a zip's declared member sizes
(``max_bytes``) and member count; each image's width x height from its header
(:data:`~explorer.limits.MAX_IMAGE_PIXELS`, before PIL decodes a pixel); the decoded bytes of all
images (``max_bytes``) and the float32 dataset they make (:data:`~explorer.limits.MAX_DATASET_BYTES`).
Nothing is ever extracted to disk. Refused: zip members named outside the archive (``/x``, ``../x``)
and zip members or folder entries that are links to outside the folder, or no regular file.
"""
from __future__ import annotations

import io
import stat
import warnings
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from explorer.data.dataset import labels_to_classes, size_limit_error
from explorer.errors import DataError, one_line
from explorer.limits import (MAX_DATASET_BYTES, MAX_IMAGE_PIXELS, MAX_FILES, ZIP_ERRORS, outside_archive,
                             read_at_most, zip_member_count)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")  # what PIL may try: no other decoder sees a user's bytes
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L")
ASPECT_TOLERANCE = 0.01
# What PIL raises for a damaged file: truncated or corrupt data (OSError), a broken chunk
# (SyntaxError), odd header values (ValueError), a header cut short (EOFError).
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)

Entry = tuple[str, tuple[str, ...], bytes]  # (name for messages, path parts, file bytes)
Arrays = tuple[np.ndarray, "np.ndarray | None", tuple[str, ...]]  # (x, y, class_names)


def is_image(parts: tuple[str, ...]) -> bool:
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and parts[-1].lower().endswith(IMAGE_SUFFIXES)


def folder_entries(root: Path, max_bytes: int) -> list[Entry]:
    try:
        files = _folder_files(root)
        total = sum(p.stat().st_size for p in files)
        if total > max_bytes:
            raise size_limit_error(root, total, max_bytes)
        entries, budget = [], max_bytes
        for path in files:
            with open(path, "rb") as handle:
                data = read_at_most(handle, budget)
            if len(data) > budget:  # a file that grew since its size was read
                raise size_limit_error(root, max_bytes - budget + len(data), max_bytes)
            budget -= len(data)
            entries.append((str(path.relative_to(root)), path.relative_to(root).parts, data))
    except OSError as error:
        raise DataError(f"{root}: cannot be read ({one_line(error)}); check the folder's permissions") from None
    return entries


def _folder_files(root: Path) -> list[Path]:
    """The image files under ``root``, refusing links to outside it and images that are no regular file."""
    inside, files = root.resolve(), []
    for n_seen, path in enumerate(root.rglob("*")):  # rglob does not follow links to folders
        if n_seen == MAX_FILES:
            raise DataError(f"{root}: holds more than {MAX_FILES:,} files; name a folder of images only")
        relative = path.relative_to(root)
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            raise DataError(f"{root}: {relative} is a link to {path.resolve()}, outside the folder; copy the files "
                            "into the folder instead")
        if path.is_dir() or not is_image(relative.parts):
            continue
        if not path.is_file():  # a FIFO or a device would block the read or never end
            raise DataError(f"{root}: {relative} is not a regular file; remove it or copy the image in")
        files.append(path)
    return sorted(files)


def zip_entries(path: Path, max_bytes: int) -> list[Entry]:
    try:
        with open(path, "rb") as raw:
            if zip_member_count(raw) > MAX_FILES:
                raise DataError(f"{path}: holds more than {MAX_FILES:,} files; split it into smaller zips")
            with zipfile.ZipFile(raw) as archive:
                return _read_members(archive, path, max_bytes)
    except ZIP_ERRORS as error:
        raise DataError(f"{path}: not a readable zip archive ({one_line(error)})") from None


def _read_members(archive: zipfile.ZipFile, path: Path, max_bytes: int) -> list[Entry]:
    unsafe = next((i.filename for i in archive.infolist() if outside_archive(i.filename)), None)
    if unsafe is not None:
        raise DataError(f"{path}: member {unsafe!r} is named outside the archive; zip the folder again with "
                        "relative names")
    infos = sorted((i for i in archive.infolist() if not i.is_dir() and is_image(PurePosixPath(i.filename).parts)),
                   key=lambda i: i.filename)
    link = next((i.filename for i in infos if stat.S_ISLNK(i.external_attr >> 16)), None)
    if link is not None:
        raise DataError(f"{path}: member {link} is a link, not an image; zip the files themselves")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise size_limit_error(path, declared, max_bytes)
    entries, budget = [], max_bytes
    for info in infos:
        data = read_member_capped(archive, info, path, budget)
        budget -= len(data)
        entries.append((info.filename, PurePosixPath(info.filename).parts, data))
    return entries


def read_member_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: int) -> bytes:
    """A member's bytes, refusing as soon as more than ``budget`` bytes have come out."""
    with archive.open(info) as member:
        data = read_at_most(member, budget)
    if len(data) > budget:
        raise size_limit_error(f"{path}:{info.filename}", len(data), budget)
    return data


def images_to_arrays(entries: list[Entry], source: Path, image_size: tuple[int, int] | None,
                     max_bytes: int) -> Arrays:
    if not entries:
        raise DataError(f"{source}: contains no PNG or JPEG images; add .png/.jpg/.jpeg files "
                        "(in class subfolders for labels)")
    entries = _strip_wrapper(entries)
    y, classes = _folder_labels(entries, source)
    headers = [_header(name, data, source) for name, _, data in entries]  # (size, bands, surely grey)
    decoded = sum(w * h * bands for (w, h), bands, _ in headers)
    if decoded > max_bytes:  # small PNGs can hold huge images (decompression bombs)
        raise size_limit_error(f"{source} (decoded pixels)", decoded, max_bytes)
    names = [name for name, _, _ in entries]
    target = _target_size(names, [size for size, _, _ in headers], image_size, source)
    channels = 1 if all(grey for _, _, grey in headers) else 3  # an upper bound: RGB may turn out grey
    dataset_bytes = len(entries) * channels * target[0] * target[1] * 4
    if dataset_bytes > MAX_DATASET_BYTES:
        raise DataError(f"{source}: {len(entries):,} images of {target[0]}x{target[1]} take {dataset_bytes:,} bytes as "
                        f"float32, over the {MAX_DATASET_BYTES:,}-byte limit; use fewer or smaller images")
    x = _stack([_decode(name, data, target, source) for name, _, data in entries])  # the list dies here
    return np.divide(x, np.float32(255), dtype=np.float32), y, classes


def _stack(pixels: list[np.ndarray]) -> np.ndarray:
    """uint8 (N, C, H, W) from (H, W) and (H, W, 3) images: any colour image makes the whole set RGB."""
    if all(p.ndim == 2 for p in pixels):
        return np.stack(pixels)[:, None]
    x = np.stack([np.dstack([p] * 3) if p.ndim == 2 else p for p in pixels])
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, H, W, 3) -> (N, 3, H, W)


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


def open_bounded(data: bytes, name: str, formats: tuple[str, ...] = FORMATS) -> Image.Image:
    """The image in ``data`` with only its header read; :class:`DataError` when it has more than
    :data:`~explorer.limits.MAX_IMAGE_PIXELS` pixels, as PIL allocates every pixel when it decodes.
    PIL's own decompression-bomb check is made an error too: its warning would print a second line."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise DataError(f"{name} has too many pixels to open safely ({one_line(error)}); shrink it") from None
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise DataError(f"{name} has too many pixels to open safely ({image.width}x{image.height}, over the "
                        f"{MAX_IMAGE_PIXELS:,} this app decodes); shrink it")
    return image


def _header(name: str, data: bytes, source: Path) -> tuple[tuple[int, int], int, bool]:
    """(size, bands, surely grey) from the image's header; no pixel is decoded."""
    try:
        with open_bounded(data, f"{source}: {name}") as image:
            return image.size, len(image.getbands()), image.mode in GREY_MODES
    except IMAGE_ERRORS as error:
        raise DataError(f"{source}: {name} is not a readable PNG or JPEG image ({one_line(error)})") from None


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


def _decode(name: str, data: bytes, target: tuple[int, int], source: Path) -> np.ndarray:
    """uint8 pixels, (H, W) for greyscale or (H, W, 3) for colour, resized to ``target``."""
    try:
        with open_bounded(data, f"{source}: {name}") as image:
            if image.mode.startswith("I"):  # 16-bit grey: convert("L") would clip, not scale
                image = Image.fromarray((np.asarray(image) / 257).round().clip(0, 255).astype(np.uint8))
            image = image.convert("L" if image.mode in ("1", "L", "LA") else "RGB")
            if image.size != target:
                image = image.resize(target, Image.Resampling.BILINEAR)
            pixels = np.asarray(image)
    except IMAGE_ERRORS as error:
        raise DataError(f"{source}: {name} could not be decoded ({one_line(error)})") from None
    if pixels.ndim == 3 and (pixels == pixels[..., :1]).all():
        pixels = pixels[..., 0]  # RGB with identical channels (or a grey palette) is grey
    return pixels
