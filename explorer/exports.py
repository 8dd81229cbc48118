"""The codes of a split as files a student can open elsewhere: CSV (a spreadsheet) and NPZ (NumPy)."""
from __future__ import annotations

import io

import numpy as np

NO_LABEL = -1  # the label column of an unlabelled dataset


def codes_csv(codes: np.ndarray, labels: np.ndarray | None) -> str:
    """One row per image of ``codes`` (N, K): its index, its label (-1 when unlabelled) and z0..z(K-1)."""
    header = ["index", "label"] + [f"z{d}" for d in range(codes.shape[1])]
    labels = labels if labels is not None else np.full(len(codes), NO_LABEL)
    rows = np.column_stack([np.arange(len(codes)), labels, codes])
    out = io.StringIO()
    np.savetxt(out, rows, delimiter=",", header=",".join(header), comments="",
               fmt=["%d", "%d"] + ["%.6g"] * codes.shape[1])
    return out.getvalue()


def codes_npz(codes: np.ndarray, labels: np.ndarray | None) -> bytes:
    """``codes`` (N, K) and, when there are any, ``labels`` (N,) in a compressed ``.npz``."""
    out = io.BytesIO()
    np.savez_compressed(out, codes=codes, **({"labels": labels} if labels is not None else {}))
    return out.getvalue()
