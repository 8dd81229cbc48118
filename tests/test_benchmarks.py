"""Smoke test of ``python -m benchmarks --quick``: every row of the table is produced, no section
crashed, and the numbers are sane. Benchmarks are not timed tests, so no speed is asserted here."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.runner import RESULTS, VARIANTS, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmarks")
    before = RESULTS.stat().st_mtime_ns if RESULTS.exists() else None
    assert main(["--quick", "--json", str(folder / "quick.json"), "--results", str(folder / "quick.md")]) == 0
    assert main(["--render", str(folder / "quick.json"), "--results", str(folder / "again.md")]) == 0
    after = RESULTS.stat().st_mtime_ns if RESULTS.exists() else None
    text = (folder / "quick.md").read_text()
    assert (folder / "again.md").read_text() == text, "--render must rebuild the same markdown from --json"
    return json.loads((folder / "quick.json").read_text()), text, before == after


def test_every_section_and_row_is_there(quick):
    payload, _, _ = quick
    names = [(row["section"], row["name"]) for row in payload["rows"]]
    sections = {section for section, _ in names}
    assert sections == {"0 levers", "1 throughput", "2 time to quality", "3 latency", "4 projection",
                        "5 cold start", "6 memory", "7 GPU", "8 first use", "9 distributed and stored data",
                        "10 classroom", "11 retrieval"}
    for variant in VARIANTS:
        sides = [name for section, name in names if section == "1 throughput" and name.startswith(variant + " ")]
        assert len(sides) >= 3, f"{variant}: plain loop, Trainer and tuned Trainer rows expected, got {sides}"
    latency = " ".join(name for section, name in names if section == "3 latency")
    for what in ("decode", "search", "PCA map", "UMAP map", "denoise"):
        assert what in latency
    pages = {name.split(" /")[1].split(":")[0] for section, name in names if section == "3 latency" and " /" in name}
    assert pages == {"traverse", "latent", "denoise", "search", "anomaly", "compare", "model"}, pages
    assert sum(section == "4 projection" and "fresh process" in name for section, name in names) == 3
    assert [goal["name"] for goal in payload["goals"]] == [name for name, _, _ in report.GOALS]
    assert {goal["value"] for goal in payload["goals"]} <= {"met", "MISSED", "n/a",
                                                            "met in bf16 only (opt-in --precision bf16)"}
    floors = [name for section, name in names if section == "1 throughput" and "matrix products alone" in name]
    assert len(floors) == 2 and "fp32" in floors[0] and "bf16" in floors[1], floors


def throughput_results(fp32: float, bf16: float, bf16_error: float = 10.0) -> dict:
    side = {"batch": 128, "test_error": 10.0}
    return {"throughput": {"deep_ae": {"plain": {"test_error": 10.0},
                                       "trainer": {**side, "ratio": fp32, "precision": "fp32"},
                                       "trainer_bf16": {**side, "ratio": bf16, "precision": "bf16",
                                                        "test_error": bf16_error}}}}


def test_the_throughput_goal_says_which_precision_met_it():
    assert report._throughput(throughput_results(2.1, 3.0))[1] is True
    assert report._throughput(throughput_results(1.2, 2.2))[1] == "met in bf16 only (opt-in --precision bf16)"
    assert report._throughput(throughput_results(1.2, 2.2, bf16_error=10.5))[1] is False  # bought with quality
    assert report._throughput(throughput_results(1.2, 1.5))[1] is False


def test_no_section_crashed_and_absent_parts_say_why(quick):
    payload, _, _ = quick
    for row in payload["rows"]:
        assert not row["value"].startswith("error"), row
        if row["value"].startswith(("n/a", "skipped")):
            assert row["value"].endswith(")"), row  # a reason in parentheses
    gpu = next(row for row in payload["rows"] if row["section"].startswith("7 GPU"))
    import torch
    assert (gpu["value"] == "no GPU here") == (not torch.cuda.is_available())


def test_numbers_are_sane(quick):
    payload, _, _ = quick
    for variant, summary in payload["results"]["throughput"].items():
        plain = summary["plain"]
        assert plain["samples_per_s"] > 0 and math.isfinite(plain["test_error"])
        for side in ("trainer", "trainer_tuned"):
            assert summary[side]["ratio"] > 0 and math.isfinite(summary[side]["test_error"])
        # same model, data, epochs and batch from the same initial weights: close test errors
        assert summary["trainer"]["test_error"] == pytest.approx(plain["test_error"], rel=0.05)
    for name, stats in payload["results"]["latency"].items():
        assert 0 < stats["p50_ms"] <= stats["p95_ms"], name
        assert stats["calls"] == payload["sizes"]["latency_calls"]
    quality = payload["results"]["quality"]
    assert quality["threshold"] == pytest.approx(0.75 * quality["pca_error"])
    assert 0 < payload["results"]["profile"]["matmul_share"] < 1
    for floor in payload["results"]["gemm_floor"].values():
        assert floor["seconds"] > 0 and floor["max_ratio"] > 0


def test_markdown_has_goals_and_every_row_and_results_md_is_left_alone(quick):
    payload, text, results_md_untouched = quick
    assert "## Goals" in text and "## Measurements" in text and "cpu_count" in text and "torch" in text
    for row in payload["rows"]:
        assert row["name"].replace("|", "\\|") in text
    assert results_md_untouched, "--quick must not overwrite benchmarks/RESULTS.md"


def test_module_entry_point_parses_arguments():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "--quick" in done.stdout and "--json" in done.stdout


def test_thread_choice_starts_from_the_load_and_switches_only_on_a_clear_win(monkeypatch):
    """The Trainer's thread choice, the lever the throughput rows mostly measure (fed made-up step times)."""
    import torch

    from explorer import threads
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(threads, "cores_busy", lambda: True)
        choice = threads.ThreadChoice(torch.device("cpu"))
        assert torch.get_num_threads() == 1, "busy cores: start with one thread"
        for _ in range(4):
            choice.after(0.010)
        choice.next_try = 0.0
        choice.before()
        assert torch.get_num_threads() == 2, "a due try runs a step on all threads"
        choice.after(0.100)  # clearly slower: back to one thread at once, next try after twice the wait
        assert torch.get_num_threads() == 1 and choice.wait_s == 2 * choice.FIRST_WAIT_S
        choice.next_try = 0.0
        choice.before()
        choice.after(0.004)  # clearly faster: switch
        assert torch.get_num_threads() == 2 and choice.current == 2 and choice.wait_s == choice.FIRST_WAIT_S
        monkeypatch.setattr(threads, "cores_busy", lambda: False)
        assert threads.ThreadChoice(torch.device("cpu")).current == 2
        assert not threads.ThreadChoice(torch.device("meta")).active
    finally:
        torch.set_num_threads(before)


def quality_results(fp32_s: float | None, bf16_s: float | None) -> dict:
    run = {"epochs": 6, "budget_s": 900.0}
    return {"quality": {**run, "seconds": fp32_s}, "quality_bf16": {**run, "seconds": bf16_s}}


def test_the_time_to_quality_goal_says_which_precision_met_it():
    assert report._quality(quality_results(50.0, 30.0))[1] is True
    assert report._quality(quality_results(70.0, 40.0))[1] == "met in bf16 only (opt-in --precision bf16)"
    assert report._quality(quality_results(None, 70.0))[1] is False
