"""Daemon threads that the interpreter lets end before it finalizes.

The server's background work (a training slot relaying its child, a model's splits being encoded, the
UMAP and fork-server warm-ups) runs in daemon threads, so a server can exit at any time. But a daemon
thread still running when the interpreter finalizes is stopped as it next takes the GIL
(``pthread_exit``), and when that happens inside torch, which gives the GIL up around its kernels and
tensor frees, the forced unwind meets torch's C++ frames and the process aborts: "terminate called
without an active exception", SIGABRT, after all its work was done (seen at the end of test runs, and
in 2 of about 20 fresh processes that trained one model). So at exit (``atexit``, which runs before the
interpreter finalizes) :func:`exiting` turns true and every thread started here is given up to
:data:`EXIT_WAIT_S` in all to end: loops check :func:`exiting` between small steps, and one that does
not end in time is left to the old fate.
"""
from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Callable

EXIT_WAIT_S = 5.0  # in all, at exit: a step of background work takes well under a second

_exiting = threading.Event()
_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def start(target: Callable[[], None], name: str, delay_s: float = 0.0) -> threading.Thread:
    """Start ``target`` in a daemon thread that the interpreter waits for at exit (see the module); with
    ``delay_s``, the thread waits that long first (a warm-up kept off the first page's drawing) and skips
    ``target`` if the interpreter began exiting meanwhile."""
    def run() -> None:
        if delay_s and _exiting.wait(delay_s):
            return
        target()

    thread = threading.Thread(target=run if delay_s else target, name=name, daemon=True)
    _threads.add(thread)
    thread.start()
    return thread


def exiting() -> bool:
    """True once the interpreter is exiting: background loops stop at their next step."""
    return _exiting.is_set()


@atexit.register
def wait_at_exit(timeout: float | None = None) -> None:
    """Ask the background threads to stop and wait up to ``timeout`` (:data:`EXIT_WAIT_S`) in all for them."""
    _exiting.set()
    deadline = time.monotonic() + (EXIT_WAIT_S if timeout is None else timeout)
    for thread in list(_threads):
        if thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
