"""Bad inputs to index and search: each skipped and counted, or refused with one line (exit 2)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.retrieval import store
from explorer.retrieval.build import build
from tests.retrieval_files import giant_png, saved_model, write_pngs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model(tmp_path):
    return saved_model(tmp_path / "model")


def one_line_error(capsys, argv, *expected) -> str:
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: "), error
    assert all(text in error for text in expected), error
    return error


def test_hostile_files_are_skipped_and_counted(tmp_path, model, capsys):
    photos = tmp_path / "photos"
    write_pngs(photos, 30)
    (photos / "a" / "zero.png").write_bytes(b"")
    (photos / "a" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    (photos / "b" / "giant.png").write_bytes(giant_png(20000, 20000))
    (photos / "b" / "notes.txt").write_text("not an image")
    (photos / "c" / "truncated.png").write_bytes((photos / "c" / "000002.png").read_bytes()[:60])
    assert main(["index", str(model), str(photos), "--out", str(tmp_path / "index")]) == 0
    skipped = store.read_manifest(tmp_path / "index")["counts"]["skipped"]
    assert skipped == {"damaged image": 1, "empty file": 1, "not an image file (by its name)": 1,
                       "not an image this app reads": 1, "over 16,777,216 pixels": 1}
    assert store.read_manifest(tmp_path / "index")["counts"]["indexed"] == 30
    assert "skipped: 1 damaged image, 1 empty file" in capsys.readouterr().out


def test_other_sizes_follow_the_rule_or_are_refused_with_the_reason(tmp_path, model, capsys):
    photos = tmp_path / "photos"
    write_pngs(photos, 9)
    Image.fromarray(np.full((32, 32), 200, np.uint8)).save(photos / "a" / "large.png")   # resized, area average
    Image.fromarray(np.full((8, 24), 200, np.uint8)).save(photos / "a" / "wide.png")     # 3:1 refused
    Image.new("RGB", (16, 16), (250, 0, 0)).save(photos / "b" / "colour.png")            # made grey
    manifest = build(model, str(photos), tmp_path / "index", progress=False)
    assert manifest["counts"]["indexed"] == 11
    assert manifest["counts"]["skipped"] == {"aspect ratio other than the model's 8x8": 1}
    collection = store.read(tmp_path / "index")
    large = collection.sources.index("a/large.png")
    assert np.all(collection.thumbnails[large] == 200)
    one_line_error(capsys, ["search", str(tmp_path / "index"), str(photos / "a" / "wide.png")],
                   "wide.png", "cannot be converted by the index's rule", "aspect ratio")
    (tmp_path / "text.png").write_text("hello")
    one_line_error(capsys, ["search", str(tmp_path / "index"), str(tmp_path / "text.png")], "not an image")
    one_line_error(capsys, ["search", str(tmp_path / "index"), str(photos)], "no such image file")


def test_arrays_of_another_shape_are_refused(tmp_path, model, capsys):
    np.savez(tmp_path / "x.npz", x=np.zeros((20, 12, 12), np.float32))
    one_line_error(capsys, ["index", str(model), str(tmp_path / "x.npz"), "--out", str(tmp_path / "index")],
                   "(1, 12, 12)", "not the model's (1, 8, 8)")


def test_an_npz_is_indexed_by_row(tmp_path, model):
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).uniform(size=(40, 8, 8)).astype(np.float32))
    manifest = build(model, str(tmp_path / "x.npz"), tmp_path / "index", progress=False)
    assert manifest["counts"]["indexed"] == 40
    assert store.read(tmp_path / "index").sources[0].startswith("train/")


@pytest.fixture
def index_folder(tmp_path, model):
    write_pngs(tmp_path / "photos", 40)
    build(model, str(tmp_path / "photos"), tmp_path / "index", engine="faiss-flat", progress=False)
    return tmp_path / "index"


@pytest.mark.parametrize("damage, expected", [
    (lambda f: (f / "codes.npy").unlink(), "codes.npy is missing"),
    (lambda f: (f / "index.faiss").write_bytes(b"garbage"), "index.faiss is damaged"),
    (lambda f: (f / "sources.txt").write_text("x\n"), "sources.txt is damaged"),
    (lambda f: (f / "manifest.json").write_text("{"), "manifest.json is unreadable"),
    (lambda f: (f / "manifest.json").unlink(), "not an index folder"),
    (lambda f: (f / "manifest.json").write_text(json.dumps({"format": "autoencoder-explorer index",
                                                            "format_version": 1, "count": 10**12, "code_dim": 4,
                                                            "files": {}})), "declares 1000000000000 codes"),
])
def test_a_damaged_index_folder_is_refused_with_one_line(index_folder, capsys, damage, expected):
    damage(index_folder)
    one_line_error(capsys, ["search", str(index_folder), str(index_folder.parent / "photos" / "a" / "000000.png")],
                   expected)


def test_another_models_index_is_refused_with_one_line(index_folder, tmp_path, capsys):
    other = saved_model(tmp_path / "other", seed=1)
    one_line_error(capsys, ["search", str(index_folder), str(tmp_path / "photos" / "a" / "000000.png"),
                            "--model", str(other)], "was built by another model")
    one_line_error(capsys, ["index", str(other), str(tmp_path / "photos"), "--out", str(index_folder), "--append"],
                   "was built by another model")


def test_killed_index_resumes_and_the_old_index_stays_loadable(tmp_path, model):
    photos, index = tmp_path / "photos", tmp_path / "index"
    write_pngs(photos, 20)
    build(model, str(photos), index, progress=False)
    write_pngs(photos, 1500, start=20)
    command = [sys.executable, "-m", "explorer", "index", str(model), str(photos), "--out", str(index), "--batch", "4"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = tmp_path / ".index.partial"
    deadline = time.monotonic() + 60
    while len(list(work.glob("chunk-*.npz"))) < 20 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = len(list(work.glob("chunk-*.npz")))
    assert 20 <= done < 380, "the run was not killed midway"
    assert store.read(index).manifest["counts"]["indexed"] == 20  # the old index, whole and loadable
    manifest = build(model, str(photos), index, batch=4, progress=False)
    assert manifest["counts"]["indexed"] == 1520 and manifest["counts"]["resumed_batches"] >= done
    assert not work.exists()


def test_names_that_cannot_be_one_line_of_utf8_are_skipped_and_an_empty_append_keeps_the_index(tmp_path, model):
    photos = tmp_path / "photos"
    write_pngs(photos, 12)
    image = (photos / "a" / "000000.png").read_bytes()
    (photos / "a" / "line\nbreak.png").write_bytes(image)
    with open(os.path.join(os.fsencode(photos / "b"), b"latin\xe9.png"), "wb") as handle:
        handle.write(image)
    manifest = build(model, str(photos), tmp_path / "index", progress=False)
    assert manifest["counts"]["skipped"] == {"name not in UTF-8": 1, "name with a line break": 1}
    again = build(model, str(photos), tmp_path / "index", append=True, progress=False)
    assert again["counts"]["indexed"] == 12 and again["counts"]["added"] == 0
    assert store.read(tmp_path / "index").thumbnails.shape == (12, 1, 8, 8)


def test_milvus_without_a_uri_is_refused_before_any_image_is_read(tmp_path, model, capsys):
    one_line_error(capsys, ["index", str(model), str(tmp_path / "nothing-here"), "--out", str(tmp_path / "index"),
                            "--engine", "milvus"], "needs --milvus-uri")
    assert not (tmp_path / ".index.partial").exists()
