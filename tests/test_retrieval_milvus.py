"""The Milvus backend, run for real: Milvus Lite's server binary started by pymilvus on a local file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.cli import main
from explorer.retrieval.milvus_index import MilvusIndex, connect
from explorer.search import CodeIndex
from tests.retrieval_files import saved_model, write_pngs


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_milvus_agrees_with_exact_search(tmp_path, metric):
    codes = np.random.default_rng(0).standard_normal((1000, 8)).astype(np.float32)
    index = MilvusIndex(metric, str(tmp_path / "milvus.db"), "codes").fit(codes[:900])
    try:
        index.add(codes[900:])
        rows, distances = index.search(codes[:5] + 0.01, 4)
        exact_rows, exact_distances = CodeIndex(metric).fit(codes).search(codes[:5] + 0.01, 4)
        assert len(index) == 1000 and index.recall_ == 1.0
        assert np.array_equal(rows, exact_rows)
        np.testing.assert_allclose(distances, exact_distances, atol=1e-4)
    finally:
        index.close()


def test_index_and_search_through_milvus(tmp_path, capsys):
    model = saved_model(tmp_path / "model")
    write_pngs(tmp_path / "photos", 120)
    database = tmp_path / "milvus" / "codes.db"
    assert main(["index", str(model), str(tmp_path / "photos"), "--out", str(tmp_path / "index"),
                 "--engine", "milvus", "--milvus-uri", str(database)]) == 0
    assert "engine milvus, recall@10 1.0" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["engine"]["uri"] == str(database) and manifest["engine"]["collection"].startswith("explorer_")
    assert main(["search", str(tmp_path / "index"), str(tmp_path / "photos" / "b" / "000004.png"), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)[0]["neighbours"]
    assert hits[0]["source"] == "b/000004.png" and len(hits) == 10
    client = connect(str(database))
    client.drop_collection(manifest["engine"]["collection"])
    client.close()
    assert main(["search", str(tmp_path / "index"), str(tmp_path / "photos" / "b" / "000004.png")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Milvus collection" in error, error
