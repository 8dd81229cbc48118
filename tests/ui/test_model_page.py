"""AppTest drives the app as a script: open it, train a tiny model, see its reconstructions."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def test_app_opens_on_digits_without_setup():
    at = open_app()
    assert not at.exception
    assert at.session_state["dataset"] == "digits"
    assert at.selectbox(key="variant").value == "deep_ae"
    assert at.query_params["dataset"] == ["digits"] or at.query_params["dataset"] == "digits"


def test_train_a_tiny_model_and_see_its_error_against_pca():
    at = open_app()
    at.selectbox(key="variant").set_value("ae").run()
    at.number_input(key="cfg.ae.epochs").set_value(3)
    at.number_input(key="cfg.ae.latent_dim").set_value(2)
    at.button(key="FormSubmitter:train_form_ae-Train").click().run()
    job = at.session_state["job"]
    job.join(120)
    at.run()
    assert not at.exception
    current = at.session_state["current"]
    assert current.origin == "trained here" and current.variant == "ae" and len(current.history) == 3
    assert any("PCA with 2 components" in c.value for c in at.caption)
    assert [s.value for s in at.success] == ["Training finished."]


def test_url_query_params_choose_dataset_and_variant():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["variant"] = "vae"
    at.run()
    assert not at.exception and at.selectbox(key="variant").value == "vae"


def test_a_shared_url_restores_the_shipped_model_of_that_code_size():
    """?dataset=…&variant=…&code=… loads that shipped model; the URL then keeps naming it."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"dataset": "digits", "variant": "vae", "code": "8"})
    at.run()
    current = at.session_state["current"]
    assert not at.exception and current.variant == "vae" and current.model.latent_dim == 8
    assert at.query_params["code"] in ("8", ["8"])
    at.selectbox(key="variant").set_value("ae").run()
    assert at.query_params["variant"] in ("ae", ["ae"]) and "code" not in at.query_params


def test_without_fashion_mnist_its_shipped_models_are_listed_with_how_to_get_the_data(monkeypatch):
    """Issue 5: on a machine without the Fashion-MNIST files nothing breaks, and the gallery still
    lists its models, each with a one-line hint."""
    import dataclasses

    import streamlit as st

    from explorer.data import registry
    from explorer.gallery import list_pretrained
    spec = registry._DATASETS["fashion-mnist"]
    monkeypatch.setitem(registry._DATASETS, "fashion-mnist", dataclasses.replace(spec, locate=lambda data_dir: None))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"dataset": "fashion-mnist", "variant": "deep_ae"})
    at.run()
    assert not at.exception
    assert "not installed" in at.warning[0].value and "dataset-fashion-mnist" in at.warning[0].value
    listing = " ".join(m.value for m in at.markdown)
    for entry in list_pretrained("fashion-mnist"):
        assert f"`{entry.variant}` code {entry.latent_dim} (" in listing
    assert listing.count("apt-get install") >= len(list_pretrained("fashion-mnist"))
    for page in ("latent", "traverse", "denoise", "search", "anomaly", "rbm", "compare"):
        at.switch_page(f"explorer/ui/pages/{page}.py").run()
        assert not at.exception, page
        assert any("not installed" in w.value for w in at.warning), page
    st.cache_data.clear()


def test_switching_the_dataset_goes_on_with_a_model_for_it():
    """A teacher switching datasets in the sidebar gets that dataset's shipped model of the chosen
    variant (as a first visit would), and back again the model the session had there."""
    at = open_app()
    on_digits = at.session_state["current"]
    at.switch_page("explorer/ui/pages/latent.py").run()  # a page without the Variant box
    at.selectbox(key="dataset").set_value("fashion-mnist").run()
    current = at.session_state["current"]
    assert not at.exception
    assert current.dataset_name == "fashion-mnist" and current.origin.startswith("pretrained deep_ae")
    at.selectbox(key="dataset").set_value("digits").run()
    assert not at.exception and at.session_state["current"].key == on_digits.key
