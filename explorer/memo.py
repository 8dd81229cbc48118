"""A small process-wide cache for results keyed by a dataset's fingerprint: shared by every caller and
session, bounded so that a long-running server does not keep every dataset's results forever."""
from __future__ import annotations

import collections
import threading
from typing import Callable, Generic, Hashable, TypeVar

T = TypeVar("T")


class BoundedCache(Generic[T]):
    """The last ``size`` results by key; ``get(key, compute)`` computes on a miss (outside the lock,
    so a slow computation does not hold up other keys)."""

    def __init__(self, size: int):
        self.size = size
        self._items: collections.OrderedDict[Hashable, T] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
