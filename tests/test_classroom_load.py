"""The classroom load test (issue 14, acceptance 2), slow: 30 sessions on a real ``streamlit run app.py``
over loopback, a third of them training at once (benchmarks/classroom.py drives them and says how)."""
from __future__ import annotations

import pytest

from benchmarks import classroom

pytestmark = pytest.mark.slow


def test_thirty_sessions_with_ten_training_at_once():
    figures = classroom.measure(classroom.SESSIONS)
    found = figures.summary()
    print("\n" + "\n".join(f"{row.name}: {row.value} ({row.detail})" for row in classroom.describe(found)))
    assert found["errors"] == 0, found["error_samples"]
    assert found["interactions_loaded"] >= classroom.SESSIONS * len(classroom.PAGES)  # everyone walked every page
    assert found["loaded_p95_ms"] <= classroom.GOAL_RATIO * found["idle_p95_ms"]
    assert found["health_failures"] == 0 and found["health_polls"] > 0
    assert len(found["queue_wait_s"]) == found["trainers"] == classroom.SESSIONS // 3
    places = [seen for seen in found["places_seen"] if seen]   # the queue moved: places only ever go down
    assert places and all(seen == sorted(seen, reverse=True) for seen in places)
    assert max(len(seen) for seen in places) >= 2
