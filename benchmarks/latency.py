"""Item 3: interaction latency at the Python level the pages call, one user action per call.

* decode: one latent vector -> the traverse slider's uint8 picture (``traverse.decode`` then
  ``plots.mosaic``, as explorer/ui/traverse_panels.py does before ``st.image``); the page's tests
  check what the slider shows, this row how fast it comes;
* search: top-10 over the 60k training codes for one query code (CodeIndex);
* place: one new code onto a fitted PCA or UMAP map (``projector.transform``; called by
  :mod:`benchmarks.maps`, which fits the maps);
* denoise: corrupt one image and reconstruct it (explorer.denoise.add_noise + repair).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.common import Row, Sizes, b2b_text, latency_text, time_interaction
from explorer.search import CodeIndex
from explorer.traverse import decode

SLIDER_PIXELS = 280  # the traverse page's decoded picture width


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [0, 1] -> (B, H, W, C) uint8, as ``plots.mosaic`` rounds."""
    return images.mul(255).round_().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def decode_image(model, z: np.ndarray) -> np.ndarray:
    """The traverse slider's call: decode one code (1, K) to the uint8 picture the page shows."""
    from explorer.plots import mosaic
    images = decode(model, z, None)
    return mosaic(images, 1, scale=max(1, SLIDER_PIXELS // (images.shape[-1] + 1)), gap=1)


def decode_stats(model, codes: np.ndarray, calls: int) -> dict:
    z = np.ascontiguousarray(codes[:calls], np.float32)
    model.eval()
    return time_interaction(lambda i: decode_image(model, z[i % len(z)][None]), calls)


def search_stats(index_codes: np.ndarray, queries: np.ndarray, calls: int) -> dict:
    index = CodeIndex("euclidean").fit(index_codes)
    return time_interaction(lambda i: index.query(queries[i % len(queries)][None], 10), calls)


def place_stats(projector, new_codes: np.ndarray, calls: int) -> dict:
    """One new code per call onto a fitted map; the first call (which may build an index) apart."""
    start = time.perf_counter()
    projector.transform(new_codes[:1])
    first = time.perf_counter() - start
    stats = time_interaction(lambda i: projector.transform(new_codes[i % len(new_codes)][None]), calls, warmup=0)
    return {**stats, "first_ms": first * 1e3}


def denoise_stats(model, x: np.ndarray, calls: int) -> dict:
    from explorer.denoise import add_noise, repair
    model.eval()

    def one(i: int):
        noisy = add_noise(x[i % len(x)][None], "gaussian", 0.3, seed=i)
        return repair(model, noisy)

    return time_interaction(one, calls)


def run(model, dataset, sizes: Sizes, results: dict) -> tuple[list[Row], dict]:
    """Rows for decode, search and denoise (their stats also go to ``results["latency"]``); returns
    the train and test codes, which the map rows reuse."""
    section, calls = "3 latency", sizes.latency_calls
    train_codes = model.encode_array(dataset.x_train[:sizes.search_n])
    test_codes = model.encode_array(dataset.x_test)
    stats = results.setdefault("latency", {})
    stats["decode"] = decode_stats(model, test_codes, calls)
    stats["search"] = search_stats(train_codes, test_codes, calls)
    stats["denoise"] = denoise_stats(model, dataset.x_test, calls)
    out = [Row(section, f"decode 1 code -> uint8 picture ({model.variant_name}-{model.latent_dim})",
               latency_text(stats["decode"]), f"traverse.decode + mosaic; {b2b_text(stats['decode'])}", stats["decode"]),
           Row(section, f"top-10 search over {len(train_codes):,} codes (K={train_codes.shape[1]})",
               latency_text(stats["search"]), f"CodeIndex, 1 query per call; {b2b_text(stats['search'])}",
               stats["search"]),
           Row(section, "denoise 1 image (gaussian 0.3 + reconstruct)", latency_text(stats["denoise"]),
               f"denoise.add_noise + repair; {b2b_text(stats['denoise'])}", stats["denoise"])]
    return out, {"train_codes": train_codes, "test_codes": test_codes}
