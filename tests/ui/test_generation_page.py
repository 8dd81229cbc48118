"""Generation in the app (issue 16, item 4), opened from lesson links on digits' shipped models: "Sample
from the prior" on Traverse for the VAE and the AAE, "Generate class k" for the CVAE, the Gibbs chain from
seeded noise on the RBM page for the RBM and the DBN; every other variant says why in one line (the draws
themselves: tests/test_generate.py)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer import boltzmann, generate
from explorer.baselines import pca_baseline
from explorer.data import load_dataset
from explorer.registry import list_variants
from explorer.ui.state import CurrentModel
from tests.ui.links import copied_link, open_link

SAMPLING = ("vae", "aae", "cvae")
OTHERS = [spec.name for spec in list_variants() if spec.name not in SAMPLING]


def drawn_caption(at: AppTest) -> str:
    """The caption of the generated images."""
    return next(image.caption for element in at.get("image") for image in element.proto.imgs
                if "codes drawn from" in image.caption)


@pytest.mark.parametrize(("variant", "button"), [("vae", "Sample from the prior"), ("aae", "Sample from the prior"),
                                                 ("cvae", "Generate class 3")])
def test_a_seed_from_the_link_draws_and_the_button_draws_the_next(variant, button):
    at = open_link("traverse", dataset="digits", variant=variant, code=2, seed=41, **{"class": 3})
    assert not at.exception and not at.error and not at.warning
    assert at.number_input(key="traverse.seed").value == 41
    model = at.session_state["current"].model
    drawn = generate.sample(model, 41, 3)
    prior = "N(0, I)" if model.gaussian_latent else "(a ring of 10 Gaussians)"
    as_class = ", decoded as class 3" if variant == "cvae" else ""
    assert f"16 codes drawn from {variant}'s prior {prior} with seed 41{as_class}" in drawn_caption(at)
    assert drawn.caption(variant, "3" if variant == "cvae" else None) == drawn_caption(at)
    at.button(key="traverse.sample").click().run()
    assert [b.label for b in at.button if b.key == "traverse.sample"] == [button]
    assert not at.exception and at.number_input(key="traverse.seed").value == 42
    assert "with seed 42" in drawn_caption(at)
    assert "seed=42" in copied_link(at) and ("class=3" in copied_link(at)) == (variant == "cvae")


@pytest.mark.parametrize("variant", [pytest.param(v, marks=[] if v == "deep_ae" else pytest.mark.slow)
                                     for v in OTHERS])
def test_a_variant_with_no_prior_says_why_instead(variant, open_page, digits):
    if variant == "pca":   # the baseline ships no model of its own: fitted here, as the Model page does
        at = open_page(CurrentModel(pca_baseline(digits, 2), "digits", "fitted (test)"), "traverse")
    else:
        at = open_link("traverse", dataset="digits", variant=variant, code=2, seed=3)
    assert not at.exception and not at.error
    assert at.session_state["current"].variant == variant
    reasons = [box.value for box in at.info if "has no prior over its codes" in box.value]
    assert reasons == [generate.refusal(at.session_state["current"].model)]
    assert not [b for b in at.button if b.key == "traverse.sample"]


@pytest.mark.parametrize("variant", boltzmann.rbm_variants())
def test_the_rbm_pages_chain_from_noise_follows_the_links_seed_and_steps(variant):
    at = open_link("rbm", dataset="digits", variant=variant, code=8, start="noise", seed=7, steps=20, lesson=1)
    assert not at.exception and not at.error and not at.warning
    assert at.radio(key="rbm.start").value == "noise" and at.number_input(key="rbm.seed").value == 7
    assert at.slider(key="rbm.steps").value == 20
    assert any("steps 0, 2, 4, 7, 9, 11, 13, 16, 18, 20" in c.value and "from uniform noise with seed 7" in c.value
               for c in at.caption)
    layer = boltzmann.first_rbm_layer(at.session_state["current"].model)
    groups = boltzmann.energy_groups(layer, load_dataset("digits").x_test[:2000])   # the page's first 2,000
    assert [box.value for box in at.info] == [f"**What to notice.** {boltzmann.notice(boltzmann.medians(groups))}"]


def test_a_bad_seed_in_the_link_is_said_in_one_line_and_the_default_drawn():
    at = open_link("traverse", dataset="digits", variant="vae", code=2, seed=-4)
    said = "The link's `seed=-4` is not a whole number from 0 to 2147483647: the page's default is used."
    assert [w.value for w in at.warning] == [said]
    assert not at.exception and at.number_input(key="traverse.seed").value == 0
