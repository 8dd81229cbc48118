"""Two browser sessions training at once: each has its own job, progress, Stop button and model,
and nothing trained in one ever shows up in the other (AppTest gives each its own session state,
while the process-wide caches are shared, as on a real server)."""
from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
COMPARE = "explorer/ui/pages/compare.py"
EPOCHS_B = 15   # long enough to still be running when A is stopped, short enough to wait for


def start_training(variant: str, epochs: int, latent_dim: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    next(s for s in at.selectbox if s.label == "Variant").set_value(variant).run()
    at.number_input(key=f"cfg.{variant}.epochs").set_value(epochs)
    at.number_input(key=f"cfg.{variant}.latent_dim").set_value(latent_dim)
    at.button(key=f"FormSubmitter:train_form_{variant}-Train").click().run()
    assert not at.exception
    return at


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def holds(at: AppTest, thing) -> bool:
    """Whether anything in the session's state is, or contains, ``thing``."""
    def contains(value) -> bool:
        if value is thing:
            return True
        if isinstance(value, dict):
            return any(contains(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(contains(v) for v in value)
        return getattr(value, "model", None) is thing
    return any(contains(value) for _, value in at.session_state.items())


def test_two_sessions_train_at_once_with_their_own_jobs_progress_stop_and_models():
    long_run = start_training("ae", epochs=2000, latent_dim=2)      # would take minutes: it gets stopped
    short_run = start_training("deep_ae", epochs=EPOCHS_B, latent_dim=3)
    job_a, job_b = long_run.session_state["job"], short_run.session_state["job"]
    assert job_a is not job_b
    wait_for(lambda: job_a.snapshot.progress is not None)

    long_run.run()      # session A shows its own progress and Stop; B's page has no part in it
    assert long_run.button(key="stop_training") and "epoch" in long_run.get("progress")[0].proto.text
    both_running = not job_a.done and not job_b.done
    long_run.button(key="stop_training").click().run()
    warnings = [w.value for w in long_run.warning]   # shown by the run that collects the stopped job
    job_a.join(60)
    job_b.join(120)
    assert job_a.snapshot.status == "stopped" and len(job_a.snapshot.history) < 2000
    assert job_b.snapshot.status == "finished" and len(job_b.snapshot.history) == EPOCHS_B
    assert job_a.model is not None and job_b.model is not None and job_a.model is not job_b.model
    assert both_running, "the two sessions' jobs did not overlap"

    long_run.run()
    short_run.run()
    warnings += [w.value for w in long_run.warning]
    a, b = long_run.session_state["current"], short_run.session_state["current"]
    assert (a.variant, a.model.latent_dim, a.model) == ("ae", 2, job_a.model)
    assert (b.variant, b.model.latent_dim, b.model) == ("deep_ae", 3, job_b.model)
    assert not holds(short_run, job_a.model) and not holds(short_run, job_a)
    assert not holds(long_run, job_b.model) and not holds(long_run, job_b)
    assert [s.value.split(":")[0].rstrip(".") for s in short_run.success] == ["Training finished"]  # and what it kept
    assert any(w.lower().startswith("stopped by request") for w in warnings) and not short_run.warning

    short_run.switch_page(COMPARE).run()     # B compares only what B trained (and shipped models)
    offered = [option.content for option in short_run.button_group(key="compare.models.3").proto.options]
    assert "deep_ae (trained here)" in offered and not any(o.startswith("ae ") for o in offered)
