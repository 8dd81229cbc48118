"""An index folder's codes and metadata for other tools: an .npz, and the TensorFlow Embedding
Projector's files (vectors.tsv, metadata.tsv, a sprite image and projector_config.pbtxt), which
projector.tensorflow.org loads with "Load" (or its config, for the sprite)."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from explorer.errors import DataError
from explorer.retrieval import store

SPRITE_MAX_SIDE = 8192  # the projector refuses sprite images larger than 8192 x 8192 pixels


def sprite(thumbnails: np.ndarray) -> bytes | None:
    """(N, C, h, w) uint8 thumbnails tiled row by row into a square PNG, or None when they do not fit."""
    from PIL import Image
    n, channels, height, width = thumbnails.shape
    columns = math.ceil(math.sqrt(n))
    if columns * max(height, width) > SPRITE_MAX_SIDE:
        return None
    grid = np.zeros((columns * height, columns * width, channels), np.uint8)
    for i, image in enumerate(thumbnails):
        row, column = divmod(i, columns)
        grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = image.transpose(1, 2, 0)
    picture = Image.fromarray(grid[..., 0] if channels == 1 else grid)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A metadata cell: the TSV has no quoting, so tabs and line breaks become spaces."""
    return " ".join(text.split("\t")).replace("\n", " ").replace("\r", " ")


def export(index_dir: str | Path, out: str | Path) -> list[Path]:
    """Write ``out``/codes.npz, vectors.tsv, metadata.tsv and, with thumbnails, sprite.png and
    projector_config.pbtxt; returns the paths written."""
    collection = store.read(Path(index_dir))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; name a folder for the exported files")
    out.mkdir(parents=True, exist_ok=True)
    labels = collection.labels
    names = collection.class_names
    label_text = None if labels is None else [names[label] if names else str(label) for label in labels]
    files = {"codes.npz": store.npz_bytes({"codes": collection.codes, "sources": np.array(collection.sources),
                                           **({"labels": labels, "class_names": np.array(names)}
                                              if labels is not None else {})}),
             "vectors.tsv": "".join("\t".join(f"{value:.6g}" for value in code) + "\n"
                                    for code in collection.codes).encode(),
             "metadata.tsv": ("source\tlabel\n" + "".join(f"{_cell(s)}\t{_cell(t)}\n" for s, t in
                                                         zip(collection.sources, label_text))
                              if label_text else "".join(f"{_cell(s)}\n" for s in collection.sources)).encode()}
    tiles = None if collection.thumbnails is None else sprite(collection.thumbnails)
    if tiles is not None:
        height, width = collection.thumbnails.shape[2:]
        files["sprite.png"] = tiles
        files["projector_config.pbtxt"] = (
            'embeddings {\n  tensor_path: "vectors.tsv"\n  metadata_path: "metadata.tsv"\n'
            f'  sprite {{\n    image_path: "sprite.png"\n    single_image_dim: {width}\n'
            f'    single_image_dim: {height}\n  }}\n}}\n').encode()
    for name, data in files.items():
        (out / name).write_bytes(data)
    return [out / name for name in files]
