"""kill -9 during a checkpoint save, at every disk operation and twice in a row: the previous
checkpoint survives intact or the new one is complete, a half-written one never loads, and the next
save cleans up what the kills left (tests.hostile.cases.kill_scenario runs each in a forked child).
"""
from __future__ import annotations

import pytest

SAVE = "tests.hostile.cases:kill_scenario"


@pytest.fixture(scope="module")
def n_steps(worker, tmp_path_factory) -> int:
    """How many disk operations one uninterrupted save of a checkpoint over another makes."""
    folder = tmp_path_factory.mktemp("count") / "m"
    assert worker.call("tests.hostile.cases:save_killed_at", folder, 1.0, 0).result is not None
    steps = worker.call("tests.hostile.cases:save_killed_at", folder, 2.0, 0).result
    assert 10 <= steps <= 30, steps  # mkdtemp, 2 x (open, write, fsync), fsync, 2 renames, fsync, rmtree
    return steps


@pytest.fixture(scope="module")
def single_kills(worker, tmp_path_factory, n_steps) -> dict[int, dict]:
    """For each step of a save: what a kill there left, what loaded, and what a clean save made of it."""
    folder = tmp_path_factory.mktemp("single")
    return {step: scenario(worker, folder, step) for step in range(1, n_steps + 1)}


def scenario(worker, tmp_path, *steps) -> dict:
    outcome = worker.call(SAVE, tmp_path / "ckpts" / "m", list(steps))
    assert outcome.crash is None and outcome.error is None, outcome
    return outcome.result


def test_kill_at_every_step_of_a_save(single_kills):
    for step, result in single_kills.items():
        assert result["killed"] == [True], step
        # the previous version (1) or, once the swap is done, the new one (2): never a half-written one
        assert result["loaded"] in (1.0, 2.0), (step, result)
        assert result["after_clean_save"] == 9.0 and result["finally"] == ["m"], (step, result)


def test_a_save_killed_between_its_renames_leaves_the_previous_checkpoint_loadable(single_kills):
    between = [step for step, result in single_kills.items() if _between_renames(result)]
    assert between, "no kill left the swap half done"
    assert all(single_kills[step]["loaded"] == 1.0 for step in between)


def test_a_half_written_checkpoint_is_never_loaded(single_kills):
    staged = [step for step, result in single_kills.items() if result["staged"]]
    assert staged, "no kill left a half-written file"
    assert all(single_kills[step]["loaded"] == 1.0 for step in staged)


@pytest.mark.parametrize("first", ["between renames", "mid-write"])
def test_two_kills_in_a_row(worker, tmp_path, single_kills, n_steps, first):
    """A second save killed at any of its steps, its recovery of the first kill's leftovers included."""
    test = _between_renames if first == "between renames" else lambda result: bool(result["staged"])
    first_step = next(step for step, result in single_kills.items() if test(result))
    for second in range(1, n_steps + 3):
        result = scenario(worker, tmp_path, first_step, second)
        assert result["loaded"] in (1.0, 2.0, 3.0), (first_step, second, result)
        assert result["after_clean_save"] == 9.0 and result["finally"] == ["m"], (first_step, second, result)


@pytest.mark.slow
def test_two_kills_at_every_pair_of_steps(worker, tmp_path, n_steps):
    for first in range(1, n_steps + 1):
        for second in range(1, n_steps + 3):
            result = scenario(worker, tmp_path, first, second)
            assert result["loaded"] in (1.0, 2.0, 3.0), (first, second, result)
            assert result["after_clean_save"] == 9.0 and result["finally"] == ["m"], (first, second, result)


def _between_renames(result: dict) -> bool:
    return "m" not in result["left"] and ".m.old" in result["left"]
