"""Background threads end before the interpreter finalizes (explorer/background.py): a process whose main
thread exits while a daemon thread works in torch must exit cleanly, not abort in std::terminate."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from explorer import background

# A training slot's thread frees the last reference to a finished job (many tensors) as the main thread exits.
SLOT_FREES_A_JOB = """
import threading, torch
from explorer import pool

class Job:
    def __init__(self):
        self.weights = [torch.zeros(4) for _ in range(100_000)]
        self.ended = threading.Event()

    def run(self):
        self.ended.set()

job = Job()
pool.TrainingPool(1).submit(job)
job.ended.wait()
del job  # the slot thread now holds the last reference
"""

# A model's splits are being encoded in the background (explorer/codes.py) as the main thread exits.
SPLITS_BEING_ENCODED = """
import time
import numpy as np
from explorer.codes import SplitCodes
from explorer.data import ImageDataset
from explorer.registry import build, make_config
x = np.random.default_rng(0).uniform(0, 1, (40_000, 1, 28, 28)).astype(np.float32)
dataset = ImageDataset("noise", x, None, x[:20_000], None, (), "test")
model = build("deep_ae", make_config("deep_ae", latent_dim=8), input_shape=(1, 28, 28))
SplitCodes(model, dataset).start()
time.sleep(0.5)
"""


@pytest.mark.parametrize("script", [SLOT_FREES_A_JOB, SPLITS_BEING_ENCODED], ids=["slot", "encode"])
def test_a_process_exits_cleanly_while_a_background_thread_works_in_torch(script):
    # Without the wait at exit (background.EXIT_WAIT_S = 0) each script aborted 3 runs of 3 on the 2-core
    # machine: the daemon thread was stopped inside torch as the interpreter finalized (SIGABRT).
    started = time.perf_counter()
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0 and "terminate called" not in ran.stderr, ran.stderr[-500:]
    assert time.perf_counter() - started < 60


def test_exit_stops_the_split_encoding_between_chunks(monkeypatch):
    import numpy as np

    from explorer.codes import CHUNK, SplitCodes
    from explorer.data import ImageDataset
    from explorer.registry import build, make_config
    x = np.zeros((3 * CHUNK, 1, 8, 8), np.float32)
    model = build("ae", make_config("ae", latent_dim=2), input_shape=(1, 8, 8))
    calls = []
    original = model.encode_array

    def encode_then_exit(images, labels=None):
        calls.append(len(images))
        monkeypatch.setattr(background, "exiting", lambda: True)  # the interpreter starts exiting now
        return original(images, labels)

    monkeypatch.setattr(model, "encode_array", encode_then_exit)
    codes = SplitCodes(model, ImageDataset("zeros", x, None, x[:CHUNK], None, (), "test")).start()
    assert codes.get("test").shape == (CHUNK, 2)  # the test split (one chunk) was done when the exit came
    with pytest.raises(RuntimeError, match="exiting"):
        codes.get("train")  # stopped before its first chunk
    assert calls == [CHUNK]


def test_a_delayed_warm_up_is_skipped_once_the_interpreter_exits(monkeypatch):
    import threading
    exiting = threading.Event()
    monkeypatch.setattr(background, "_exiting", exiting)
    ran = []
    thread = background.start(lambda: ran.append(1), name="warm-up", delay_s=30)
    exiting.set()  # the exit comes during the delay: the wait ends at once
    thread.join(timeout=5)
    assert not thread.is_alive() and ran == []
    background.start(lambda: ran.append(2), name="warm-up", delay_s=0.01).join(timeout=5)
    assert ran == []  # exiting: a delayed start does nothing
