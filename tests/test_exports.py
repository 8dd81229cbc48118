"""Code exports: every image's index, label and code, as CSV and as NPZ."""
from __future__ import annotations

import io

import numpy as np

from explorer.exports import codes_csv, codes_npz


def test_the_csv_holds_index_label_and_code_of_every_image():
    codes = np.arange(6, dtype=np.float32).reshape(3, 2)
    text = codes_csv(codes, np.array([4, 0, 9]))
    assert text.splitlines()[0] == "index,label,z0,z1"
    table = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    np.testing.assert_allclose(table, [[0, 4, 0, 1], [1, 0, 2, 3], [2, 9, 4, 5]])
    unlabelled = np.loadtxt(io.StringIO(codes_csv(codes, None)), delimiter=",", skiprows=1)
    assert unlabelled[:, 1].tolist() == [-1, -1, -1]


def test_the_npz_holds_codes_and_labels_when_there_are_any():
    codes = np.arange(6, dtype=np.float32).reshape(3, 2)
    with np.load(io.BytesIO(codes_npz(codes, np.array([4, 0, 9]))), allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["codes"], codes)
        assert archive["labels"].tolist() == [4, 0, 9]
    with np.load(io.BytesIO(codes_npz(codes, None)), allow_pickle=False) as archive:
        assert archive.files == ["codes"]
