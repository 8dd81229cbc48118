"""NumPy -> torch without copies."""
from __future__ import annotations

import warnings

import numpy as np
import torch


def as_tensor(array: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """A tensor sharing ``array``'s memory on the CPU (one copy to another device).

    Dataset arrays are read-only so that the in-process cache can't be edited by accident; torch
    warns when wrapping them. Nothing here writes into its inputs, so the warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)
