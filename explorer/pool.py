"""One bounded pool of training slots per process: a classroom on one server trains one or two models at a
time, and everyone else's job waits its turn in a first-in, first-out queue.

Training is CPU-bound and uses every core it is given (:mod:`explorer.threads`), so two jobs on a 2-core
machine each run at about half speed while the pages of every other session crawl; one at a time
finishes the first job sooner and leaves the second no later. A job is any object with a ``run()`` that
returns when it is done; the pool starts it in its own daemon thread once a slot is free.

A slot's thread is a daemon, so a server can exit while a model trains; the interpreter still waits a
moment at exit for one that is ending (:mod:`explorer.background`).

The pool keeps no names and lists no jobs: a session asks only about the job it holds (its place in the
queue, cancel, its wait), so nobody can see or stop another session's job through it.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque
from typing import Protocol

from explorer import background
from explorer.errors import ConfigError

SLOTS_VARIABLE = "EXPLORER_TRAINING_SLOTS"
MAX_SLOTS = 64
WAITS_KEPT = 1000  # queue waits remembered (the newest), for a look at how long jobs wait


class Runnable(Protocol):
    def run(self) -> None: ...


def default_slots(cores: int | None = None) -> int:
    """Concurrent trainings for this machine: one per two cores, at least one and at most two (1 on a
    2-core machine), unless ``EXPLORER_TRAINING_SLOTS`` names another count."""
    asked = os.environ.get(SLOTS_VARIABLE, "").strip()
    if asked:
        if not asked.isdigit() or not 1 <= int(asked) <= MAX_SLOTS:
            raise ConfigError(f"{SLOTS_VARIABLE} must be a whole number from 1 to {MAX_SLOTS}, got {asked[:20]!r}")
        return int(asked)
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, min(2, cores // 2))


class TrainingPool:
    """At most ``slots`` jobs run at once; :meth:`submit` queues the rest in arrival order.

    Thread-safe. ``peak_running`` is the most jobs ever running together (never above ``slots``) and
    ``waits`` the seconds each started job spent queued, in start order (the last
    :data:`WAITS_KEPT`).
    """

    def __init__(self, slots: int):
        if slots < 1:
            raise ConfigError(f"a training pool needs at least one slot, got {slots}")
        self.slots = slots
        self.peak_running = 0
        self.waits: deque[float] = deque(maxlen=WAITS_KEPT)
        self._lock = threading.Lock()
        self._waiting: deque[tuple[Runnable, float]] = deque()  # (job, queued at)
        self._running: set[int] = set()                          # id() of running jobs

    def submit(self, job: Runnable) -> None:
        """Queue ``job``; it starts at once when a slot is free."""
        with self._lock:
            self._waiting.append((job, time.perf_counter()))
            self._start_waiting()

    def position(self, job: Runnable) -> int | None:
        """``job``'s place in the queue (1: next to start), or None once it runs, ends or was cancelled."""
        with self._lock:
            return next((i + 1 for i, (waiting, _) in enumerate(self._waiting) if waiting is job), None)

    def running(self, job: Runnable) -> bool:
        with self._lock:
            return id(job) in self._running

    def cancel(self, job: Runnable) -> bool:
        """Take ``job`` out of the queue before it starts; False when it already runs or is gone."""
        with self._lock:
            for entry in self._waiting:
                if entry[0] is job:
                    self._waiting.remove(entry)
                    return True
            return False

    def counts(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._lock:
            return len(self._running), len(self._waiting)

    def _start_waiting(self) -> None:
        """Start queued jobs while slots are free; the caller holds the lock."""
        while self._waiting and len(self._running) < self.slots:
            job, queued_at = self._waiting.popleft()
            self.waits.append(time.perf_counter() - queued_at)
            self._running.add(id(job))
            self.peak_running = max(self.peak_running, len(self._running))
            background.start(functools.partial(self._run, job), name="training-slot")

    def _run(self, job: Runnable) -> None:
        try:
            job.run()
        finally:  # a job that fails still frees its slot
            with self._lock:
                self._running.discard(id(job))
                self._start_waiting()


_shared: dict[str, TrainingPool] = {}
_shared_lock = threading.Lock()


def shared_pool() -> TrainingPool:
    """The process's pool (every session of a server trains through it), made on first use."""
    with _shared_lock:
        if "pool" not in _shared:
            _shared["pool"] = TrainingPool(default_slots())
        return _shared["pool"]
