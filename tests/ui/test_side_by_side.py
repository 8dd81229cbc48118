"""Two models side by side (issue 16, item 5): on Traverse the same start image, sliders, seed, grid and
interpolation drive the current model and the one beside it, each decoded through its own code space
(the matching: tests/test_pairing.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer import generate, maps, pairing, traverse
from explorer.checkpoint import load
from explorer.gallery import find_pretrained, list_pretrained
from tests.ui.links import open_link
from tests.ui.test_latent_page import values

DIGITS_VARIANTS = sorted({e.variant for e in list_pretrained("digits")})


def captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def images_with(at, text: str) -> list[np.ndarray]:
    return [image for element in at.get("image") for image in element.proto.imgs if text in image.caption]


def test_the_vae_beside_the_aae_follows_the_same_controls():
    at = open_link("traverse", dataset="digits", variant="vae", code=8, beside="aae-8", seed=7, image=5)
    assert not at.exception and not at.error and not at.warning
    assert at.selectbox(key="traverse.beside").value == "aae (code 8)"
    shown = captions(at)
    assert sum("codes drawn from" in c and "seed 7" in c for c in shown) == 2          # one seed, both models
    assert any(c.startswith("decoded code of `vae` (code 8) · 0 dimension(s)") for c in shown)
    assert any(c.startswith("decoded code of aae (code 8) · the same moves, by rank") for c in shown)
    assert sum(c.startswith("`vae` (code 8): z") for c in shown) == 1                # a grid each
    assert sum(c.startswith("aae (code 8): z") for c in shown) == 1
    assert sum("top: test images 0 and 1" in c for c in shown) == 2                   # an interpolation each
    first = next(s for s in at.slider if s.label.startswith("z"))
    first.set_value(first.max).run()                                                   # the most informative
    assert not at.exception
    assert any("1 dimension(s) moved" in c for c in captions(at))
    assert "beside=aae-8" in next(code.value for code in at.code if "lesson=1" in code.value)


def test_the_dimension_beside_moves_to_the_same_place_in_its_range(digits, monkeypatch):
    decoded = []                                                     # (latent size, codes) of every decode
    real_decode = traverse.decode
    monkeypatch.setattr(traverse, "decode",
                        lambda model, z, label: decoded.append((model.latent_dim, z.copy())) or real_decode(model, z, label))
    at = open_link("traverse", dataset="digits", variant="deep_ae", code=2, beside="deep_ae-8", image=3)
    model_b = load(find_pretrained("digits", "deep_ae", 8).path).model
    codes_a = at.session_state["current"].model.encode_array(digits.x_test)
    codes_b = model_b.encode_array(digits.x_test)
    frame_a = pairing.CodeFrame.of(codes_a.var(0), codes_a, False)
    frame_b = pairing.CodeFrame.of(codes_b.var(0), codes_b, False)
    assert any(k == 8 and len(z) == 1 and np.allclose(z[0], codes_b[3], atol=1e-5) for k, z in decoded)  # its own start
    slider = next(s for s in at.slider if s.label.startswith(f"z{frame_a.order[0]} "))
    decoded.clear()
    slider.set_value(slider.min).run()                               # the first slider to the bottom of its range
    assert not at.exception
    z = codes_a[3].copy()
    z[frame_a.order[0]] = slider.min
    expected, unmatched = pairing.matched_code(z, codes_a[3], frame_a, codes_b[3], frame_b)
    top = frame_b.order[0]
    assert unmatched == 0 and expected[top] == pytest.approx(frame_b.low[top] + (slider.min - frame_a.low[
        frame_a.order[0]]) / (frame_a.high[frame_a.order[0]] - frame_a.low[frame_a.order[0]]) * (
        frame_b.high[top] - frame_b.low[top]), abs=1e-4)
    assert [k for k, _ in decoded[:2]] == [2, 8] and len(decoded[1][1]) == 1   # the two slider images come first
    np.testing.assert_allclose(decoded[1][1][0], expected, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("variant", DIGITS_VARIANTS)
def test_every_shipped_variant_shows_code_2_beside_code_8(variant):
    at = open_link("traverse", dataset="digits", variant=variant, code=2, beside=f"{variant}-8")
    assert not at.exception and not at.error
    shown = captions(at)
    assert any("the same moves, by rank" in c for c in shown)
    generative = generate.refusal(at.session_state["current"].model) is None
    assert sum("codes drawn from" in c for c in shown) == (2 if generative else 0)
    if not generative:
        assert len(at.info) >= 2                                                       # each says why


def chart_titles(at) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def test_the_latent_page_maps_the_same_test_images_through_both_models(digits):
    at = open_link("latent", dataset="digits", variant="vae", code=2, beside="vae-8", map="pca")
    assert not at.exception and not at.error and not at.warning
    assert chart_titles(at) == ["vae (code 2): codes", "vae (code 8): PCA of the codes", "PCA of the pixels",
                                "UMAP of the pixels"]
    other = load(find_pretrained("digits", "vae", 8).path).model
    shown = maps.shown_images(digits, len(digits.x_test))
    classes = {str(name) for name in digits.class_names}
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    drawn = {int(i): (x, y) for trace in spec["data"] if "customdata" in trace and trace.get("name") in classes
             for i, x, y in zip(values(trace["customdata"]), values(trace["x"]), values(trace["y"]))}
    assert sorted(drawn) == shown.indices.tolist()                                     # the same test images
    expected = maps.map_state("pca", other.encode_array(digits.x_test[shown.indices]),
                              maps.shipped_path("pretrained:digits/vae-8", "digits", "codes", "pca", len(shown.indices)))
    first = int(shown.indices[0])
    np.testing.assert_allclose(drawn[first], expected["embedding"][0], atol=1e-3)     # placed by the other's codes
    at.selectbox(key="latent.new_source").set_value("test image").run()
    assert not at.exception and sum(any(t.get("name") == "new image" for t in json.loads(c.proto.spec)["data"])
                                    for c in at.get("plotly_chart")) == 4              # the ★ on all four maps


@pytest.mark.slow
@pytest.mark.parametrize("variant", DIGITS_VARIANTS)
def test_every_shipped_variant_maps_code_8_beside_code_2(variant):
    at = open_link("latent", dataset="digits", variant=variant, code=2, beside=f"{variant}-8")
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 4
