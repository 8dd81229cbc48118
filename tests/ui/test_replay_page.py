"""AppTest of the Model page's replay and step mode: the shipped 2-D model's replay slider changes the map
and the epoch's error; a model trained here carries its replay; step mode's clicks change the map and the
batch counter; a variant that cannot be stepped says why in one line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.checkpoint import CONFIG, REPLAY, WEIGHTS
from explorer.replay import kept_epoch

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def model_page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"dataset": "digits", "variant": "deep_ae", "code": "2", **params})
    at.switch_page("explorer/ui/pages/model.py")
    return at.run()


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if key in c.proto.id).proto.spec)


def slider(at: AppTest):
    return next(s for s in at.select_slider if s.key.startswith("replay.epoch."))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_shipped_replay_moves_with_the_slider():
    at = model_page()
    current = at.session_state["current"]
    replay, kept = current.model.replay_, kept_epoch(current.history)
    assert not at.exception and kept in replay.epochs and slider(at).value == kept  # opens on the map the model has
    last = chart(at, "replay_map")
    slider(at).set_value(int(replay.epochs[3])).run()
    third = chart(at, "replay_map")
    assert not at.exception and json.dumps(third["data"]) != json.dumps(last["data"])
    assert third["layout"]["title"]["text"].startswith(f"Epoch {replay.epochs[3]} of {replay.epochs[-1]} · test error")
    assert third["layout"]["xaxis"]["range"] == last["layout"]["xaxis"]["range"]  # fixed axes
    assert metrics(at)["Test error"] == f"{replay.test_error[3]:.2f}"
    assert metrics(at)[f"Epoch (of {replay.epochs[-1]})"] == str(replay.epochs[3])


def test_step_mode_changes_the_map_and_the_batch_counter():
    at = model_page()
    at.button(key="step_start").click().run()
    stepper = at.session_state["stepper"]
    assert not at.exception and stepper.updates == 0
    before = chart(at, "step_map")
    at.button(key="step_batch").click().run()
    assert [m.value for m in at.markdown if m.value.startswith("#### Epoch 1")] == [f"#### {stepper.status()}"]
    assert stepper.status().startswith(f"Epoch 1 · batch 1 of {stepper.n_batches} · 1 update so far")
    after = chart(at, "step_map")
    assert json.dumps(after["data"]) != json.dumps(before["data"])
    assert after["layout"]["title"]["text"] == "After 1 update"
    at.button(key="step_batches").click().run()
    at.button(key="step_epoch").click().run()  # digits: the rest of epoch 1 in one click
    assert not at.exception and stepper.updates == stepper.n_batches and stepper.epoch == 2
    at.button(key="step_keep").click().run()
    current = at.session_state["current"]
    assert not at.exception and current.origin == f"stepped here ({stepper.n_batches} updates)"
    assert current.model is not stepper.model and len(current.history) == 1


@pytest.mark.slow  # the core's refusals are in tests/test_stepping.py; this checks the page shows the line
@pytest.mark.parametrize("variant", ["stacked_ae"])
def test_a_variant_that_cannot_step_says_why(variant):
    at = model_page(variant=variant, code="2")
    at.button(key="step_start").click().run()
    assert not at.exception and "stepper" not in at.session_state
    assert [e.value for e in at.error] == [f"{variant} trains greedily, one layer at a time before the whole stack, "
                                           "so stepping its last stage alone would show another model; train it "
                                           "whole and watch its replay instead"]


@pytest.mark.slow  # trains through the job; test_replay.py checks train() and the checkpoint carry the replay
def test_a_model_trained_here_carries_its_replay():
    at = model_page(variant="ae")
    at.number_input(key="cfg.ae.epochs").set_value(3)
    at.button(key="FormSubmitter:train_form_ae-Train").click().run()
    at.session_state["job"].join(120)
    at.run()
    assert not at.exception and at.session_state["current"].origin == "trained here"
    assert slider(at).options == ["0", "1", "2", "3"] and slider(at).value == 3


@pytest.mark.slow  # the zip and the bytes loaders are covered in tests/test_replay.py; this checks the page's hunk
def test_an_uploaded_checkpoint_brings_its_replay():
    """The three files of a checkpoint folder uploaded together: the replay comes with the weights."""
    folder = Path(APP).parent / "pretrained" / "digits" / "deep_ae-2"
    at = model_page(variant="ae")
    at.file_uploader(key="ckpt_upload").set_value([(name, (folder / name).read_bytes(), "application/octet-stream")
                                                    for name in (WEIGHTS, CONFIG, REPLAY)])
    at.run().button(key="load_checkpoint").click().run()
    current = at.session_state["current"]
    assert not at.exception and not at.error and current.variant == "deep_ae"
    assert slider(at).options[-1] == "200" and len(slider(at).options) == len(current.model.replay_.epochs)


def test_a_lesson_link_opens_the_replay_at_an_epoch():
    """``replay=6`` on the Model page: the last recorded epoch at or before 6 (digits deep_ae-2 keeps them all
    early on), with the controls hidden under ``lesson=1``; the link written back carries it."""
    at = model_page(replay="6", lesson="1")
    replay = at.session_state["current"].model.replay_
    assert not at.exception and not at.warning and slider(at).value == 6 and 6 in replay.epochs
    assert at.session_state["lesson.shown"]["replay"] == 6
    assert chart(at, "replay_map")["layout"]["title"]["text"].startswith(f"Epoch 6 of {replay.epochs[-1]}")
