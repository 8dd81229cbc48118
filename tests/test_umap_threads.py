"""Concurrent UMAP fits are serialised (issue 14, a full classroom).

umap-learn's numba code is not safe to enter from two threads at once: numba's default ``workqueue``
threading layer aborts the whole process when it detects concurrent access (umap-learn issue #665;
numba PR #8566 names it in the abort message), and every Streamlit session is a thread of one server
process. Every fit in the app goes through :meth:`UMAPProjector.fit` (the latent page's maps through
``explorer.maps``, ``pretrain``, the warm-up thread), which enters umap-learn only under
:data:`UMAP_LOCK`. Here several threads fit at once: all finish, each with the map a fit alone gives,
and umap-learn is never entered by two of them together.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from explorer import projection
from explorer.projection import UMAP_LOCK, UMAPProjector, import_umap
from tests.test_projection import blobs

THREADS = 4


def test_concurrent_fits_never_overlap_and_each_gives_the_map_a_lone_fit_gives(monkeypatch):
    umap = import_umap()
    inside, seen, original = [], [], umap.UMAP.fit

    def watched_fit(self, *args, **kwargs):
        inside.append(threading.get_ident())
        seen.append((len(inside), UMAP_LOCK.locked()))  # fits inside umap-learn now, and the lock held
        time.sleep(0.05)                                # widen the window in which a second fit could enter
        try:
            return original(self, *args, **kwargs)
        finally:
            inside.remove(threading.get_ident())

    inputs = [blobs(n_per_class=20, seed=seed)[0] for seed in range(THREADS)]
    alone = [UMAPProjector(n_neighbors=5).fit(x).embedding_ for x in inputs]
    monkeypatch.setattr(umap.UMAP, "fit", watched_fit)
    results, errors, start = [None] * THREADS, [], threading.Barrier(THREADS)

    def fit(i: int) -> None:
        start.wait()
        try:
            results[i] = UMAPProjector(n_neighbors=5).fit(inputs[i]).embedding_
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert seen == [(1, True)] * THREADS            # one at a time, always under the lock
    for got, expected in zip(results, alone):
        np.testing.assert_array_equal(got, expected)  # fixed random state: the lone fit's map exactly


def test_every_umap_fit_in_the_app_goes_through_the_projector():
    """No module but projection.py builds ``umap.UMAP`` itself, so none can fit without the lock."""
    root = Path(projection.__file__).resolve().parent
    callers = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                     if "UMAP(" in path.read_text() and path.name != "projection.py")
    assert callers == [], callers


def test_a_first_fit_leaves_torchs_pinned_thread_count_as_it_was():
    """A process's first fit starts numba's OpenMP layer, which set the calling thread's OpenMP count (torch's
    count) to numba's, so a count pinned to one thread became two after ``pretrain`` drew a map. Run in a
    fresh process: in this one, numba's layer has long been started."""
    script = ("import numpy, torch; torch.set_num_threads(1)\n"
              "from explorer.projection import UMAPProjector\n"
              "UMAPProjector(n_neighbors=5).fit(numpy.random.default_rng(0).random((60, 4), dtype=numpy.float32))\n"
              "print(torch.get_num_threads())")
    environment = {**os.environ, "NUMBA_NUM_THREADS": "2", "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1"
