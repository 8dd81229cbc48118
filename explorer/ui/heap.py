"""The server process's garbage collector, set for many sessions' page runs in one interpreter.

A page run allocates a great many short-lived objects (plotly figures, protobuf messages, dicts) beside a
large long-lived heap (libraries, models, datasets, caches). The cyclic collector runs in whichever thread
allocates, holding the interpreter lock, and its full passes walk that whole heap: stack samples of the
server while 20 sessions opened the app at once showed its event loop "Garbage-collecting" in 3 of 5, and
``/_stcore/health`` went unanswered for over 5 s (issue 14's load test). So the heap is frozen
(``gc.freeze``: never walked again) after each of the process's first ``WARM_RUNS`` page runs, which import
the libraries and fill the shared caches every page reads (a first walk of the 8 pages is 9 runs), and
the first generation waits for more allocations before a pass, as servers commonly set it. With the heap
frozen after one walk, 30 sessions opening the app at once had their first page in 2.6 s, against 8.7 s
for 20 without (no collector in any stack sample). The price: cyclic garbage of those first runs that is
still uncollected when frozen stays, once.
"""
from __future__ import annotations

import gc
import threading

YOUNG_THRESHOLD = 50_000  # allocations between first-generation passes (CPython's default: 700)
WARM_RUNS = 32            # page runs after which the heap is frozen: a teacher's first walk, and more
_runs = {"done": 0}
_lock = threading.Lock()


def settle() -> None:
    """Called after every page run: raise the first threshold and freeze the heap, for the process's first
    ``WARM_RUNS`` runs; nothing after them."""
    with _lock:
        if _runs["done"] >= WARM_RUNS:
            return
        _runs["done"] += 1
        gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        gc.freeze()
