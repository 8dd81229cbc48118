"""Own data and checkpoints uploaded from the Model page switch the session cleanly: an .npz, a zip of
images, an IDX pair under its official names, then a checkpoint trained on that data; every page then
opens on it without an exception or an error."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.checkpoint import load
from explorer.data import load_user_data, write_idx
from explorer.gallery import find_pretrained
from explorer.registry import make_config
from explorer.training import train
from explorer.ui import shell
from explorer.ui.state import CurrentModel

APP = str(Path(__file__).resolve().parents[2] / "app.py")
N_IMAGES, N_TEST = 150, 30   # the seeded 80/20 split of 150 images
IDX_IMAGES, IDX_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


@pytest.fixture(scope="module")
def pixels(digits) -> tuple[np.ndarray, np.ndarray]:
    """150 digits as uint8 (N, 8, 8) images of three classes, and their labels."""
    keep = np.flatnonzero(digits.y_train < 3)[:N_IMAGES]
    return (digits.x_train[keep, 0] * 255).round().astype(np.uint8), digits.y_train[keep]


def npz_files(x, y, tmp_path) -> list[tuple[str, bytes]]:
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    return [("digits-012.npz", buffer.getvalue())]


def zip_files(x, y, tmp_path) -> list[tuple[str, bytes]]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (image, label) in enumerate(zip(x, y)):
            png = io.BytesIO()
            Image.fromarray(image).save(png, format="PNG")
            archive.writestr(f"digits/{label}/{i:03d}.png", png.getvalue())
    return [("digits-012.zip", buffer.getvalue())]


def idx_files(x, y, tmp_path) -> list[tuple[str, bytes]]:
    write_idx(tmp_path / IDX_IMAGES, x)
    write_idx(tmp_path / IDX_LABELS, y.astype(np.uint8))
    return [(name, (tmp_path / name).read_bytes()) for name in (IDX_LABELS, IDX_IMAGES)]


KINDS = {"npz": (npz_files, "digits-012.npz"), "zip": (zip_files, "digits-012.zip"), "idx": (idx_files, IDX_IMAGES)}


def open_model_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=180).run()


def upload_data(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="data_upload").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run().button(key="use_upload").click().run()


def upload_checkpoint(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="ckpt_upload").set_value((name, data, "application/zip"))
    return at.run().button(key="load_checkpoint").click().run()


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error]


def url(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


@pytest.mark.parametrize("kind", list(KINDS))
def test_uploaded_data_then_a_checkpoint_switch_the_session_and_every_page_opens(kind, pixels, tmp_path):
    make_files, main = KINDS[kind]
    files = make_files(*pixels, tmp_path)
    at = upload_data(open_model_page(), files)
    name = f"upload:{main}"
    assert not problems(at) and at.session_state["dataset"] == name and at.session_state["current"] is None
    uploaded = at.session_state["uploads"][name]
    assert (len(uploaded.x_train), len(uploaded.x_test), uploaded.input_shape) == (N_IMAGES - N_TEST, N_TEST, (1, 8, 8))
    assert uploaded.class_names == ("0", "1", "2") and uploaded.source == f"your upload {main}"
    assert np.array_equal(np.sort(np.concatenate([uploaded.y_train, uploaded.y_test])), np.sort(pixels[1]))
    assert url(at) == {"dataset": name, "variant": "deep_ae"}
    assert any(f"No `deep_ae` model is loaded for {name}" in i.value for i in at.sidebar.info)

    folder = tmp_path / "data"
    folder.mkdir()
    for file_name, data in files:
        (folder / file_name).write_bytes(data)
    data = load_user_data(folder / main)
    model = CurrentModel(train(data, make_config("ae", epochs=2, latent_dim=4), device="cpu").model, name, "test")
    at = upload_checkpoint(at, "mine.zip", model.checkpoint_zip(data))
    current = at.session_state["current"]
    assert not problems(at) and (current.dataset_name, current.variant, current.origin) == (name, "ae", "uploaded mine.zip")
    assert url(at) == {"dataset": name, "variant": "ae", "code": "4"}
    for file, title, _, _ in shell.PAGES:
        at.switch_page(f"explorer/ui/pages/{file}").run()
        assert not problems(at), (kind, file, problems(at))
        assert title in [t.value for t in at.title] and at.session_state["current"] is current, file


def test_a_bad_upload_says_what_is_wrong_with_the_file_only(tmp_path):
    buffer = io.BytesIO()
    np.savez(buffer, images=np.zeros((4, 8, 8), np.uint8))
    at = upload_data(open_model_page(), [("mine.npz", buffer.getvalue())])
    assert not at.exception and at.session_state["dataset"] == "digits"
    assert [e.value for e in at.error] == [("mine.npz: has no array named 'x' (found: images); save it as "
                                           "np.savez(file, x=images, y=labels)")]
    at = upload_data(open_model_page(), [("a.npz", buffer.getvalue()), ("b.npz", buffer.getvalue())])
    assert [e.value for e in at.error] == [("2 files: upload one .npz or .zip, or one IDX images file with its "
                                           "labels file")]


def test_a_checkpoint_of_data_the_session_lacks_is_refused_with_what_to_do(pixels, tmp_path):
    at = open_model_page()
    np.savez(tmp_path / "x.npz", x=pixels[0])
    data = load_user_data(tmp_path / "x.npz")
    model = CurrentModel(train(data, make_config("ae", epochs=1, latent_dim=3), device="cpu").model, data.name, "test")
    at = upload_checkpoint(at, "theirs.zip", model.checkpoint_zip(data))
    assert at.session_state["current"].origin.startswith("pretrained deep_ae")
    assert [e.value for e in at.error] == [("theirs.zip was trained on upload:x.npz, which this session does not have: "
                                           "upload that data under 'Use your own data' first, then the checkpoint")]


def test_a_digits_checkpoint_switches_the_variant_and_code(digits):
    at = open_model_page()
    shipped = load(find_pretrained("digits", "vae", 8).path)
    zipped = CurrentModel(shipped.model, "digits", "test").checkpoint_zip(digits)
    at = upload_checkpoint(at, "vae8.zip", zipped)
    current = at.session_state["current"]
    assert not problems(at) and (current.variant, current.model.latent_dim) == ("vae", 8)
    assert url(at) == {"dataset": "digits", "variant": "vae", "code": "8"}
    assert next(s for s in at.selectbox if s.label == "Variant").value == "vae"
    assert "`vae` · code 8" in " ".join(m.value for m in at.sidebar.markdown)
