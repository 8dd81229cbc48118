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
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IMAGE_FILE_BYTES + 1)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    too_large = len(data) > MAX_IMAGE_FILE_BYTES
    image = f"over {MAX_IMAGE_FILE_BYTES:,} bytes" if too_large else convert(data, str(path), input_shape)
    if isinstance(image, str):
        raise DataError(f"{path}: cannot be converted by the index's rule ({image}); give a PNG, JPEG, BMP, GIF or WebP "
                        "image of the model's aspect ratio")
    return image


def neighbours(opened: OpenIndex, image: np.ndarray, k: int) -> list[dict[str, Any]]:
    """The ``k`` items nearest to ``image`` (C, H, W), nearest first: row, source, distance, label."""
    started = time.perf_counter()
    code = opened.model.encode_array(np.asarray(image, np.float32)[None])
    rows, distances = opened.engine.search(code, k)
    seconds = time.perf_counter() - started
    return [{"rank": rank + 1, "row": int(row), "source": opened.collection.sources[row],
             "distance": float(distance), "label": opened.label_name(int(row)), "seconds": round(seconds, 5)}
            for rank, (row, distance) in enumerate(zip(rows[0], distances[0])) if row >= 0]
