"""Fixtures for the page tests: small trained models shared by the Latent, Traverse and Search tests."""
from __future__ import annotations

from pathlib import Path

import pytest
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
