"""Hostile inputs run in a bounded child process (:mod:`tests.hostile.worker`): a 2 GB address-space
limit, so a regression that believes a declared size fails its test instead of exhausting the
machine, and a peak RSS measured per case. One worker serves the whole session (torch is imported
once); a case that kills or hangs it gets a fresh one.
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from explorer.checkpoint import CONFIG, WEIGHTS, dataset_record, save
from explorer.registry import build, make_config
from tests.conftest import make_image_dataset

ROOT = Path(__file__).resolve().parents[2]
MAX_RSS_MB = 1024


@dataclass
class Outcome:
    error: str | None = None      # the ExplorerError's class name
    message: str | None = None
    exit: int | None = None       # a SystemExit's code
    crash: str | None = None      # any other exception's traceback
    result: object = None
    stdout: str = ""
    stderr: str = ""
    peak_mb: float = 0.0
    files_unchanged: bool | None = None  # whether every file under the test's tmp_path is as it was


class Worker:
    def __init__(self, log: Path):
        self.log, self.process = log, None

    def call(self, target: str, *args, timeout: float = 120) -> Outcome:
        """Run ``module:function(*args)`` in the worker; a hang past ``timeout`` s is a crash."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        self.process.stdin.write(json.dumps({"call": target, "args": [str(a) if isinstance(a, Path) else a
                                                                       for a in args]}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.close()
            return Outcome(crash=f"the worker died or hung on {target}{args}; see {self.log}")
        return Outcome(**json.loads(line))

    def _start(self):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, "-m", "tests.hostile.worker"], cwd=ROOT, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=open(self.log, "a"), text=True)

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def worker(tmp_path_factory):
    worker = Worker(tmp_path_factory.mktemp("worker") / "stderr.log")
    yield worker
    worker.close()


@pytest.fixture
def call(worker, tmp_path):
    """``worker.call`` that also records whether the case left every file under ``tmp_path`` as it was."""
    def call(target: str, *args, **kwargs) -> Outcome:
        before = snapshot(tmp_path)
        outcome = worker.call(target, *args, **kwargs)
        outcome.files_unchanged = snapshot(tmp_path) == before
        return outcome
    return call


def refused(outcome: Outcome, error: str, *expected: str) -> str:
    """The case ended in one ``error`` whose one-line message holds ``expected``, under the RSS bound,
    and no earlier file was moved, replaced or changed."""
    assert outcome.crash is None, outcome.crash
    assert outcome.files_unchanged is not False, "the case changed files under tmp_path"
    assert outcome.error == error, outcome
    assert "\n" not in outcome.message and "Traceback" not in outcome.message + outcome.stderr
    for text in expected:
        assert text in outcome.message, outcome.message
    assert outcome.peak_mb < MAX_RSS_MB, f"peak RSS {outcome.peak_mb:.0f} MB"
    return outcome.message


def cli_refused(outcome: Outcome, *expected: str) -> str:
    """``python -m explorer`` ended with exit status 2 and one line on stderr, under the RSS bound, and
    no earlier file was moved, replaced or changed."""
    assert outcome.crash is None, outcome.crash
    assert outcome.files_unchanged is not False, "the case changed files under tmp_path"
    assert outcome.result == 2 or outcome.exit == 2, outcome
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in outcome.stderr, outcome.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert outcome.peak_mb < MAX_RSS_MB, f"peak RSS {outcome.peak_mb:.0f} MB"
    return lines[0]


def snapshot(path: Path) -> dict[str, object]:
    """Every file under ``path`` (or ``path`` itself) by relative name, with its sha256 (size and mtime
    for a sparse giant): equal snapshots mean nothing was moved, replaced or changed."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return {str(p.relative_to(path.parent)): _fingerprint(p) for p in files}


def _fingerprint(path: Path) -> object:
    status = path.stat()
    if status.st_size > 2**26:
        return status.st_size, status.st_mtime_ns
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def good_checkpoint(tmp_path_factory) -> Path:
    """A small deep_ae checkpoint (8x8 grey, 3 classes) whose config.json the cases spoil."""
    dataset = make_image_dataset()
    model = build("deep_ae", make_config("deep_ae", latent_dim=2, hidden="32,16"), input_shape=(1, 8, 8),
                  n_classes=3)
    return save(model, tmp_path_factory.mktemp("good") / "m", dataset_record(dataset))


def spoiled(good: Path, tmp_path: Path, change) -> Path:
    """A copy of ``good`` whose config.json record went through ``change(record)`` (which may return
    bytes to write instead); the weights stay, so their sha256 still matches."""
    folder = tmp_path / "spoiled"
    folder.mkdir()
    (folder / WEIGHTS).write_bytes((good / WEIGHTS).read_bytes())
    record = json.loads((good / CONFIG).read_text())
    written = change(record)
    (folder / CONFIG).write_bytes(written if isinstance(written, bytes) else json.dumps(record).encode())
    return folder


def with_weights(good: Path, tmp_path: Path, weights: bytes) -> Path:
    """A copy of ``good`` with other weights, its sha256 updated so that the weights get parsed."""
    digest = hashlib.sha256(weights).hexdigest()
    folder = spoiled(good, tmp_path, lambda r: r.update(weights_sha256=digest))
    (folder / WEIGHTS).write_bytes(weights)
    return folder
