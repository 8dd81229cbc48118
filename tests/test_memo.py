"""The bounded process-wide cache."""
from __future__ import annotations

from explorer.memo import BoundedCache


def test_the_bounded_cache_keeps_the_latest_results_and_computes_each_once():
    cache, calls = BoundedCache(2), []
    compute = lambda key: (lambda: calls.append(key) or key * 10)  # noqa: E731
    assert [cache.get(k, compute(k)) for k in (1, 2, 1, 3, 1, 2)] == [10, 20, 10, 30, 10, 20]
    assert calls == [1, 2, 3, 2]  # 2 was the oldest when 3 came
