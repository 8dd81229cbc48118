"""Hostile uploads on the app's Model page (AppTest, in the bounded worker): each shows one error, no
exception, no server path, and the session stays under 1 GB of RSS. One app session takes every
upload in turn, as one user trying them all would.
"""
from __future__ import annotations

import numpy as np
import pytest

from explorer.checkpoint import CONFIG, WEIGHTS
from tests.hostile import files
from tests.hostile.conftest import MAX_RSS_MB, spoiled

DATA, CHECKPOINT = ("data_upload", "use_upload"), ("ckpt_upload", "load_checkpoint")


def _uploads(tmp_path, good) -> list[tuple[tuple[str, str], list, str]]:
    """(uploader, files, expected text of the one error)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    huge_widths = spoiled(good, tmp_path / "a", lambda r: r["config"].update(hidden="1000000000"))
    no_name = spoiled(good, tmp_path / "b", lambda r: r["dataset"].pop("name"))
    lies = files.lie_about_sizes(files.write_zip(tmp_path / "lies.zip", {n: (good / n).read_bytes()
                                                                           for n in (WEIGHTS, CONFIG)}))
    idx = tmp_path / "evil-images-idx3-ubyte"
    idx.write_bytes(files.idx_header((2**32 - 1,) * 3))
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "empty.zip").write_bytes(b"")
    return [
        (DATA, [files.write_zip(tmp_path / "huge.npz", {"x.npy": files.npy((10**12,))})], "exceeds"),
        (DATA, [files.write_zip(tmp_path / "bomb.zip", {"a.png": files.png(12000, 12000),
                                                         "b.png": files.image_bytes()})], "too many pixels"),
        (DATA, [files.zeros_npz(tmp_path / "zeros.npz", (80 * 2**20 // 64, 8, 8))], "as float32"),
        (DATA, [idx], "exceeds"),
        (DATA, [files.write_zip(tmp_path / "pickle.npz", {"x.npy": files.npy_of(np.array([{}, None]))})],
         "pickled data"),
        (DATA, [files.write_zip(tmp_path / "trip.zip", {"../../evil.png": files.image_bytes(),
                                                         "b.png": files.image_bytes()})], "named outside"),
        (DATA, [tmp_path / "empty.npz"], "not a readable .npz"),
        (CHECKPOINT, [files.write_zip(tmp_path / "widths.zip", {n: (huge_widths / n).read_bytes()
                                                                 for n in (WEIGHTS, CONFIG)})],
         "weights, over the limit"),
        (CHECKPOINT, [no_name / WEIGHTS, no_name / CONFIG], "field dataset.name is missing"),
        (CHECKPOINT, [lies], "is over"),
        (CHECKPOINT, [tmp_path / "empty.zip"], "not a zip file this app can read"),
    ]


@pytest.fixture(scope="module")
def shown(worker, tmp_path_factory, good_checkpoint):
    tmp_path = tmp_path_factory.mktemp("app")
    uploads = _uploads(tmp_path, good_checkpoint)
    outcome = worker.call("tests.hostile.cases:app_uploads", [[*keys, [str(p) for p in paths]]
                                                             for keys, paths, _ in uploads], timeout=600)
    assert outcome.crash is None and outcome.error is None, outcome
    assert outcome.peak_mb < MAX_RSS_MB, f"peak RSS {outcome.peak_mb:.0f} MB"
    return list(zip(uploads, outcome.result))


def test_each_hostile_upload_shows_one_plain_error(shown):
    for (_, paths, expected), seen in shown:
        assert seen["exceptions"] == [], (paths, seen)
        assert len(seen["errors"]) == 1 and expected in seen["errors"][0], (paths, seen)
        message = seen["errors"][0]
        assert "\n" not in message and "/tmp/" not in message and "BytesIO" not in message, message
