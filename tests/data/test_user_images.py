"""User data from images: class folders, zips, the colour rule, the size rule, refusals."""
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from explorer.data import load_user_data
from tests.conftest import refused


def grey(value: int, size=(6, 4)) -> Image.Image:
    """A constant greyscale image; size is (width, height) as PIL counts it."""
    return Image.new("L", size, value)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_images(root, images: dict):
    """``{"cat/a.png": Image, ...}`` under ``root``."""
    for name, image in images.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / name)
    return root


def all_pixels(data):
    return np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])


def test_class_subfolders_become_labels(tmp_path):
    # Each class has its own grey level, so every image can be checked against its label.
    root = write_images(tmp_path / "pets", {
        "dog/1.png": grey(255), "dog/2.PNG": grey(255), "cat/1.png": grey(0),
        "cat/2.jpg": grey(0), "cat/3.jpeg": grey(0), "dog/.hidden.png": grey(9)})
    (root / "README.txt").write_text("ignored")
    data = load_user_data(root)
    assert data.name == "upload:pets" and data.class_names == ("cat", "dog")
    assert data.input_shape == (1, 4, 6)  # (C, H, W) from PIL's (width 6, height 4)
    assert (len(data.x_train), len(data.x_test)) == (4, 1)
    x, y = all_pixels(data)
    np.testing.assert_array_equal(np.bincount(y), [3, 2])
    np.testing.assert_array_equal(x.mean(axis=(1, 2, 3)), y.astype(np.float32))


def test_top_level_images_are_unlabeled(tmp_path):
    root = write_images(tmp_path / "flat", {f"{i}.png": grey(i * 50) for i in range(5)})
    data = load_user_data(root)
    assert data.y_train is None and data.class_names == ()
    x = np.concatenate([data.x_train, data.x_test])
    assert sorted(x.mean(axis=(1, 2, 3)) * 255) == pytest.approx([0, 50, 100, 150, 200])


def test_mixing_top_level_and_subfolders_refused(tmp_path):
    root = write_images(tmp_path / "mixed", {"a.png": grey(0), "cls/b.png": grey(0)})
    refused(root, "both at the top level (a.png) and in subfolders")


def test_zip_with_wrapper_folder_and_classes(tmp_path):
    path = tmp_path / "shapes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in (("circle/a.png", 10), ("circle/b.png", 10), ("square/c.png", 200)):
            archive.writestr(f"shapes/{name}", png_bytes(grey(value)))
        archive.writestr("__MACOSX/shapes/circle/._a.png", b"resource fork junk")
    data = load_user_data(path, seed=1)
    assert data.name == "upload:shapes.zip" and data.class_names == ("circle", "square")
    x, y = all_pixels(data)
    np.testing.assert_array_equal(np.bincount(y), [2, 1])
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), np.where(y == 0, 10, 200) / 255, rtol=1e-6)


def test_greyscale_rgb_and_palette_images_give_one_channel(tmp_path):
    rgb_grey = Image.merge("RGB", [grey(77)] * 3)
    palette = grey(120).convert("P")
    root = write_images(tmp_path / "g", {"a.png": rgb_grey, "b.png": palette, "c.png": grey(5)})
    data = load_user_data(root)
    assert data.input_shape == (1, 4, 6)
    assert sorted(np.concatenate([data.x_train, data.x_test]).mean(axis=(1, 2, 3)) * 255) == \
        pytest.approx([5, 77, 120])


def test_one_colour_image_makes_all_rgb(tmp_path):
    root = write_images(tmp_path / "c", {"a.png": grey(40), "b.png": grey(90),
                                         "c.png": Image.new("RGB", (6, 4), (255, 0, 0))})
    data = load_user_data(root)
    assert data.input_shape == (3, 4, 6)
    x = np.concatenate([data.x_train, data.x_test])
    red = [img for img in x if img[1].max() == 0 and img[0].min() == 1]
    greys = [img for img in x if (img[0] == img[1]).all() and (img[1] == img[2]).all()]
    assert len(red) == 1 and len(greys) == 2  # grey images copied into all three channels


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    for name, value in (("lo.png", 0), ("mid.png", 32896), ("hi.png", 65535)):
        Image.fromarray(np.full((4, 6), value, dtype=np.uint16)).save(root / name)
    data = load_user_data(root)
    levels = sorted(np.concatenate([data.x_train, data.x_test]).mean(axis=(1, 2, 3)) * 255)
    assert levels == pytest.approx([0, 128, 255])


def test_same_aspect_ratio_is_resized_to_the_most_common_size(tmp_path):
    root = write_images(tmp_path / "r", {"a.png": grey(60), "b.png": grey(60),
                                         "big.png": grey(60, size=(12, 8))})
    data = load_user_data(root)
    assert data.input_shape == (1, 4, 6)
    np.testing.assert_allclose(np.concatenate([data.x_train, data.x_test]), 60 / 255, rtol=1e-6)


def test_image_size_argument_sets_the_target(tmp_path):
    root = write_images(tmp_path / "s", {"a.png": grey(1), "b.png": grey(2, size=(3, 2))})
    assert load_user_data(root, image_size=(9, 6)).input_shape == (1, 6, 9)


def test_different_aspect_ratio_refused(tmp_path):
    root = write_images(tmp_path / "mixed", {"a.png": grey(0), "b.png": grey(0),
                                             "tall.png": grey(0, size=(4, 6))})
    refused(root, "tall.png is 4x6", "target size is 6x4", "aspect ratios differ")


def test_empty_folder_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    refused(tmp_path / "empty", "contains no PNG or JPEG images")


def test_empty_zip_refused(tmp_path):
    path = tmp_path / "empty.zip"
    zipfile.ZipFile(path, "w").close()
    refused(path, "contains no PNG or JPEG images")


def test_zip_declared_size_over_limit_refused_before_extracting(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.png", bytes(50_000))  # not even an image: never opened
    assert path.stat().st_size < 1000
    refused(path, "50,000 bytes", "1,000-byte limit", "max_bytes", max_bytes=1000)


def test_folder_size_over_limit_refused(tmp_path):
    root = write_images(tmp_path / "f", {f"{i}.png": grey(i, size=(60, 40)) for i in range(3)})
    refused(root, "exceeds the 100-byte limit", max_bytes=100)


def test_decoded_pixels_over_limit_refused(tmp_path):
    root = write_images(tmp_path / "d", {name: grey(0, (200, 200)) for name in ("a.png", "b.png")})
    assert sum(p.stat().st_size for p in root.iterdir()) < 2000  # tiny files, 80 kB of pixels
    refused(root, "decoded pixels", "80,000 bytes", max_bytes=2000)


def test_corrupt_image_refused(tmp_path):
    root = write_images(tmp_path / "bad", {"a.png": grey(0)})
    (root / "b.png").write_bytes(b"\x89PNG but then nothing useful")
    refused(root, "b.png is not a readable PNG or JPEG image")


def test_not_a_zip_refused(tmp_path):
    path = tmp_path / "photos.zip"
    path.write_bytes(b"this is not a zip")
    refused(path, "not a readable zip archive")
