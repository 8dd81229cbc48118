"""Searching an index folder: its model checked against the manifest, queries converted by its rule."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError
from explorer.retrieval import engines, store
from explorer.retrieval.base import Index
from explorer.retrieval.build import check_model, model_record
from explorer.retrieval.sources import MAX_IMAGE_FILE_BYTES, convert
from explorer.search import Neighbours


@dataclass
class OpenIndex:
    """An index folder ready to answer: its items, its engine and the model that made its codes."""
    folder: Path
    collection: store.Collection
    engine: Index
    model: Any

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.model.input_shape)

    def label_name(self, row: int) -> str | None:
        labels, names = self.collection.labels, self.collection.class_names
        return None if labels is None else (names[labels[row]] if names else str(labels[row]))


def open_index(folder: str | Path, model_dir: str | Path | None = None) -> OpenIndex:
    """The index folder ``folder`` with its model (``model_dir``, or the one its manifest names),
    refused with one line when the model's weights are not those the codes were made with."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such index folder; build one with python -m explorer index")
    collection = store.read(folder)
    model, info = model_record(Path(model_dir or collection.manifest.get("model", {}).get("path", "")))
    check_model(folder, collection.manifest, info["weights_sha256"])
    return OpenIndex(folder, collection, engines.load_index(folder, collection.engine_files, collection.codes,
                                                            collection.manifest), model)


def query_image(path: str | Path, input_shape: tuple[int, int, int]) -> np.ndarray:
    """An image file -> (C, H, W) by the index's rule, or DataError with the reason it cannot be."""
    if not Path(path).is_file():  # a folder, a FIFO or a device would never give an image
        raise DataError(f"{path}: no such image file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IMAGE_FILE_BYTES + 1)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    too_large = len(data) > MAX_IMAGE_FILE_BYTES
    image = f"over {MAX_IMAGE_FILE_BYTES:,} bytes" if too_large else convert(data, str(path), input_shape)
    if isinstance(image, str):
        raise DataError(f"{path}: cannot be converted by the index's rule ({image}); give a PNG, JPEG, BMP, GIF "
                        "or WebP image of the model's aspect ratio")
    return image


def nearest_in(opened: OpenIndex, k: int, image: np.ndarray | None = None, row: int | None = None,
               label: int | None = None) -> Neighbours:
    """The ``k`` indexed items nearest to a query: an ``image`` (C, H, W), encoded by the index's model, or
    the indexed item ``row`` (its stored code, itself left out). Marked against ``label`` (the query's
    class number; an indexed item's own when None) where the index has labels."""
    started = time.perf_counter()
    code = opened.collection.codes[[row]] if image is None else opened.model.encode_array(
        np.asarray(image, np.float32)[None])
    rows, distances = opened.engine.search(code, k + (row is not None))
    keep = (rows[0] >= 0) & (rows[0] != (-1 if row is None else row))  # FAISS pads with -1; the query itself
    rows, distances = rows[0][keep][:k], distances[0][keep][:k]
    labels = opened.collection.labels
    label = int(labels[row]) if label is None and row is not None and labels is not None else label
    matches = None if label is None or labels is None else labels[rows] == label
    return Neighbours(rows, distances, matches, time.perf_counter() - started)


def neighbours(opened: OpenIndex, image: np.ndarray, k: int) -> list[dict[str, Any]]:
    """The ``k`` items nearest to ``image`` (C, H, W), nearest first: row, source, distance, label."""
    found = nearest_in(opened, k, image)
    return [{"rank": rank + 1, "row": int(row), "source": opened.collection.sources[row],
             "distance": float(distance), "label": opened.label_name(int(row)), "seconds": round(found.seconds, 5)}
            for rank, (row, distance) in enumerate(zip(found.indices, found.distances))]


@dataclass(frozen=True)
class QueryTarget:
    """What the page's upload and drawing widgets convert a query for (they take a dataset): the
    index's image shape, and sample images whose mean tells its background (light or dark)."""
    input_shape: tuple[int, int, int]
    fingerprint: str
    x_train: np.ndarray  # (n, C, h, w) float32 thumbnails in [0, 1], or one blank image when none are stored

    @classmethod
    def of(cls, opened: OpenIndex, sample: int = 2000) -> "QueryTarget":
        thumbnails = opened.collection.thumbnails
        images = (np.zeros((1, *opened.input_shape), np.float32) if thumbnails is None
                  else thumbnails[:sample].astype(np.float32) / 255)
        return cls(opened.input_shape, opened.collection.manifest["files"]["codes.npy"]["sha256"], images)
