"""Training jobs in a child process (issue 14, a full classroom): the model equals training in-process, a
stop reaches the child, a killed child ends the job as failed and frees its slot, nothing is left running.
No Streamlit here."""
from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
import torch

from explorer import worker
from explorer.jobs import TrainingJob
from explorer.pool import TrainingPool
from explorer.training import train
from tests.conftest import tiny_config

WAIT_S = 60.0


def wait_until(condition, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def training_children() -> list:
    return [child for child in multiprocessing.active_children() if child.name == "training-job"]


def test_a_job_trains_in_a_child_the_model_train_gives_in_process(digits):
    """An MLP's sums do not depend on the thread count, so the weights are bitwise equal; the history, the
    training replay carried by the checkpoint, and the last live map come back too."""
    config = tiny_config("ae", latent_dim=2, epochs=2)
    job = TrainingJob(digits, config, seed=3, pool=TrainingPool(1)).start()
    job.join(WAIT_S)
    here = train(digits, config, device="cpu", seed=3)
    assert job.snapshot.status == "finished" and job.exitcode == 0 and not training_children()
    got, expected = job.model.state_dict(), here.model.state_dict()
    assert got.keys() == expected.keys() and all(torch.equal(got[name], expected[name]) for name in got)
    untimed = [[{k: v for k, v in record.items() if k != "seconds"} for record in history]
               for history in (job.snapshot.history, here.history)]
    assert untimed[0] == untimed[1] and job.snapshot.message == here.message
    assert np.array_equal(job.model.replay_.positions, here.model.replay_.positions)
    assert job.snapshot.preview.shape == (len(job.preview_rows), 2) and job.snapshot.progress.fraction == 1.0
    codes = here.model.encode_array(digits.x_test[job.preview_rows])
    assert np.allclose(job.snapshot.preview, codes, atol=1e-6)  # a 2-D code is its own map


def test_a_stop_reaches_the_child_which_keeps_what_it_trained(tiny_dataset):
    job = TrainingJob(tiny_dataset, tiny_config("ae", latent_dim=2, epochs=5000), pool=TrainingPool(1)).start()
    wait_until(lambda: len(job.snapshot.history) >= 2)
    job.stop()
    job.join(WAIT_S)
    assert job.snapshot.status == "stopped" and "stopped by request" in job.snapshot.message
    assert 2 <= len(job.snapshot.history) < 5000 and job.model is not None and job.exitcode == 0
    assert not training_children()


def test_a_killed_child_fails_its_job_in_one_line_and_frees_the_slot(tiny_dataset):
    pool = TrainingPool(1)
    doomed = TrainingJob(tiny_dataset, tiny_config("ae", latent_dim=2, epochs=5000), pool=pool).start()
    behind = TrainingJob(tiny_dataset, tiny_config("ae", latent_dim=2, epochs=1), pool=pool).start()
    wait_until(lambda: doomed.snapshot.progress is not None)
    (child,) = training_children()
    os.kill(child.pid, signal.SIGKILL)
    doomed.join(WAIT_S)
    behind.join(WAIT_S)
    message = doomed.snapshot.message
    assert doomed.snapshot.status == "failed" and doomed.model is None and doomed.exitcode == -signal.SIGKILL
    assert "killed by signal 9" in message and "\n" not in message
    assert behind.snapshot.status == "finished" and behind.model is not None  # the slot was freed
    wait_until(lambda: pool.counts() == (0, 0))
    assert not training_children()


def test_data_not_found_by_name_reaches_the_child_through_mapped_files(tiny_dataset, tmp_path):
    handoff = worker.hand_off(tiny_dataset, tmp_path)
    mapped = worker.take_over(handoff)
    assert handoff.folder is not None and mapped.fingerprint == tiny_dataset.fingerprint
    owner = mapped.x_train
    while isinstance(owner, np.ndarray):
        owner = owner.base
    assert isinstance(owner, mmap.mmap)  # the child reads the file's pages: no copy of the images in its memory


def test_a_named_dataset_is_read_again_by_name_and_checked(digits, tmp_path):
    handoff = worker.hand_off(digits, tmp_path)
    assert handoff.folder is None and not list(tmp_path.iterdir())
    assert worker.take_over(handoff).fingerprint == digits.fingerprint


@pytest.mark.parametrize("cores, slots, threads", [(1, 1, 1), (2, 1, 1), (4, 2, 1), (8, 2, 3), (16, 2, 7)])
def test_a_child_leaves_the_server_a_core(cores, slots, threads):
    assert worker.child_threads(slots, cores) == threads


def test_the_fork_server_started_ahead_is_ready_when_its_thread_ends(tiny_dataset):
    from multiprocessing import forkserver
    worker.start_fork_server_in_background(delay_s=0).join(timeout=120)
    pid = forkserver._forkserver._forkserver_pid
    assert pid is not None and os.waitpid(pid, os.WNOHANG) == (0, 0)  # started, and still running
    job = TrainingJob(tiny_dataset, tiny_config("ae", 2, epochs=1)).start()
    job.join(timeout=120)
    assert job.snapshot.status == "finished"
    assert forkserver._forkserver._forkserver_pid == pid  # the job's child came from that server
