"""Acceptance 1 of issue 15 at full size (-m slow): ``index`` then ``search`` on a generated folder of
100,000 images, through the real entry point."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.retrieval import store
from tests.retrieval_files import saved_model, write_pngs

ROOT = Path(__file__).resolve().parents[1]
N = 100_000


@pytest.mark.slow
def test_index_then_search_a_folder_of_100k_images(tmp_path):
    model = saved_model(tmp_path / "model")
    write_pngs(tmp_path / "photos", N)
    explorer = [sys.executable, "-m", "explorer"]
    indexed = subprocess.run([*explorer, "index", str(model), str(tmp_path / "photos"), "--out",
                              str(tmp_path / "index")], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    assert f"indexed {N:,} images" in indexed.stdout and "skipped: none" in indexed.stdout
    manifest = store.read_manifest(tmp_path / "index")
    assert manifest["counts"]["indexed"] == N and manifest["engine"]["kind"] == "exact"
    queries = [tmp_path / "photos" / "a" / "000000.png", tmp_path / "photos" / "c" / "099998.png"]
    found = subprocess.run([*explorer, "search", str(tmp_path / "index"), *map(str, queries), "-k", "5", "--json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert found.returncode == 0, found.stderr[-2000:]
    results = json.loads(found.stdout)
    assert [r["neighbours"][0]["source"] for r in results] == ["a/000000.png", "c/099998.png"]
    assert all(len(r["neighbours"]) == 5 and r["neighbours"][0]["distance"] < 1e-3 for r in results)
