"""What ``index`` reads: a folder or .zip of images (recursive, class subfolders as labels), or the
arrays of a .npz, an IDX pair or a named dataset, in batches, each image converted by the model's rule.

The rule is the Search page's for an upload (:func:`explorer.query.to_dataset_format`): transparent
parts on white, grey or RGB as the model, resized to its H x W by area averaging, in [0, 1]. An image
whose aspect ratio differs from the model's by more than 1% is refused, as resizing would distort it.
A file that cannot be converted is skipped with its reason, counted, and never stops the run.
"""
from __future__ import annotations

import os
import zipfile
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
from PIL import UnidentifiedImageError

from explorer.data.images import ASPECT_TOLERANCE, IMAGE_ERRORS, open_bounded, read_member_capped
from explorer.errors import DataError, one_line
from explorer.limits import MAX_IMAGE_PIXELS, ZIP_ERRORS, outside_archive, read_at_most
from explorer.query import QUERY_FORMATS, to_dataset_format

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
MAX_IMAGE_FILE_BYTES = 64 << 20  # one image file: a 12-megapixel photo is a few MB


def convert(data: bytes, name: str, input_shape: tuple[int, int, int]) -> np.ndarray | str:
    """One image file's bytes -> (C, H, W) float32 by the model's rule, or the reason it is refused."""
    if not data:
        return "empty file"
    try:
        with open_bounded(data, name, QUERY_FORMATS) as picture:
            _, height, width = input_shape
            if abs(picture.width * height / (picture.height * width) - 1) > ASPECT_TOLERANCE:
                return f"aspect ratio other than the model's {width}x{height}"
            picture.load()
            return to_dataset_format(picture, input_shape)
    except DataError:
        return f"over {MAX_IMAGE_PIXELS:,} pixels"
    except UnidentifiedImageError:
        return "not an image this app reads"
    except IMAGE_ERRORS:
        return "damaged image"


class Names(Sequence):
    """Names in a fixed order, held as one UTF-8 buffer and the offset where each ends: about 8 bytes a
    name beside its text, where a list of str costs about 60, so that listing a collection of any size
    takes little memory (``python -m benchmarks.retrieval``: the peak of ``index`` stays flat)."""

    def __init__(self, names: Iterable[str] = ()):
        self._text, self._ends = bytearray(), array("q")
        for name in names:
            self.append(name)

    def append(self, name: str) -> None:
        self._text += name.encode("utf-8")
        self._ends.append(len(self._text))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, row: int) -> str:
        end = self._ends[row]  # IndexError past the end, as Sequence's iteration expects
        return self._text[self._ends[row - 1] if row > 0 else 0:end].decode("utf-8")


@dataclass
class Source:
    """A collection's items in a fixed order: ``names`` (what each result will show), optional labels."""
    origin: str
    names: Names
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    skipped_at_listing: dict[str, int] = field(default_factory=dict)  # reason -> files never read

    def converted(self, rows: range, input_shape: tuple[int, int, int]) -> Iterator[np.ndarray | str]:
        """The images at ``rows``, in order, converted (or the reason each is skipped)."""
        raise NotImplementedError


class FolderSource(Source):
    def converted(self, rows, input_shape):
        for row in rows:
            try:  # os.path, as pathlib would intern every name for the life of the process
                with open(os.path.join(self.origin, self.names[row]), "rb") as handle:
                    data = read_at_most(handle, MAX_IMAGE_FILE_BYTES)
            except OSError as error:
                yield f"unreadable file ({one_line(error)[:40]})"
                continue
            yield f"over {MAX_IMAGE_FILE_BYTES:,} bytes" if len(data) > MAX_IMAGE_FILE_BYTES else convert(
                data, self.names[row], input_shape)


class ZipSource(Source):
    def converted(self, rows, input_shape):
        path = Path(self.origin)
        with zipfile.ZipFile(path) as archive:
            for row in rows:
                try:
                    data = read_member_capped(archive, archive.getinfo(self.names[row]), path, MAX_IMAGE_FILE_BYTES)
                except DataError:
                    yield f"over {MAX_IMAGE_FILE_BYTES:,} bytes"
                    continue
                except ZIP_ERRORS as error:
                    yield f"damaged zip member ({one_line(error)[:40]})"
                    continue
                yield convert(data, self.names[row], input_shape)


@dataclass
class ArraySource(Source):
    """Images already in memory, in the model's format (a .npz, an IDX pair, a named dataset)."""
    images: np.ndarray | None = None  # (N, C, H, W) float32

    def converted(self, rows, input_shape):
        yield from self.images[rows.start:rows.stop]


def open_source(source: str, input_shape: tuple[int, int, int]) -> Source:
    """The collection at ``source``: a folder, a .zip, or what :func:`explorer.data.load_dataset` reads."""
    path = Path(source).expanduser()
    if path.is_dir():
        return _folder(path)
    if path.suffix.lower() == ".zip" and path.is_file():
        return _zip(path)
    return _arrays(source, input_shape)


def _folder(root: Path) -> FolderSource:
    # os.path, not pathlib, on each file: pathlib interns every name it parses (sys.intern in 3.11's
    # parse_parts), which kept 3.7 MB for 100,000 files for the life of the process.
    names, skipped, inside = Names(), {}, os.path.realpath(root)
    for directory, subfolders, files in os.walk(root):  # does not follow links to folders
        subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
        folder = os.path.relpath(directory, root).replace(os.sep, "/")
        for file in sorted(files):
            path = os.path.join(directory, file)
            reason = _listing_problem(path, file, inside)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
            elif not file.startswith("."):
                names.append(file if folder == "." else f"{folder}/{file}")
    return FolderSource(str(root), names, *_labels(names), skipped_at_listing=skipped)


def _name_problem(name: str) -> str | None:
    """Why a file's name cannot be one line of the index's sources.txt (UTF-8, one name a line)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name not in UTF-8"
    return "name with a line break" if "\n" in name or "\r" in name else None


def _listing_problem(path: str, file: str, inside: str) -> str | None:
    if file.startswith("."):
        return None
    if not file.lower().endswith(IMAGE_SUFFIXES):
        return "not an image file (by its name)"
    if _name_problem(path):
        return _name_problem(path)
    if os.path.islink(path) and os.path.commonpath([os.path.realpath(path), inside]) != inside:
        return "link to outside the folder"
    if not os.path.isfile(path):
        return "not a regular file"
    return None


def _zip(path: Path) -> ZipSource:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except ZIP_ERRORS as error:
        raise DataError(f"{path}: not a readable zip archive ({one_line(error)})") from None
    names, skipped = Names(), {}
    for info in sorted(infos, key=lambda i: i.filename):
        parts = PurePosixPath(info.filename).parts
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        reason = ("named outside the archive" if outside_archive(info.filename) else
                  _name_problem(info.filename) if info.filename.lower().endswith(IMAGE_SUFFIXES)
                  else "not an image file (by its name)")
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            names.append(info.filename)
    return ZipSource(str(path), names, *_labels(names), skipped_at_listing=skipped)


def _labels(names: Names) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Class subfolders: every image in a folder below one common top (``photos/cats/1.png``). Each name
    is split as it is read, so no list of parts is held."""
    depth = 0  # top folders every name shares
    while len(names) and all(len(p) > depth + 1 for p in _parts(names)) and len(
            {p[depth] for p in _parts(names)}) == 1:
        depth += 1
    if not len(names) or not all(len(p) > depth + 1 for p in _parts(names)):
        return None, ()
    classes = sorted({p[depth] for p in _parts(names)})  # as labels_to_classes sorts them
    number = {name: i for i, name in enumerate(classes)}
    return np.fromiter((number[p[depth]] for p in _parts(names)), np.int64, len(names)), tuple(classes)


def _parts(names: Names) -> Iterator[list[str]]:
    """Each name's folders and file name (split by hand: pathlib would intern them all)."""
    return ([part for part in name.split("/") if part not in ("", ".")] for name in names)


def _arrays(source: str, input_shape: tuple[int, int, int]) -> ArraySource:
    from explorer.data import load_dataset
    dataset = load_dataset(source if not Path(source).exists() else Path(source))
    if dataset.input_shape != tuple(input_shape):
        raise DataError(f"{source}: its images are {dataset.input_shape} (C, H, W), not the model's "
                        f"{tuple(input_shape)}; "
                        "arrays are not resized: index them with a model trained on this shape, or save them as images")
    names = Names([f"train/{i}" for i in range(len(dataset.x_train))] + [f"test/{i}" for i in range(len(dataset.x_test))])
    labels = None if dataset.y_train is None else np.concatenate([dataset.y_train, dataset.y_test])
    return ArraySource(dataset.source, names, labels, tuple(dataset.class_names),
                       images=np.concatenate([dataset.x_train, dataset.x_test]))
