"""The bounded training pool (issue 14, a full classroom): first in, first out; places in the queue;
cancel while queued; stop while running; a failing job frees its slot; never more jobs at once than slots.
No Streamlit here: the pool and TrainingJob are core."""
from __future__ import annotations

import threading
import time

import pytest

from explorer.data import ImageDataset
from explorer.errors import ConfigError
from explorer.jobs import TrainingJob
from explorer.pool import SLOTS_VARIABLE, TrainingPool, default_slots, shared_pool
from tests.conftest import tiny_config

WAIT_S = 30.0


class Meter:
    """How many jobs run at once, and the most ever seen."""

    def __init__(self):
        self.now = self.most = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


class Gate:
    """A job that runs until :meth:`release`d, logging its start (and counted by ``meter``)."""

    def __init__(self, log: list, name: str, meter: Meter | None = None, fail: bool = False):
        self.log, self.name, self.meter, self.fail = log, name, meter or Meter(), fail
        self.started, self.released = threading.Event(), threading.Event()

    def run(self) -> None:
        self.meter.enter()
        self.log.append(self.name)
        self.started.set()
        self.released.wait(WAIT_S)
        self.meter.leave()
        if self.fail:
            raise RuntimeError("this job fails")

    def release(self) -> None:
        self.released.set()


def wait_until(condition, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("cores, slots", [(1, 1), (2, 1), (3, 1), (4, 2), (16, 2)])
def test_default_slots_follow_the_core_count(monkeypatch, cores, slots):
    monkeypatch.delenv(SLOTS_VARIABLE, raising=False)
    assert default_slots(cores) == slots


def test_the_slot_count_can_be_set_and_a_bad_one_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv(SLOTS_VARIABLE, "3")
    assert default_slots(2) == 3
    for bad in ("0", "two", "-1", "1000"):
        monkeypatch.setenv(SLOTS_VARIABLE, bad)
        with pytest.raises(ConfigError, match=SLOTS_VARIABLE):
            default_slots(2)
    with pytest.raises(ConfigError, match="at least one slot"):
        TrainingPool(0)


def test_the_shared_pool_is_one_per_process():
    assert shared_pool() is shared_pool()
    assert shared_pool().slots >= 1


def test_jobs_start_first_in_first_out_and_each_knows_its_place():
    pool, log = TrainingPool(1), []
    gates = [Gate(log, name) for name in "abcd"]
    for gate in gates:
        pool.submit(gate)
    gates[0].started.wait(WAIT_S)
    assert [pool.position(g) for g in gates] == [None, 1, 2, 3]
    assert pool.running(gates[0]) and not pool.running(gates[1]) and pool.counts() == (1, 3)
    for i, gate in enumerate(gates):
        gate.release()
        if i + 1 < len(gates):
            gates[i + 1].started.wait(WAIT_S)
            assert [pool.position(g) for g in gates[i + 2:]] == list(range(1, len(gates) - i - 1))
    wait_until(lambda: pool.counts() == (0, 0))
    assert log == list("abcd") and len(pool.waits) == 4 and pool.peak_running == 1
    assert pool.waits[0] < pool.waits[3]  # d waited for a, b and c


def test_a_job_cancelled_while_queued_never_runs_and_the_ones_behind_move_up():
    pool, log = TrainingPool(1), []
    first, second, third = (Gate(log, name) for name in "abc")
    for gate in (first, second, third):
        pool.submit(gate)
    first.started.wait(WAIT_S)
    assert pool.cancel(second) and not pool.cancel(second)
    assert pool.position(second) is None and pool.position(third) == 1
    assert not pool.cancel(first)  # already running: cancel does not touch it
    first.release()
    third.started.wait(WAIT_S)
    third.release()
    wait_until(lambda: pool.counts() == (0, 0))
    assert log == ["a", "c"]


def test_a_failing_job_frees_its_slot(monkeypatch):
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # the failure is expected here
    pool, log = TrainingPool(1), []
    failing, next_one = Gate(log, "fails", fail=True), Gate(log, "next")
    pool.submit(failing)
    pool.submit(next_one)
    failing.release()
    assert next_one.started.wait(WAIT_S), "the failed job kept its slot"
    next_one.release()
    wait_until(lambda: pool.counts() == (0, 0))
    assert log == ["fails", "next"]


def test_concurrency_never_exceeds_the_slots():
    pool, log, meter = TrainingPool(2), [], Meter()
    gates = [Gate(log, str(i), meter) for i in range(12)]
    for gate in gates:
        pool.submit(gate)
    for gate in gates:  # release in order, each as soon as it starts
        gate.started.wait(WAIT_S)
        assert pool.counts()[0] <= 2
        gate.release()
    wait_until(lambda: pool.counts() == (0, 0))
    assert sorted(log, key=int) == [str(i) for i in range(12)]  # two start together: either logs first
    assert meter.most == 2 and pool.peak_running == 2


def test_training_jobs_queue_cancel_stop_and_fail_through_their_pool(tiny_dataset):
    pool = TrainingPool(1)
    long_run = TrainingJob(tiny_dataset, tiny_config("ae", latent_dim=2, epochs=5000), pool=pool).start()
    queued = TrainingJob(tiny_dataset, tiny_config("ae", latent_dim=2, epochs=2), pool=pool).start()
    cancelled = TrainingJob(tiny_dataset, tiny_config("ae", latent_dim=2, epochs=2), pool=pool).start()
    wait_until(lambda: long_run.snapshot.progress is not None)
    assert (queued.snapshot.status, queued.position, cancelled.position) == ("queued", 1, 2)
    assert long_run.position is None and not queued.done
    cancelled.stop()
    assert cancelled.snapshot.status == "cancelled" and cancelled.done and cancelled.model is None
    cancelled.join(1)
    assert queued.position == 1 and long_run.snapshot.status == "running"  # neither was touched
    long_run.stop()
    long_run.join(WAIT_S)
    queued.join(WAIT_S)
    assert long_run.snapshot.status == "stopped" and long_run.model is not None
    assert queued.snapshot.status == "finished" and len(queued.snapshot.history) == 2
    assert queued.waited >= 0 and cancelled.waited is None and pool.peak_running == 1
    unlabeled = ImageDataset("unlabeled", tiny_dataset.x_train, None, tiny_dataset.x_test, None, (), "tests")
    failed = TrainingJob(unlabeled, tiny_config("cvae", epochs=1), pool=pool).start()  # fails in its child
    failed.join(WAIT_S)
    assert failed.snapshot.status == "failed" and "conditioned on class labels" in failed.snapshot.message
    wait_until(lambda: pool.counts() == (0, 0))
