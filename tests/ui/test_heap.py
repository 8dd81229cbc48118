"""The server's collector settings (explorer/ui/heap.py): the first generation's threshold raised and the heap
frozen after each of the process's first WARM_RUNS page runs, and nothing after them."""
from __future__ import annotations

import gc

from explorer.ui import heap


def test_the_heap_is_frozen_after_the_first_page_runs_only(monkeypatch):
    monkeypatch.setitem(heap._runs, "done", heap.WARM_RUNS - 1)
    heap.settle()  # the last warm run
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    assert frozen > 0 and thresholds[0] == heap.YOUNG_THRESHOLD
    later = [[] for _ in range(1000)]
    heap.settle()  # past the warm runs: the new lists stay collectable
    assert gc.get_freeze_count() == frozen and gc.get_threshold() == thresholds and later
