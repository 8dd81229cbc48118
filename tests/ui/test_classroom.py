"""A full classroom in AppTest (issue 14, acceptance 3): sessions share the process's one training pool.
With one slot, a second session's job waits at place 1 and its page says so, with a Cancel button; it can
cancel its own job; the first session's Stop ends only the first job, after which the second one trains. A
second press of Train while a job waits or runs starts nothing (the session would lose the first job's Stop)."""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from explorer import pool
from explorer.pool import TrainingPool
from tests.ui.test_sessions import APP, holds

WAIT_S = 120.0


@pytest.fixture
def one_slot(monkeypatch) -> TrainingPool:
    """The process's pool, with one slot, for this test only."""
    shared = TrainingPool(1)
    monkeypatch.setitem(pool._shared, "pool", shared)
    return shared


def session() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def press_train(at: AppTest, variant: str, epochs: int) -> None:
    next(s for s in at.selectbox if s.label == "Variant").set_value(variant).run()
    at.number_input(key=f"cfg.{variant}.epochs").set_value(epochs)
    at.number_input(key=f"cfg.{variant}.latent_dim").set_value(2)
    at.button(key=f"FormSubmitter:train_form_{variant}-Train").click().run()
    assert not at.exception


def wait_for(condition) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def shown(at: AppTest) -> dict[str, list[str]]:
    return {"info": [e.value for e in at.info], "buttons": [b.label for b in at.button if b.key == "stop_training"],
            "success": [e.value for e in at.success], "warning": [e.value for e in at.warning]}


def test_a_second_session_queues_can_cancel_and_trains_when_the_first_stops(one_slot):
    first, second = session(), session()
    press_train(first, "ae", epochs=2000)               # minutes: it gets stopped
    job_a = first.session_state["job"]
    wait_for(lambda: job_a.snapshot.progress is not None)
    first.button(key="FormSubmitter:train_form_ae-Train").click().run()   # pressed again: still one job
    assert first.session_state["job"] is job_a and one_slot.counts() == (1, 0)
    press_train(second, "deep_ae", epochs=3)
    job_b = second.session_state["job"]
    assert (job_a.position, job_b.position, job_b.snapshot.status) == (None, 1, "queued")

    first.run()
    second.run()
    queue_note = [text for text in shown(second)["info"] if "number 1 in the queue" in text]
    assert len(queue_note) == 1 and "one training at a time" in queue_note[0]
    assert shown(second)["buttons"] == ["Cancel"] and shown(first)["buttons"] == ["Stop"]
    assert not any("queue" in text for text in shown(first)["info"])
    assert not holds(first, job_b) and not holds(second, job_a)   # neither session holds the other's job

    second.button(key="stop_training").click().run()             # cancel while queued: only B's job ends
    assert job_b.snapshot.status == "cancelled" and job_b.model is None
    assert job_a.snapshot.status == "running" and one_slot.counts() == (1, 0)
    assert "Training cancelled before it started." in shown(second)["info"] and second.session_state["job"] is None

    press_train(second, "deep_ae", epochs=3)                     # queued again, at place 1
    job_c = second.session_state["job"]
    assert job_c.position == 1
    first.run()
    first.button(key="stop_training").click().run()              # A's Stop ends A's job, not B's
    job_a.join(WAIT_S)
    job_c.join(WAIT_S)
    assert job_a.snapshot.status == "stopped" and job_c.snapshot.status == "finished"
    assert len(job_c.snapshot.history) == 3 and job_c.waited > 0 and one_slot.peak_running == 1
    second.run()
    outcome = shown(second)["success"] + shown(second)["warning"]
    assert len(outcome) == 1 and "Training finished" in outcome[0] and job_c.snapshot.message in outcome[0]
    first.run()
    assert second.session_state["current"].model is job_c.model
    assert first.session_state["current"].model is job_a.model
    assert not first.exception and not second.exception
