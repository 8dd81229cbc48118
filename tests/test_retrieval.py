"""Index folders: index then search round trips, the engines behind one interface, append and export."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.retrieval import store
from explorer.retrieval.build import build
from explorer.retrieval.engines import chosen
from explorer.retrieval.faiss_index import FaissIndex
from explorer.retrieval.lookup import neighbours, open_index, query_image
from explorer.search import CodeIndex
from tests.retrieval_files import saved_model, write_pngs


@pytest.fixture
def indexed(tmp_path):
    """A model, a folder of 300 PNGs in three class folders, and its index folder."""
    model = saved_model(tmp_path / "model")
    photos = tmp_path / "photos"
    write_pngs(photos, 300)
    manifest = build(model, str(photos), tmp_path / "index", progress=False)
    return model, photos, tmp_path / "index", manifest


def test_index_then_search_finds_each_image_first(indexed, capsys):
    model, photos, index, manifest = indexed
    assert manifest["counts"] == {"indexed": 300, "added": 300, "skipped": {}, "resumed_batches": 0}
    assert manifest["engine"]["kind"] == "exact" and manifest["class_names"] == ["a", "b", "c"]
    assert manifest["model"]["weights_sha256"] == json.loads((model / "config.json").read_text())["weights_sha256"]
    assert manifest["preprocessing"]["size"] == [8, 8] and manifest["versions"]["faiss-cpu"] == "1.15.1"
    assert main(["search", str(index), str(photos / "b" / "000001.png"), str(photos / "c" / "000299.png"),
                 "-k", "3", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["neighbours"][0]["source"] for r in results] == ["b/000001.png", "c/000299.png"]
    assert [r["neighbours"][0]["label"] for r in results] == ["b", "c"]
    assert all(r["neighbours"][0]["distance"] < 1e-3 for r in results)
    assert all(len(r["neighbours"]) == 3 for r in results)


def test_index_folder_holds_codes_thumbnails_and_sources(indexed):
    _, photos, index, _ = indexed
    collection = store.read(index)
    assert collection.codes.shape == (300, 4) and collection.thumbnails.shape == (300, 1, 8, 8)
    assert collection.sources[:2] == ["a/000000.png", "a/000003.png"]
    assert np.array_equal(np.bincount(collection.labels), [100, 100, 100])
    first = np.asarray(Image.open(photos / "a" / "000000.png"))
    assert np.array_equal(collection.thumbnails[0, 0], first)  # 8x8 thumbnails are the pixels themselves


def test_append_adds_only_new_images(indexed):
    model, photos, index, _ = indexed
    write_pngs(photos, 30, seed=1, start=300)
    manifest = build(model, str(photos), index, append=True, progress=False)
    assert manifest["counts"]["indexed"] == 330 and manifest["counts"]["added"] == 30
    opened = open_index(index)
    image = query_image(photos / "a" / "000300.png", opened.input_shape)
    assert neighbours(opened, image, 1)[0]["source"] == "a/000300.png"


def test_engine_is_chosen_by_size_and_the_flag_overrides():
    assert chosen("auto", 100_000) == "exact" and chosen("auto", 100_001) == "faiss-ivf"
    assert chosen("faiss-flat", 10) == "faiss-flat"


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_faiss_flat_agrees_with_code_index(metric):
    codes = np.random.default_rng(0).standard_normal((3000, 12)).astype(np.float32)
    queries = codes[:20] + 0.05
    exact_rows, exact_distances = CodeIndex(metric).fit(codes).search(queries, 5)
    rows, distances = FaissIndex(metric, "flat").fit(codes).search(queries, 5)
    assert np.array_equal(rows, exact_rows)
    np.testing.assert_allclose(distances, exact_distances, atol=1e-4)


def test_faiss_ivf_reaches_its_recall_and_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((50, 16)) * 4
    codes = (centres[rng.integers(0, 50, 20000)] + rng.standard_normal((20000, 16))).astype(np.float32)
    index = FaissIndex("euclidean", "ivf").fit(codes)
    files, settings = index.save(tmp_path)
    assert settings["recall_at_10"] >= 0.97 and settings["nlist"] == 20000 // 1024  # the target and its margin
    assert settings["structure"] == "IVF19,PQ16x4fs,RFlat" and files == {"index.faiss": tmp_path / "index.faiss"}
    loaded = FaissIndex.load(tmp_path, files, codes, {**settings, "metric": "euclidean"})
    assert np.array_equal(loaded.search(codes[:50], 10)[0], index.search(codes[:50], 10)[0])
    index.add(codes[:10])
    assert len(index) == 20010


def test_faiss_ivf_calibrates_more_cells_for_codes_without_structure():
    clustered = np.random.default_rng(0).standard_normal((50, 16)) * 4
    rng = np.random.default_rng(1)
    codes = {"clusters": (clustered[rng.integers(0, 50, 20000)] + rng.standard_normal((20000, 16))).astype(np.float32),
             "none": rng.standard_normal((20000, 16)).astype(np.float32)}
    fitted = {kind: FaissIndex("euclidean", "ivf").fit(c) for kind, c in codes.items()}
    assert all(index.recall_ >= 0.97 for index in fitted.values())  # each reaches the target with its margin
    assert fitted["none"].nprobe >= 2 * fitted["clusters"].nprobe, {k: i.nprobe for k, i in fitted.items()}
    queries = codes["none"][:30] + 0.01  # new queries near the codes: exact within the calibrated recall
    exact = CodeIndex().fit(codes["none"]).search(queries, 10)[0]
    found = fitted["none"].search(queries, 10)[0]
    assert np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)]) >= 0.9


def test_code_index_add_extends_the_rows():
    codes = np.random.default_rng(0).standard_normal((100, 3)).astype(np.float32)
    index = CodeIndex().fit(codes[:60])
    index.add(codes[60:])
    assert len(index) == 100 and index.search(codes[80:81], 1)[0][0, 0] == 80


def test_an_ivf_index_folder_round_trips(tmp_path):
    model = saved_model(tmp_path / "model")
    write_pngs(tmp_path / "photos", 600)
    manifest = build(model, str(tmp_path / "photos"), tmp_path / "index", engine="faiss-ivf", progress=False)
    assert manifest["engine"]["kind"] == "ivf" and "index.faiss" in manifest["files"]
    opened = open_index(tmp_path / "index")
    image = query_image(tmp_path / "photos" / "a" / "000000.png", opened.input_shape)
    assert neighbours(opened, image, 1)[0]["source"] == "a/000000.png"


def test_export_writes_npz_and_projector_files(indexed, tmp_path):
    _, _, index, _ = indexed
    assert main(["export-index", str(index), "--out", str(tmp_path / "export")]) == 0
    out = tmp_path / "export"
    vectors = (out / "vectors.tsv").read_text().splitlines()
    assert len(vectors) == 300 and all(len(line.split("\t")) == 4 for line in vectors)
    metadata = (out / "metadata.tsv").read_text().splitlines()
    assert metadata[0] == "source\tlabel" and metadata[1] == "a/000000.png\ta" and len(metadata) == 301
    assert Image.open(out / "sprite.png").size == (18 * 8, 18 * 8)  # ceil(sqrt(300)) = 18 tiles a side
    assert "single_image_dim: 8" in (out / "projector_config.pbtxt").read_text()
    with np.load(out / "codes.npz") as exported:
        assert exported["codes"].shape == (300, 4) and exported["sources"][0] == "a/000000.png"
