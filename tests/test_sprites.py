"""The sprite behind the Latent page's hover images: one PNG, cell i = image i, small enough to send once."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer import sprites
from explorer.errors import DataError


def test_cell_i_is_image_i_at_sixteen_grey_levels():
    images = np.random.default_rng(0).random((23, 1, 28, 28)).astype(np.float32)
    sprite = sprites.build(images)
    picture = Image.open(io.BytesIO(sprite.png))
    assert picture.mode == "L" and sprite.png[24] == 4  # the PNG header's bit depth: 4 bits a pixel
    assert (sprite.columns, sprite.count, sprite.cell_height, sprite.cell_width) == (5, 23, 28, 28)
    assert picture.size == (5 * 28, 5 * 28)  # ceil(sqrt(23)) = 5 columns, 5 rows
    assert sprite.cell_origin(7) == (2 * 28, 1 * 28)
    for i in (0, 7, 22):
        cell = sprites.read_cell(sprite, i)
        assert cell.shape == (1, 28, 28)
        # rounded to the nearest of 16 levels: never more than half a level (1/30) off
        assert np.abs(cell - images[i]).max() <= 0.5 / (sprites.GREY_LEVELS - 1) + 1e-6
        np.testing.assert_array_equal(np.rint(cell * 15), np.rint(images[i] * 15))


def test_black_and_white_survive_and_colour_keeps_eight_bits():
    grey = np.stack([np.zeros((1, 8, 8)), np.ones((1, 8, 8))]).astype(np.float32)
    sprite = sprites.build(grey)
    assert sprites.read_cell(sprite, 0).max() == 0 and sprites.read_cell(sprite, 1).min() == 1
    colour = np.random.default_rng(1).random((3, 3, 10, 6)).astype(np.float32)
    sprite = sprites.build(colour)
    assert sprite.columns == 3  # near square: ceil(sqrt(3 * 10 / 6)) cells of 6 px across, one row of 10 px
    np.testing.assert_allclose(sprites.read_cell(sprite, 2), colour[2], atol=0.5 / 255 + 1e-6)


def test_large_images_are_shrunk_and_too_many_refused():
    big = np.zeros((2, 1, 96, 64), np.float32)
    assert sprites.thumbnails(big).shape == (2, 1, 32, 22)  # every third pixel
    with pytest.raises(DataError, match="show fewer points"):
        sprites.build(np.zeros((70_000, 1, 32, 32), np.float32))
    with pytest.raises(DataError, match="grey or RGB"):
        sprites.build(np.zeros((0, 1, 8, 8), np.float32))


def test_data_uri_is_the_png_in_base64():
    sprite = sprites.build(np.full((4, 1, 8, 8), 0.5, np.float32))
    uri = sprite.data_uri()
    assert uri.startswith("data:image/png;base64,")
    import base64
    assert base64.b64decode(uri.split(",", 1)[1]) == sprite.png
