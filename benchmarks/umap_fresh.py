"""The first UMAP fit of a fresh process, run as ``python -m benchmarks.umap_fresh CODES.npy MODE``.

Modes (the parent sets ``NUMBA_CACHE_DIR`` so "cold" starts from an empty numba cache):
  cold        fit at once: numba compiles UMAP's and pynndescent's code inside the first fit;
  cache       the same with a numba cache filled by an earlier process (``cache=True`` functions);
  background  ``warm_umap_in_background()`` at start-up (with the app's delay before it starts), the
              fit asked for ``--after`` seconds later (the cold-start goal: no user reaches the map
              page sooner).
Prints one JSON line: seconds from the request to the fitted map, and from process start.
"""
from __future__ import annotations

import json
import sys
import time

STARTED = time.perf_counter()


def main(argv: list[str]) -> dict:
    codes_path, mode = argv[0], argv[1]
    after = float(argv[2]) if len(argv) > 2 else 8.0
    import numpy as np

    from explorer import projection
    codes = np.load(codes_path)
    if mode == "background":
        projection.warm_umap_in_background()
        time.sleep(max(0.0, after - (time.perf_counter() - STARTED)))
    requested = time.perf_counter()
    projector = projection.UMAPProjector().fit(codes)
    done = time.perf_counter()
    return {"mode": mode, "request_to_map_s": done - requested, "since_start_s": done - STARTED,
            "fit_s": projector.fit_seconds_, "n": len(codes)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
