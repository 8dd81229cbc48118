"""Item 5: cold start, from ``streamlit run app.py`` to the first latent map drawn in a browser.

Headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright; never ``playwright install``)
is started first; the clock starts when the server process is spawned and stops when the first
Plotly chart of ``/latent?dataset=…&variant=…`` has drawn its SVG, with a shipped pretrained model.
Until the latent page and a pretrained model exist the row says "n/a (why)". When the goal is missed
and py-spy is installed, a second cold start is sampled by py-spy to say where the server's time goes.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from collections import Counter

from benchmarks.common import Row, Sizes, median

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MAP_DRAWN = '[data-testid="stPlotlyChart"] .main-svg'
EXCEPTION = '[data-testid="stException"]'
NAME = "cold start: streamlit run -> first latent map drawn"
GOAL_S = 8.0
REPEATS = 3  # each a new server and browser; on this 2-core machine one cold start varies by +-1.5 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def why_not() -> str | None:
    """Why the measurement cannot run here, or None when it can."""
    if not (ROOT / "explorer" / "ui" / "pages" / "latent.py").is_file():
        return "no /latent page yet"
    if not targets():
        return "no shipped deep_ae for an installed dataset"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} missing"
    if importlib.util.find_spec("playwright") is None:
        return "playwright not installed"
    return None


def targets() -> list[str]:
    """URL path and query of the latent page with shipped ``deep_ae`` (its smallest code), per dataset
    that has one and is installed: the app's default ``digits``, and Fashion-MNIST's 60k images."""
    from explorer.data import dataset_status
    from explorer.gallery import find_pretrained
    return [f"latent?dataset={name}&variant=deep_ae" for name in ("digits", "fashion-mnist")
            if find_pretrained(name, "deep_ae", root=ROOT / "pretrained") and dataset_status(name).available]


def measure(path: str, timeout_s: float = 180.0, spy_path: Path | None = None) -> dict:
    """Seconds from spawning the server to the first drawn map at URL ``path`` (raises RuntimeError on
    failure); with ``spy_path``, py-spy samples the server into that file (raw collapsed stacks) meanwhile."""
    from playwright.sync_api import sync_playwright
    port = _free_port()
    url = f"http://127.0.0.1:{port}/{path}"
    with sync_playwright() as playwright, tempfile.TemporaryFile("w+") as log:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        start = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        spy = None if spy_path is None else subprocess.Popen(
            ["py-spy", "record", "--format", "raw", "--rate", "50", "-o", str(spy_path), "--pid", str(server.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            served = _open(page, url, server, start + timeout_s) - start
            page.wait_for_selector(f"{MAP_DRAWN}, {EXCEPTION}", timeout=max(1.0, start + timeout_s - time.perf_counter()) * 1e3)
            drawn = time.perf_counter() - start
            if page.locator(EXCEPTION).count():
                raise RuntimeError("the latent page raised: " + page.locator(EXCEPTION).first.inner_text()[:120])
            return {"seconds": drawn, "first_response_s": served, "url_path": path}
        finally:
            stop(server, spy)
            browser.close()


def stop(server: subprocess.Popen, spy: subprocess.Popen | None) -> None:
    """End a measured server, and the py-spy sampling it (SIGINT makes py-spy write what it sampled)."""
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


def _open(page, url: str, server: subprocess.Popen, deadline: float) -> float:
    """Load ``url`` as soon as the server answers; returns when it did."""
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            page.goto(url, timeout=5_000)
            return time.perf_counter()
        except Exception:  # connection refused until the server listens
            time.sleep(0.1)
    raise RuntimeError("the server never answered")


WAITING = ("Condition.wait", "Event.wait", "Selector.select", "Thread.join", "Queue.get", "_worker (concurrent")


def where_time_goes(raw_path: Path, top: int = 10) -> list[tuple[str, float]]:
    """Share of the server's busy samples per place: the deepest frame in explorer/ code (with the
    package the time was spent in), else that package. py-spy's raw format: 'frame;...;frame count'
    per line, a frame being 'function (file:line)'; threads waiting on a lock or socket are left out."""
    counts, total = Counter(), 0
    for line in raw_path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not n.isdigit() or any(wait in frames[-1] for wait in WAITING):
            continue
        ours = [frame for frame in frames if _is_ours(frame)]
        leaf = _package(frames[-1])
        label = ((_frame_label(ours[-1]) + ("" if _is_ours(frames[-1]) else f" (in {leaf})")) if ours
                 else "outside explorer: " + leaf)
        counts[label] += int(n)
        total += int(n)
    return [(label, n / total) for label, n in counts.most_common(top)] if total else []


def _file(frame: str) -> str:
    match = re.match(r".* \((.*?)(:\d+)?\)$", frame)
    return match[1] if match else frame


def _is_ours(frame: str) -> bool:
    path = _file(frame)
    return path.startswith("explorer/") or "/explorer/" in path


def _frame_label(frame: str) -> str:
    """'fn (explorer/ui/maps.py:12)' -> 'explorer/ui/maps.py fn'."""
    path = _file(frame)
    return f"{path[path.find('explorer/'):]} {frame[:frame.rfind(' (')]}"


def _package(frame: str) -> str:
    """Where a frame is: its package ('umap', 'llvmlite', ...; py-spy gives site-packages paths
    relative to sys.path), 'import machinery', or the stdlib file."""
    path = _file(frame)
    if "importlib" in path:
        return "import machinery"
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    return path.split("/", 1)[0] if "/" in path and not path.startswith("/") else path.rsplit("/", 1)[-1]


def _profile(row: Row) -> Row:
    """The same cold start again under py-spy; its summary goes into the row's numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        spy_path = Path(tmp) / "cold_start.txt"
        result = measure(row.numbers["url_path"], spy_path=spy_path)
        row.numbers["profile"] = where_time_goes(spy_path) if spy_path.exists() else []
        row.numbers["profiled_seconds"] = result["seconds"]
    return row


def rows(sizes: Sizes) -> list[Row]:
    """One row per dataset, the slowest first (the goal row reads the first)."""
    if not sizes.fresh_process:
        return [Row("5 cold start", NAME, "skipped (--quick)")]
    reason = why_not()
    if reason is not None:
        return [Row("5 cold start", NAME, f"n/a ({reason})")]
    measured = []
    for path in targets():
        try:
            runs = [measure(path) for _ in range(REPEATS)]
        except Exception as error:  # a browser or server failure is a result, not a crash of the run
            return [Row("5 cold start", NAME, f"n/a ({type(error).__name__}: {str(error)[:120]})")]
        seconds = [r["seconds"] for r in runs]
        result = {"seconds": median(seconds), "runs_s": seconds, "url_path": path,
                  "first_response_s": median([r["first_response_s"] for r in runs])}
        measured.append(Row("5 cold start", NAME, f"{result['seconds']:.1f} s",
                            f"median of {REPEATS} cold starts ({', '.join(f'{x:.1f}' for x in seconds)} s); first "
                            f"HTTP response at {result['first_response_s']:.1f} s; /{path}", result))
    measured.sort(key=lambda row: -row.numbers["seconds"])
    if measured[0].numbers["seconds"] > GOAL_S and shutil.which("py-spy"):
        try:
            measured[0] = _profile(measured[0])
        except Exception as error:  # the profile is an extra; the measurement stands
            measured[0].numbers["profile_error"] = f"{type(error).__name__}: {str(error)[:120]}"
    return measured
