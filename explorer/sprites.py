"""A sprite of images: N small pictures tiled in one PNG, so a browser can show any one of them by its
cell without asking the server (the Latent page's hover images; TensorBoard's projector ships its
sprite the same way). Cell i holds image i, row-major, ``columns`` cells a row.

Grey images are stored at :data:`GREY_LEVELS` levels (4 bits a pixel): 10,000 Fashion-MNIST images take
1.9 MB instead of 4.1 MB at 8 bits, and a thumbnail drawn 5x on a projector shows no difference
a class would see. Colour images keep 8 bits a channel.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np

from explorer.errors import DataError

GREY_LEVELS = 16
MAX_CELL = 32           # a cell's side in pixels; larger images are shrunk to fit (the thumbnail is a reminder)
MAX_SPRITE_SIDE = 8192  # pixels: past this, browsers refuse or slow down on one image


@dataclass(frozen=True)
class Sprite:
    """The PNG and how to find cell i in it: column ``i % columns``, row ``i // columns``."""
    png: bytes
    columns: int
    count: int
    cell_height: int
    cell_width: int

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def cell_origin(self, i: int) -> tuple[int, int]:
        """(x, y) in pixels of cell ``i``'s top-left corner."""
        row, column = divmod(i, self.columns)
        return column * self.cell_width, row * self.cell_height


def thumbnails(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (N, C, h, w) with h, w <= :data:`MAX_CELL`, by an integer stride (no
    resampling library; a 64-px image keeps every second pixel)."""
    stride = max(1, math.ceil(max(images.shape[-2:]) / MAX_CELL))
    return images[..., ::stride, ::stride]


def build(images: np.ndarray) -> Sprite:
    """(N, C, H, W) images in [0, 1] (C = 1 or 3) tiled into a near-square grid, cell i = image i."""
    from PIL import Image
    images = thumbnails(np.asarray(images))
    n, c, h, w = images.shape
    if n == 0 or c not in (1, 3):
        raise DataError(f"A sprite needs at least one grey or RGB image; got {n} of {c} channels.")
    columns = math.ceil(math.sqrt(n * h / w))  # a square picture
    rows = math.ceil(n / columns)
    if max(columns * w, rows * h) > MAX_SPRITE_SIDE:
        raise DataError(f"{n} images of {h}x{w} make a sprite over {MAX_SPRITE_SIDE} px a side; show fewer points.")
    grid = np.zeros((rows * columns, c, h, w), np.float32)
    grid[:n] = np.clip(images, 0, 1)
    picture = grid.reshape(rows, columns, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, columns * w, c)
    out = io.BytesIO()
    if c == 1:
        # 16 levels spread over 0..255 (level k -> 17k), so white stays white and black black
        levels = np.rint(picture[..., 0] * (GREY_LEVELS - 1)).astype(np.uint8)
        Image.fromarray(levels * (255 // (GREY_LEVELS - 1)), "L").save(out, "PNG", bits=4)
    else:
        Image.fromarray(np.rint(picture * 255).astype(np.uint8), "RGB").save(out, "PNG")
    return Sprite(out.getvalue(), columns, n, h, w)


def read_cell(sprite: Sprite, i: int) -> np.ndarray:
    """Cell ``i`` of ``sprite`` back as (C, h, w) floats in [0, 1]: what a browser shows for image i."""
    from PIL import Image
    picture = np.asarray(Image.open(io.BytesIO(sprite.png)), np.float32)
    x, y = sprite.cell_origin(i)
    cell = picture[y:y + sprite.cell_height, x:x + sprite.cell_width] / 255
    return cell[None] if cell.ndim == 2 else cell.transpose(2, 0, 1)
