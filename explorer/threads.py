"""torch's intra-op thread count: every place that pins or chooses it goes through here.

OpenMP threads wait for each other at every parallel region's barrier. On a shared 2-core machine
two threads waiting for a busy core were measured several times slower than one (``python -m
benchmarks``), so small work runs on one thread, and training picks its count as it goes
(:class:`ThreadChoice`). The count is per calling thread, so a pin never leaks into another session.
"""
from __future__ import annotations

import collections
import os
import statistics
import time
from contextlib import contextmanager, nullcontext
from typing import Callable

import torch


@contextmanager
def thread_count(get: Callable[[], int], set_to: Callable[[int], None], threads: int):
    """A library's thread count (read by ``get``, written by ``set_to``) at ``threads`` inside the block,
    then put back."""
    before = get()
    set_to(threads)
    try:
        yield
    finally:
        set_to(before)


def torch_threads(threads: int):
    """torch's intra-op thread count set to ``threads`` inside the block, then put back."""
    return thread_count(torch.get_num_threads, torch.set_num_threads, threads)


def one_thread():
    """:func:`torch_threads` (1): for work too small to share between cores."""
    return torch_threads(1)


def cores_busy() -> bool:
    """Whether other processes' runnable threads fill every core: the median of five reads, 2 ms
    apart, of the running-task count in /proc/loadavg (less this reader); elsewhere the 1-minute
    load average; False where neither is known. Short, since page inference asks too (once a second)."""
    try:
        others = []
        for _ in range(5):
            with open("/proc/loadavg") as loadavg:
                others.append(int(loadavg.read().split()[3].split("/")[0]) - 1)
            time.sleep(0.002)
        busy = statistics.median(others)
    except (OSError, ValueError, IndexError):
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            return False
    return busy >= (os.cpu_count() or 1)


BUSY_CHECK_S = 1.0  # how long one reading of the load stands for inference calls
_last_check = {"at": -BUSY_CHECK_S, "busy": False}


def for_inference():
    """The thread count for one batched inference call (a page encoding a split, say): one thread when
    other processes' runnable threads already fill every core, else all of them. The load is read at
    most once a second, since a reading takes tens of milliseconds."""
    now = time.perf_counter()
    if now - _last_check["at"] >= BUSY_CHECK_S:
        _last_check.update(at=now, busy=cores_busy())
    return one_thread() if _last_check["busy"] else nullcontext()


class ThreadChoice:
    """Picks torch's intra-op thread count while training on the CPU: all threads, or one.

    It starts with one thread when other processes' runnable threads already fill every core, else
    with all. After ``FIRST_WAIT_S`` of training it tries the other count for a step or two, and
    switches when that is ``CLEAR_WIN`` times faster than the recent steps; the next try comes after
    twice the wait while the choice holds, so a wrong try costs little. On an idle machine all
    threads win. MLP results are bitwise the same either way; conv layers' can differ in the last bits.
    """
    FIRST_WAIT_S = 10.0
    CLEAR_WIN = 1.5

    def __init__(self, device: torch.device):
        self.most = torch.get_num_threads()
        self.active = device.type == "cpu" and self.most > 1
        self.current = 1 if self.active and cores_busy() else self.most
        torch.set_num_threads(self.current)
        self.recent: collections.deque[float] = collections.deque(maxlen=8)  # step seconds at ``current``
        self.tried: list[float] | None = None  # step seconds at the other count, during a try
        self.wait_s, self.next_try = self.FIRST_WAIT_S, time.perf_counter() + self.FIRST_WAIT_S

    def before(self) -> None:
        """Called before each step: starts a try when it is due."""
        if self.active and self.tried is None and len(self.recent) >= 4 and time.perf_counter() >= self.next_try:
            self.tried = []
            torch.set_num_threads(1 if self.current > 1 else self.most)

    def after(self, seconds: float) -> None:
        """Called after each full-batch step with its duration (CPU steps are synchronous)."""
        if not self.active:
            return
        if self.tried is None:
            self.recent.append(seconds)
            return
        self.tried.append(seconds)
        usual = statistics.median(self.recent)
        if min(self.tried) * self.CLEAR_WIN < usual:  # clearly faster: switch
            self.current, self.wait_s = torch.get_num_threads(), self.FIRST_WAIT_S
            self.recent.clear()
        elif len(self.tried) < 2 and seconds < self.CLEAR_WIN * usual:
            return  # not clear either way: one more step
        else:
            self.wait_s *= 2
        torch.set_num_threads(self.current)
        self.tried, self.next_try = None, time.perf_counter() + self.wait_s

    def restore(self) -> None:
        torch.set_num_threads(self.most)
