"""The index folder's files on disk: columns written and read a block at a time, files moved into the
folder by the atomic replace (shared with checkpoints), and exact answers found block by block."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import atomic_folder
from explorer.retrieval import store
from explorer.retrieval.base import exact_neighbours
from explorer.search import CodeIndex


def test_a_column_written_in_blocks_reads_back_by_slices_and_rows(tmp_path):
    codes = np.random.default_rng(0).standard_normal((1000, 7)).astype(np.float32)
    writer = store.NpyWriter(tmp_path / "codes.npy", codes.shape, np.float32)
    for start in range(0, 1000, 300):
        writer.write(codes[start:start + 300])
    assert np.array_equal(np.load(writer.close()), codes)  # an ordinary .npy
    rows = store.NpyRows.of(tmp_path / "codes.npy")
    assert rows.shape == (1000, 7) and np.array_equal(rows[250:260], codes[250:260])
    wanted = np.array([999, 3, 500, 3, 0])
    assert np.array_equal(rows[wanted], codes[wanted]) and np.array_equal(np.asarray(rows), codes)


def test_a_column_short_of_its_rows_is_refused(tmp_path):
    writer = store.NpyWriter(tmp_path / "codes.npy", (10, 2), np.float32)
    writer.write(np.zeros((9, 2)))
    with pytest.raises(ValueError, match="9 rows written of 10"):
        writer.close()


def test_the_atomic_replace_moves_files_on_disk_and_writes_bytes(tmp_path):
    folder, work = tmp_path / "index", tmp_path / "work"
    work.mkdir()
    (work / "big.npy").write_bytes(b"x" * 10_000)
    atomic_folder.replace(folder, {"big.npy": work / "big.npy", "small.txt": b"hello"}, lambda f: True, lambda f: None)
    assert (folder / "big.npy").read_bytes() == b"x" * 10_000 and (folder / "small.txt").read_bytes() == b"hello"
    assert not (work / "big.npy").exists()  # moved, not copied
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "work"]  # no staging or old copy left


def test_a_replace_whose_file_is_missing_leaves_the_old_folder(tmp_path):
    folder = tmp_path / "index"
    atomic_folder.replace(folder, {"a.txt": b"old"}, lambda f: True, lambda f: None)
    with pytest.raises(OSError):
        atomic_folder.replace(folder, {"b.txt": b"new", "c.npy": tmp_path / "gone.npy"}, lambda f: True,
                              lambda f: None)
    assert [p.name for p in folder.iterdir()] == ["a.txt"] and (folder / "a.txt").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_neighbours_block_by_block_are_those_of_one_search(tmp_path, metric):
    codes = np.random.default_rng(1).standard_normal((5000, 6)).astype(np.float32)
    np.save(tmp_path / "codes.npy", codes)
    queries = codes[:40] + 0.01
    whole = CodeIndex(metric).fit(codes).search(queries, 11)[0]
    assert np.array_equal(exact_neighbours(store.NpyRows.of(tmp_path / "codes.npy"), queries, 11, metric, 700), whole)
