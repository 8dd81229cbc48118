"""AppTest drives the app as a script: the session's model named alike by the URL, the sidebar, the
Variant box and the page; training, switching, URLs that cannot be honoured, and an idle page that
stays idle."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.data import dataset_status, write_idx
from explorer.gallery import list_pretrained
from explorer.pretrain import shipped_config
from explorer.registry import make_config

APP = str(Path(__file__).resolve().parents[2] / "app.py")
FASHION = dataset_status("fashion-mnist").available
needs_fashion = pytest.mark.skipif(not FASHION, reason="Fashion-MNIST is not installed")


def open_app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(params)
    return at.run()


def url(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def on_screen(at: AppTest, box) -> dict:
    """What the session, the URL, the sidebar and the boxes say the model is."""
    current = at.session_state["current"]
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    return {"state": (at.session_state["dataset"], current.variant, current.model.latent_dim),
            "url": (url(at)["dataset"], url(at)["variant"], int(url(at)["code"])),
            "sidebar": f"`{current.variant}` · code {current.model.latent_dim}" in sidebar,
            "boxes": (box(at, "Dataset").value, next((s.value for s in at.selectbox if s.label == "Variant"), None))}


def test_app_opens_on_digits_without_setup(box):
    at = open_app()
    assert not at.exception and not at.warning
    seen = on_screen(at, box)
    assert seen["state"] == seen["url"] == ("digits", "deep_ae", 2) and seen["sidebar"]
    assert seen["boxes"] == ("digits", "deep_ae")


def test_train_a_tiny_model_and_see_its_error_against_pca(box):
    at = open_app()
    box(at, "Variant").set_value("ae").run()
    at.number_input(key="cfg.ae.epochs").set_value(3)
    at.number_input(key="cfg.ae.latent_dim").set_value(3)
    at.button(key="FormSubmitter:train_form_ae-Train").click().run()
    at.session_state["job"].join(120)
    at.run()
    assert not at.exception
    current = at.session_state["current"]
    assert current.origin == "trained here" and current.variant == "ae" and len(current.history) == 3
    assert any("PCA with 3 components" in c.value for c in at.caption)
    [finished] = [s.value for s in at.success]  # says which epoch's weights the model kept, and why
    best = min(record["val_sq_err"] for record in current.history)
    assert finished.startswith("Training finished: kept the") and f"validation images ({best:.3g}" in finished
    assert url(at) == {"dataset": "digits", "variant": "ae", "code": "3"}


def test_form_labels_are_plain_words_with_a_tooltip_each():
    at = open_app()
    form = {n.key: n for n in at.number_input if n.key.startswith("cfg.deep_ae.")}
    assert form["cfg.deep_ae.lr"].label == "learning rate" and form["cfg.deep_ae.latent_dim"].label == "code size"
    assert at.text_input(key="cfg.deep_ae.hidden").label == "hidden layer widths"
    assert "'auto'" in at.text_input(key="cfg.deep_ae.hidden").help
    assert all(n.help for n in form.values())


def test_a_shared_url_restores_the_shipped_model_of_that_code_size(box):
    """?dataset=…&variant=…&code=… loads that shipped model; picking another variant loads its shipped
    model at the same code size, and the URL follows."""
    at = open_app(dataset="digits", variant="vae", code="8")
    seen = on_screen(at, box)
    assert not at.exception and seen["state"] == seen["url"] == ("digits", "vae", 8) and seen["sidebar"]
    box(at, "Variant").set_value("ae").run()
    seen = on_screen(at, box)
    assert seen["state"] == seen["url"] == ("digits", "ae", 8) and seen["sidebar"] and seen["boxes"] == ("digits", "ae")
    assert at.session_state["current"].origin == "pretrained ae (code 8)"


def test_picking_a_variant_loads_it_and_the_shipped_box_and_caption_follow(box):
    at = open_app()
    box(at, "Variant").set_value("vae").run()
    seen = on_screen(at, box)
    assert seen["state"] == seen["url"] == ("digits", "vae", 2) and seen["sidebar"]
    shipped = box(at, "Shipped model").value
    assert (shipped.variant, shipped.latent_dim) == ("vae", 2)
    assert any(c.value.startswith("`vae (code 2)` was trained with") and "--variant vae --latent-dim 2" in c.value
               for c in at.caption)
    box(at, "Shipped model").set_value(next(e for e in list_pretrained("digits") if e.label == "vae (code 8)")).run()
    at.button(key="load_pretrained").click().run()
    assert on_screen(at, box)["state"] == ("digits", "vae", 8) and box(at, "Shipped model").value.latent_dim == 8
    assert at.button(key="load_pretrained").disabled  # the one on screen


@pytest.mark.parametrize("params, opened, said", [
    ({"variant": "vae", "code": "99"}, ("digits", "vae", 8), "No shipped `vae` on digits has code size 99: opened code 8"),
    ({"variant": "nosuch"}, ("digits", "deep_ae", 2), "There is no variant `nosuch`: opened `deep_ae` instead."),
    ({"dataset": "nosuch", "variant": "ae", "code": "8"}, ("digits", "ae", 8), "There is no dataset `nosuch` here"),
    ({"variant": "ae", "code": "two"}, ("digits", "ae", 2), "The code size `two` is not a whole number"),
])
def test_a_url_that_cannot_be_honoured_says_what_was_opened_instead(params, opened, said, box):
    at = open_app(**params)
    assert not at.exception and on_screen(at, box)["state"] == on_screen(at, box)["url"] == opened
    assert [w.value for w in at.warning if w.value.startswith(said[:20])] and any(said in w.value for w in at.warning)
    at.switch_page("explorer/ui/pages/traverse.py").run()   # the notice stays with the page until a switch
    assert any(said in w.value for w in at.warning)
    at.switch_page("explorer/ui/pages/model.py").run()
    box(at, "Variant").set_value("ae" if opened[1] != "ae" else "vae").run()
    assert not any(said in w.value for w in at.warning)


def test_a_box_drawn_for_an_earlier_model_changes_nothing(box):
    """Two boxes changed in one request (the second as the browser showed it before the first change
    redrew the page): only the first to apply counts, so nothing clicked on a stale box switches the model."""
    at = open_app()
    box(at, "Variant").set_value("vae")
    box(at, "Dataset").set_value("mnist")
    at.run()
    assert not at.exception
    assert (at.session_state["dataset"], at.session_state["variant"]) in {("digits", "vae"), ("mnist", "deep_ae")}


def test_the_idle_model_page_has_no_fragment_timer(auto_reruns):
    """The Model page polls twice a second only while a job runs."""
    at = open_app()
    at.run()
    assert auto_reruns == []
    at.number_input(key="cfg.deep_ae.epochs").set_value(2)
    at.button(key="FormSubmitter:train_form_deep_ae-Train").click().run()
    assert auto_reruns == [0.5]
    at.session_state["job"].join(120)
    at.run()   # collects the job, then reruns the page without it
    auto_reruns.clear()
    at.run()
    assert auto_reruns == [] and at.session_state["current"].origin == "trained here"


def test_without_fashion_mnist_its_shipped_models_are_listed_with_how_to_get_the_data(monkeypatch):
    """Issue 5: on a machine without the Fashion-MNIST files nothing breaks, and the gallery still
    lists its models, each with a one-line hint that names the app's data-folder setting."""
    import dataclasses

    import streamlit as st

    from explorer.data import registry
    spec = registry._DATASETS["fashion-mnist"]
    monkeypatch.setitem(registry._DATASETS, "fashion-mnist", dataclasses.replace(spec, locate=lambda data_dir: None))
    st.cache_data.clear()
    at = open_app(dataset="fashion-mnist", variant="deep_ae")
    assert not at.exception
    assert "not installed" in at.warning[0].value and "dataset-fashion-mnist" in at.warning[0].value
    assert "Data folder" in at.warning[0].value
    listing = " ".join(m.value for m in at.markdown)
    for entry in list_pretrained("fashion-mnist"):
        assert f"`{entry.variant}` code {entry.latent_dim} (" in listing
    assert listing.count("apt-get install") >= len(list_pretrained("fashion-mnist"))
    for page in ("latent", "traverse", "denoise", "search", "anomaly", "rbm", "compare"):
        at.switch_page(f"explorer/ui/pages/{page}.py").run()
        assert not at.exception, page
        assert any("not installed" in w.value for w in at.warning), page
    st.cache_data.clear()


def test_the_data_folder_setting_is_checked_and_finds_idx_files(tmp_path, box):
    at = open_app()
    at.text_input(key="data_dir_input").input(str(tmp_path / "nowhere")).run()
    assert "data_dir" not in at.session_state
    assert [e.value for e in at.error] == [(f"`{tmp_path / 'nowhere'}` is not a folder on the machine that runs this "
                                           "app; name a folder that holds the four IDX files, or a fashion-mnist/ "
                                           "or mnist/ folder of them.")]
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("t10k", 4)):
        write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype="uint8"))
        write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype="uint8"))
    at.text_input(key="data_dir_input").input(str(tmp_path)).run()
    assert at.session_state["data_dir"] == str(tmp_path) and not at.error
    assert "mnist" in box(at, "Dataset").options  # installed now, so no "(not installed)"
    box(at, "Dataset").set_value("mnist").run()
    assert not at.exception and at.session_state["dataset"] == "mnist"
    assert any("No `deep_ae` model is loaded for mnist" in i.value for i in at.info)


@needs_fashion
def test_switching_the_dataset_goes_on_with_a_model_for_it_at_the_size_the_page_wants(box):
    """A teacher switching datasets in the sidebar gets that dataset's shipped model of the chosen
    variant, at the code size the page wants, and back again the model the session had there."""
    at = open_app()
    on_digits = at.session_state["current"]
    at.switch_page("explorer/ui/pages/latent.py").run()  # wants a 2-D code
    box(at, "Dataset").set_value("fashion-mnist").run()
    assert not at.exception and on_screen(at, box)["state"] == on_screen(at, box)["url"] == ("fashion-mnist", "deep_ae", 2)
    box(at, "Dataset").set_value("digits").run()
    assert not at.exception and at.session_state["current"].key == on_digits.key
    at.switch_page("explorer/ui/pages/search.py").run()  # wants the retrieval size: 30 for deep_ae on Fashion
    box(at, "Dataset").set_value("fashion-mnist").run()
    assert on_screen(at, box)["state"] == ("fashion-mnist", "deep_ae", 2)  # the session's own model there
    at.switch_page("explorer/ui/pages/model.py").run()
    box(at, "Variant").set_value("vae").run()
    at.switch_page("explorer/ui/pages/search.py").run()
    assert any("use 16" in w.value for w in at.warning)
    at.button(key="need.pretrained:fashion-mnist/vae-16").click().run()
    assert on_screen(at, box)["state"] == on_screen(at, box)["url"] == ("fashion-mnist", "vae", 16)
    assert not any("use 16" in w.value for w in at.warning)
    at.switch_page("explorer/ui/pages/model.py").run()
    assert box(at, "Shipped model").value.latent_dim == 16
    assert any("`vae (code 16)` was trained with" in c.value and "--dataset fashion-mnist" in c.value for c in at.caption)


@needs_fashion
def test_training_from_a_shared_url_trains_what_the_sidebar_shows(box):
    """The Train-before-draw race: the job trains the session's dataset and variant, the ones the sidebar
    and URL name in the same run, and the model it leaves is of them."""
    at = open_app(dataset="fashion-mnist", variant="vae", code="16")
    at.number_input(key="cfg.vae.epochs").set_value(1)
    at.button(key="FormSubmitter:train_form_vae-Train").click().run()
    job = at.session_state["job"]
    assert (job.dataset.name, job.variant) == ("fashion-mnist", "vae") and box(at, "Dataset").value == "fashion-mnist"
    at.button(key="stop_training").click().run()
    job.join(120)
    at.run()
    current = at.session_state["current"]
    assert not at.exception and current.origin == "trained here"
    assert on_screen(at, box)["state"] == on_screen(at, box)["url"] == ("fashion-mnist", "vae", 16)


@pytest.mark.parametrize("dataset, variant, code", [("digits", "dbn_ae", 8)]
                         + ([("fashion-mnist", "dbn_ae", 30), ("fashion-mnist", "deep_ae", 2)] if FASHION else []))
def test_the_train_form_starts_from_the_config_pretrain_ships(dataset, variant, code):
    """Training in the app reproduces the shipped card: the form's defaults are the card's config."""
    at = open_app(dataset=dataset, variant=variant, code=str(code))
    card = next(e.card for e in list_pretrained(dataset) if e.variant == variant and e.latent_dim == code)
    form = {w.key.removeprefix(f"cfg.{variant}."): w.value for w in [*at.number_input, *at.text_input, *at.selectbox,
                                                                      *at.checkbox]
            if w.key and w.key.startswith(f"cfg.{variant}.")}
    assert form == shipped_config(card, type(make_config(variant)))
