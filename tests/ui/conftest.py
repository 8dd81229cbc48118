"""Fixtures for the page tests: small trained models shared by the Latent, Traverse and Search tests, and
helpers to find the session's boxes and to watch the app's fragment timers."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from explorer.registry import make_config
from explorer.training import train
from explorer.ui.state import CurrentModel

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SMALL_MODELS = {"ae": 2, "vae": 4, "cvae": 2}  # deterministic with a 2-D code, Gaussian, conditional


@pytest.fixture(scope="session")
def small_models(digits) -> dict[str, CurrentModel]:
    """One of each kind of model, two epochs on digits."""
    return {name: CurrentModel(train(digits, make_config(name, epochs=2, latent_dim=k), device="cpu").model,
                               "digits", "small (test)") for name, k in SMALL_MODELS.items()}


@pytest.fixture
def open_page():
    """``open_page(model, "latent")``: the app on digits with ``model`` current, showing that page."""
    def open_(model: CurrentModel, page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        at.session_state["dataset"] = "digits"
        at.session_state["variant"] = model.variant
        at.session_state["uploads"] = {}
        at.session_state["current"] = model
        return at.run().switch_page(f"explorer/ui/pages/{page}.py").run()
    return open_


@pytest.fixture
def box():
    """``box(at, "Dataset")``: the select box with that label (the Dataset and Variant boxes get a new key
    for each model, see ``state.box``)."""
    return lambda at, label: next(s for s in at.selectbox if s.label == label)


@pytest.fixture
def auto_reruns(monkeypatch) -> list[float]:
    """The intervals of the fragment timers (``st.fragment(run_every=…)``) the app's runs start, in order."""
    seen, original = [], ForwardMsgQueue.enqueue

    def enqueue(queue, message):
        if message.WhichOneof("type") == "auto_rerun":
            seen.append(message.auto_rerun.interval)
        return original(queue, message)
    monkeypatch.setattr(ForwardMsgQueue, "enqueue", enqueue)
    return seen
