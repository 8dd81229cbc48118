"""A full classroom (issue 14): one ``streamlit run app.py`` on loopback, N sessions at once (30 by default),
each walking every page; a third of them press Train at the same moment and wait for their model.

Sessions speak Streamlit's websocket protocol (:mod:`benchmarks.st_client`): thirty headless Chromium
tabs would spend this 2-core machine on drawing, which a real class does on thirty other machines.
Students pause between clicks (seeded, ``THINK_S``). An interaction is timed from the message sent until
the server's ``script_finished``: the server's share of what a student waits for.

- idle: after one untimed warm-up walk (the shared caches filled, as after the teacher's own first
  visit), one session walks every page ``IDLE_ROUNDS`` times alone;
- loaded: N sessions arrive together (the first page of each timed apart, as ``open``); then a third
  press Train at the same moment and follow their job's place in the queue from the Model page (its
  view polled at the page's own interval, as the browser does: 2 s while queued, 0.5 s while training)
  until their model arrives, and walk every page with it; the others walk the pages until the last
  trainer has done so.

Errors: any exception or ``st.error`` drawn, a run that did not finish, a lost connection. A thread
polls ``/_stcore/health``, the server's RSS and the training processes' (the fork server and the job it
forks, :mod:`explorer.worker`) every ``HEALTH_EVERY_S`` throughout.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import numpy as np

from benchmarks.coldstart import _free_port, stop
from benchmarks.common import Row, Sizes
from benchmarks.firstuse import _server
from benchmarks.st_client import Run, Session

SECTION = "10 classroom"
SESSIONS = 30
PAGES = ("latent", "traverse", "denoise", "search", "anomaly", "rbm", "compare", "model")
TRAIN_EPOCHS = 8          # digits deep_ae: about 2-3 s a job on one core
THINK_S = (10.0, 30.0)    # a student reads a page for this long (uniform) before the next click
IDLE_ROUNDS = 3
IDLE_THINK_S = (0.5, 1.5)  # alone, a shorter pause: nothing else runs in it
HEALTH_EVERY_S = 0.5
HEALTH_TIMEOUT_S = 5.0
POLL_S = 0.5              # a poll's pause when the page names no interval
QUEUE_PLACE = re.compile(r"number (\d+) in the queue")
GOAL_RATIO = 3.0          # loaded p95 within 3x idle p95 (issue 14, acceptance 2)


@dataclass
class Figures:
    sessions: int
    trainers: int
    errors: list[str] = field(default_factory=list)
    idle_s: list[float] = field(default_factory=list)
    loaded_s: list[float] = field(default_factory=list)
    trained_s: list[float] = field(default_factory=list)  # the part of loaded_s walked with a model trained here
    open_s: list[float] = field(default_factory=list)
    poll_s: list[float] = field(default_factory=list)
    queue_waits_s: list[float] = field(default_factory=list)
    places_seen: list[list[int]] = field(default_factory=list)
    train_s: list[float] = field(default_factory=list)
    rss_mib: dict[str, float] = field(default_factory=dict)
    health: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        def pct(values, q):
            return float(np.percentile(values, q) * 1e3) if values else float("nan")
        return {"sessions": self.sessions, "trainers": self.trainers, "errors": len(self.errors),
                "error_samples": self.errors[:5], "interactions_idle": len(self.idle_s),
                "interactions_loaded": len(self.loaded_s),
                **{f"{name}_p{q}_ms": pct(values, q) for name, values in
                   (("idle", self.idle_s), ("loaded", self.loaded_s), ("open", self.open_s),
                    ("poll", self.poll_s), ("trained", self.trained_s)) for q in (50, 95)},
                "queue_wait_s": sorted(self.queue_waits_s), "places_seen": self.places_seen,
                "train_s": sorted(self.train_s), **self.rss_mib, **self.health}


class Watch(threading.Thread):
    """Polls the server's health endpoint and RSS until :meth:`finish`; keeps the worst of each."""

    def __init__(self, port: int, pid: int):
        super().__init__(name="classroom-watch", daemon=True)
        self.url, self.pid = f"http://127.0.0.1:{port}/_stcore/health", pid
        self.polls = self.failures = 0
        self.started, self.events = time.perf_counter(), []  # (seconds since start, what): failures, phases
        self.slowest_s = self.peak_rss_mib = self.peak_workers_mib = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(HEALTH_EVERY_S):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=HEALTH_TIMEOUT_S) as answer:
                    ok = answer.status == 200
            except OSError:
                ok = False
            self.polls, self.failures = self.polls + 1, self.failures + (not ok)
            if not ok:
                self.mark("health timed out")
            self.slowest_s = max(self.slowest_s, time.perf_counter() - start)
            self.peak_rss_mib = max(self.peak_rss_mib, self.rss_mib())
            self.peak_workers_mib = max(self.peak_workers_mib, sum(map(rss_mib, descendants(self.pid))))

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def mark(self, what: str) -> None:
        self.events.append((round(time.perf_counter() - self.started, 1), what))

    def finish(self) -> dict[str, float]:
        self._done.set()
        self.join(HEALTH_TIMEOUT_S * 2)
        return {"health_polls": self.polls, "health_failures": self.failures, "health_slowest_s": self.slowest_s,
                "events": self.events}


def rss_mib(pid: int) -> float:
    """``pid``'s resident memory; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return 0.0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), from /proc."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent_of[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parent_of.items() if parent in frontier]
        found, frontier = found + below, below
    return found


def check(run: Run, where: str, figures: Figures) -> Run:
    figures.errors += [f"{where}: {text[:160]}" for text in run.exceptions + run.text("error")]
    return run


async def walk(session: Session, figures: Figures, times: list[float], rng: random.Random, who: str,
               think_s: tuple[float, float] = THINK_S) -> None:
    """Every page once, in the sidebar's order, with a student's pause before each click."""
    for page in PAGES:
        await asyncio.sleep(rng.uniform(*think_s))
        times.append(check(await session.goto(page), f"{who} /{page}", figures).seconds)


async def train(session: Session, figures: Figures, start: asyncio.Event, who: str) -> None:
    """Press Train on the Model page with everyone else, then follow the job from the page until it ends."""
    form = check(await session.goto("model"), f"{who} /model", figures)
    await start.wait()
    pressed = time.perf_counter()
    run = check(await session.click(form, "FormSubmitter:train_form_deep_ae-Train",
                                    {"cfg.deep_ae.epochs": TRAIN_EPOCHS}), f"{who} Train", figures)
    places, started = [], None
    while "stop_training" in run.widgets:
        found = [int(m.group(1)) for text in run.text("info") for m in [QUEUE_PLACE.search(text)] if m]
        if found and (not places or places[-1] != found[0]):
            places.append(found[0])
        if started is None and not found and run.progress:
            started = time.perf_counter()
        await asyncio.sleep(min(session.fragments.values(), default=POLL_S))  # the page's own poll interval
        run = check(await session.poll() or await session.rerun(), f"{who} training view", figures)
        figures.poll_s.append(run.seconds)
    if not any("Training finished" in text or "stopped" in text.lower() for text in run.text("success") +
               run.text("warning")):
        figures.errors.append(f"{who}: training ended without its outcome on the page")
    figures.queue_waits_s.append((started or time.perf_counter()) - pressed)
    figures.train_s.append(time.perf_counter() - pressed)
    figures.places_seen.append(places)


async def student(port: int, index: int, figures: Figures, arrived: list, start: asyncio.Event,
                  trainers_active: list) -> None:
    """Arrive (the Model page), then: a trainer presses Train with the others, follows the queue, and walks
    every page with its model; everyone else walks the pages until the last trainer has done so."""
    rng, who = random.Random(index), f"session {index}"
    session = Session(port)
    try:
        figures.open_s.append(check(await session.open(), f"{who} open", figures).seconds)
        arrived.append(index)
        if index < figures.trainers:
            await train(session, figures, start, who)
            first_looks = []  # every page's first look at a model of the trainer's own
            await walk(session, figures, first_looks, rng, who)
            figures.loaded_s += first_looks
            figures.trained_s += first_looks
            trainers_active.remove(index)
        else:
            await start.wait()
            await walk(session, figures, figures.loaded_s, rng, who)
            while trainers_active:   # keep the class busy while any model trains, waits or is explored
                await walk(session, figures, figures.loaded_s, rng, who)
    except Exception as error:  # noqa: BLE001  (a lost session is an error to count, not to stop on)
        figures.errors.append(f"{who}: {type(error).__name__}: {str(error)[:160]}")
        if index in trainers_active:
            trainers_active.remove(index)
    finally:
        await session.close()


async def _class(port: int, figures: Figures, watch: Watch) -> None:
    warm = Session(port)
    await warm.open()
    await walk(warm, Figures(1, 0), [], random.Random(-1), "warm-up", IDLE_THINK_S)  # fills the shared caches
    for round_ in range(IDLE_ROUNDS):
        await walk(warm, figures, figures.idle_s, random.Random(round_), "idle", IDLE_THINK_S)
    await warm.close()
    figures.rss_mib["rss_idle_mib"] = watch.rss_mib()
    watch.mark("class arrives")
    start, arrived, trainers_active = asyncio.Event(), [], list(range(figures.trainers))
    students = [asyncio.create_task(student(port, i, figures, arrived, start, trainers_active))
                for i in range(figures.sessions)]
    while len(arrived) < figures.sessions and not any(task.done() for task in students):
        await asyncio.sleep(0.1)   # the whole class has its first page
    figures.rss_mib["rss_arrived_mib"] = watch.rss_mib()
    watch.mark("all arrived; Train pressed")
    start.set()
    await asyncio.gather(*students)
    watch.mark("class done")


def measure(sessions: int = SESSIONS, log_path: str | None = None) -> Figures:
    """Start a server, run the idle walk and the class, stop the server; the figures."""
    figures = Figures(sessions, max(1, sessions // 3))
    port = _free_port()
    with open(log_path or "/dev/null", "w") as log:
        server = _server(port, log)
        watch = Watch(port, server.pid)
        watch.start()
        try:
            asyncio.run(_class(port, figures, watch))
        finally:
            figures.health = watch.finish()
            figures.rss_mib["rss_peak_mib"] = watch.peak_rss_mib
            figures.rss_mib["rss_workers_peak_mib"] = watch.peak_workers_mib
            stop(server, None)
    idle, arrived = figures.rss_mib.get("rss_idle_mib"), figures.rss_mib.get("rss_arrived_mib")
    if idle is not None and arrived is not None:
        figures.rss_mib["rss_per_session_mib"] = (arrived - idle) / sessions
    return figures


def rows(sizes: Sizes) -> list[Row]:
    name = f"{SESSIONS} sessions on one server, a third training at once"
    if not sizes.fresh_process:
        return [Row(SECTION, name, "skipped (--quick)")]
    found = measure().summary()
    return describe(found)


def describe(found: dict) -> list[Row]:
    n, waits = found["sessions"], found["queue_wait_s"]
    ratio = found["loaded_p95_ms"] / found["idle_p95_ms"]
    return [
        Row(SECTION, f"{n} sessions: errors", str(found["errors"]), "; ".join(found["error_samples"]), found),
        Row(SECTION, f"{n} sessions: page interaction p50 / p95, idle (one session alone)",
            f"{found['idle_p50_ms']:.0f} / {found['idle_p95_ms']:.0f} ms", f"{found['interactions_idle']} page visits"),
        Row(SECTION, f"{n} sessions: page interaction p50 / p95, loaded",
            f"{found['loaded_p50_ms']:.0f} / {found['loaded_p95_ms']:.0f} ms",
            f"{found['interactions_loaded']} page visits; p95 {ratio:.1f}x idle (goal <= {GOAL_RATIO:.0f}x); of them "
            f"the trainers' walks with their new model p50 {found['trained_p50_ms']:.0f} ms, p95 "
            f"{found['trained_p95_ms']:.0f} ms; first page on arrival p50 {found['open_p50_ms']:.0f} ms, p95 "
            f"{found['open_p95_ms']:.0f} ms"),
        Row(SECTION, f"{n} sessions: queue wait, {found['trainers']} pressing Train at once",
            f"median {np.median(waits):.1f} s, max {max(waits):.1f} s",
            f"press to first progress, seen from the page (as often as it polls); press to model "
            f"median {np.median(found['train_s']):.1f} s, max {max(found['train_s']):.1f} s; training view poll "
            f"p95 {found['poll_p95_ms']:.0f} ms"),
        Row(SECTION, f"{n} sessions: server RSS", f"peak {found['rss_peak_mib']:.0f} MiB",
            f"{found['rss_idle_mib']:.0f} MiB after the warm-up walk; "
            f"{found.get('rss_per_session_mib', float('nan')):.1f} MiB more per session once all {n} have arrived; "
            f"training processes (fork server and job, RSS summed) peak "
            f"{found.get('rss_workers_peak_mib', float('nan')):.0f} MiB"),
        Row(SECTION, f"{n} sessions: /_stcore/health", f"{found['health_failures']} failed of {found['health_polls']}",
            f"polled every {HEALTH_EVERY_S} s throughout; slowest answer {found['health_slowest_s'] * 1e3:.0f} ms"),
    ]


def main() -> None:
    """``python -m benchmarks.classroom [N]``: the class alone, printed."""
    import json
    import sys
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else SESSIONS
    found = measure(sessions, "/tmp/classroom-server.log").summary()
    for row in describe(found):
        print(f"[{row.section}] {row.name}: {row.value}  ({row.detail})")
    print(json.dumps(found, default=str))


if __name__ == "__main__":
    main()
