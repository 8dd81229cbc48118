"""What the retrieval tests index: a small seeded model saved as a checkpoint, folders of PNGs in
class subfolders, and hostile image files."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.checkpoint import save
from explorer.registry import build, make_config

SHAPE = (1, 8, 8)


def saved_model(folder: Path, seed: int = 0, shape=SHAPE) -> Path:
    """An untrained seeded deep_ae with 4-D codes for ``shape`` images, saved in ``folder``."""
    torch.manual_seed(seed)
    model = build("deep_ae", make_config("deep_ae", latent_dim=4), input_shape=shape, n_classes=3)
    return save(model, folder, {"name": "synthetic", "source": "tests", "fingerprint": "0" * 64,
                                "input_shape": list(shape), "class_names": ["a", "b", "c"]})


def write_pngs(root: Path, n: int, size=(8, 8), classes=("a", "b", "c"), seed: int = 0, start: int = 0) -> list[Path]:
    """``n`` seeded grey PNGs of ``size`` (width, height): image i in ``classes[i % 3]``/, brightness by class."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(start, start + n):
        label = i % len(classes)
        pixels = np.clip(rng.normal(60 + 70 * label, 30, size[::-1]), 0, 255).astype(np.uint8)
        path = root / classes[label] / f"{i:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def giant_png(width: int = 20000, height: int = 20000) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` x ``height`` grey pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))
