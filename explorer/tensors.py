"""NumPy -> torch without copies, and stored images -> float32."""
from __future__ import annotations

import warnings

import numpy as np
import torch

# Images per forward pass when encoding, decoding or scoring whole splits without gradients: small
# enough that conv_ae's activations stay in the CPU cache (larger batches were several times slower,
# benchmarks/RESULTS.md), and the MLPs are as fast at 256 as at larger batches.
INFERENCE_BATCH = 256


def as_tensor(array: "np.ndarray | torch.Tensor", device: torch.device | str = "cpu") -> torch.Tensor:
    """A tensor sharing ``array``'s memory on the CPU (one copy to another device); a tensor moves as it is.

    Dataset arrays are read-only so that the in-process cache can't be edited by accident; torch
    warns when wrapping them. Nothing here writes into its inputs, so the warning is silenced.
    """
    if isinstance(array, torch.Tensor):
        return array.to(device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def unit_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1]: uint8 divided by 255 (the same float32 as NumPy's division, so a
    uint8 copy of IDX data trains exactly as its float32 form), any float dtype cast."""
    if images.dtype == torch.uint8:
        return images.float().div_(255)
    return images.float()
