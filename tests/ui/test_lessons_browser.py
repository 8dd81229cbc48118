"""Lesson links in headless Chromium (Debian's /usr/bin/chromium), on digits' shipped models: a link per
page opens with the sidebar and every control of the page hidden, and its "What to notice" box says what
the core computes for that view (the text built here from the same model, data and settings); the sidebar's
"Copy lesson link" gives a link that reopens the view locked; the presenter toggle enlarges text and
images (pictures at 1024x768 and 1440 wide in screenshots/).

Denoise and the copied link run by default (under a minute on 2 busy cores); every page with -m slow.
Every page's notice is checked word for word against the core called here on the same model and data.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from explorer import (
    anomaly,
    boltzmann,
    compare,
    denoise,
    maps,
    metrics,
    robustness,
    search,
    traverse,
)
from explorer.baselines import pca_baseline
from explorer.checkpoint import load
from explorer.data import load_dataset
from explorer.gallery import card_metrics, list_pretrained
from explorer.maps import shown_images
from explorer.search import CodeIndex
from explorer.ui import lesson as ui_lesson
from explorer.ui.denoise_panels import NOISE_SEED, NOISY, model_label
from tests.ui.browser_walk import MAIN, PROJECTOR, ROOT, SHOTS, check, settle
from tests.ui.test_browser import browser, context, page, server  # noqa: F401  (fixtures, shared server)

pytestmark = pytest.mark.browser
PRETRAINED = ROOT / "pretrained" / "digits"
WIDE_1440 = {"width": 1440, "height": 900}
LINKS = {
    "model": "model?dataset=digits&variant=deep_ae&code=8&lesson=1",
    "latent": "latent?dataset=digits&variant=deep_ae&code=2&lesson=1",
    "traverse": "traverse?dataset=digits&variant=vae&code=2&seed=5&lesson=1",
    "denoise": "denoise?dataset=digits&variant=denoising_ae&code=8&noise=masking&level=0.25&lesson=1",
    "search": "search?dataset=digits&variant=deep_ae&code=8&lesson=1",
    "anomaly": "anomaly?dataset=digits&variant=deep_ae&code=8&lesson=1",
    "rbm": "rbm?dataset=digits&variant=rbm&code=8&start=noise&seed=7&steps=20&lesson=1",
    "compare": "compare?dataset=digits&variant=deep_ae&code=8&lesson=1",
}
DEFAULT_PAGES = ("denoise",)
VISIBLE_CONTROLS = """names => [...document.querySelectorAll('[data-testid="stMain"] [data-testid]')]
    .filter(e => names.includes(e.dataset.testid) && e.offsetParent !== null).map(e => e.dataset.testid)"""


def digits():
    return load_dataset("digits")


def shipped(name: str):
    return load(PRETRAINED / name).model


# --- what the core says for each link's view -------------------------------------------------------

def model_notice() -> str:
    data = digits()
    model = shipped("deep_ae-8")
    errors = card_metrics(PRETRAINED / "deep_ae-8", data.fingerprint) or metrics.errors_against_pca(model, data)
    return metrics.errors_notice(errors, "deep_ae", 8)


def traverse_notice() -> str:
    data, model = digits(), shipped("vae-2")
    scores, name = traverse.dimension_scores(model, data.x_test, data.y_test, model.encode_array(data.x_test))
    return traverse.notice(scores, name)


def denoise_notice() -> str:
    data = digits()
    current = denoise.Method(model_label("denoising_ae", 8, current=True), "current", shipped("denoising_ae-8"))
    methods = [NOISY, current,
               denoise.Method(model_label("ae", 8), "ae", shipped("ae-8")),
               denoise.Method("PCA (code 8)", "pca", pca_baseline(data, 8))]
    indices = denoise.sample_indices(len(data.x_test))
    scores = denoise.compare(methods, data.x_test[indices], data.y_test[indices], "masking", 0.25, NOISE_SEED)
    return denoise.lesson(scores, "masking", 0.25)


def anomaly_notice() -> str:
    data, model = digits(), shipped("deep_ae-8")
    errors = model.reconstruction_errors(data.x_test, data.y_test)
    summary = anomaly.above_threshold(errors, anomaly.default_threshold(errors), data.y_test)
    return anomaly.notice(summary, data.class_names)


def rbm_notice() -> str:
    layer = boltzmann.first_rbm_layer(shipped("rbm-8"))
    return boltzmann.notice(boltzmann.medians(boltzmann.energy_groups(layer, digits().x_test[:2000])))


def compare_notice() -> str:
    data = digits()
    models = [(e.variant, load(e.path).model) for e in list_pretrained("digits") if e.latent_dim == 8]
    indices = compare.pick_examples(data.y_test, 10, 0, len(data.x_test))
    return compare.notice(compare.reconstruction_rows(models, data, indices, 8), 8)


def latent_notice() -> str:
    """The three maps of all 360 test images (the shipped pixel maps, the 2-D codes as they are), scored."""
    data = digits()
    shown = shown_images(data, len(data.x_test))
    codes = shipped("deep_ae-2").encode_array(data.x_test[shown.indices])
    specs = maps.map_specs("pretrained:digits/deep_ae-2", data, shown, codes, "raw")
    qualities = [maps.map_quality(np.asarray(maps.map_state(s.method, s.inputs, s.shipped)["embedding"], np.float32),
                                  shown.labels, shown.pixels) for s in specs]
    return maps.notice([s.title for s in specs], qualities, len(shown.indices))


def search_notice() -> str:
    """Test precision@8 by the 8-D codes and by pixels, over the page's test queries (euclidean, k = 8)."""
    data, model = digits(), shipped("deep_ae-8")
    k = 8
    averages = [search.precision_by_k(CodeIndex("euclidean").fit(train), data.y_train, test, data.y_test, k,
                                      search.TEST_QUERIES)[k - 1]
                for train, test in ((model.encode_array(data.x_train), model.encode_array(data.x_test)),
                                    (data.x_train.reshape(len(data.x_train), -1),
                                     data.x_test.reshape(len(data.x_test), -1)))]
    return robustness.clean_reading(*averages, k, 8)


EXPECTED = {"model": model_notice, "latent": latent_notice, "traverse": traverse_notice, "denoise": denoise_notice,
            "search": search_notice, "anomaly": anomaly_notice, "rbm": rbm_notice, "compare": compare_notice}


# --- the page in the browser ------------------------------------------------------------------------

def notice_text(page) -> str:
    text = page.locator(f"{MAIN} .st-key-{ui_lesson.NOTICE_KEY}").inner_text().strip()
    return re.sub(r"^\S*\s*", "", text, count=1) if not text.startswith("What") else text   # the icon's name


def assert_locked(page, name: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.count() == 0 or sidebar.is_hidden(), f"{name}: the sidebar shows"
    shown = page.evaluate(VISIBLE_CONTROLS, [*ui_lesson.CONTROLS, "stExpander"])
    assert shown == [], f"{name}: controls still shown: {shown}"


def open_lesson(page, server: str, name: str) -> str:
    page.goto(f"{server}/{LINKS[name]}")
    page.wait_for_selector('[data-testid="stApp"]')
    check(page, f"lesson-{name}")
    assert_locked(page, name)
    notice = notice_text(page)
    assert notice.startswith("What to notice. "), notice
    return notice.removeprefix("What to notice. ")


def assert_notice_is_the_cores(page, name: str, notice: str) -> None:
    assert notice == EXPECTED[name]().replace("`", ""), name   # markdown's code marks are not text


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in DEFAULT_PAGES else pytest.mark.slow)
                                  for n in LINKS])
def test_a_lesson_link_hides_the_controls_and_its_notice_is_the_cores(page, server, name):
    notice = open_lesson(page, server, name)
    assert_notice_is_the_cores(page, name, notice)


def test_the_copied_link_reopens_the_view_locked(page, server):
    page.goto(f"{server}/denoise?dataset=digits&variant=denoising_ae&code=8&noise=gaussian&level=0.3")
    check(page, "lesson-copy-before")
    notice = page.locator(f"{MAIN} .st-key-{ui_lesson.NOTICE_KEY}").inner_text()
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name=re.compile("Copy lesson link")).click()
    link = page.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]').inner_text().strip()
    assert link == (f"{server}/denoise?dataset=digits&variant=denoising_ae&code=8&noise=gaussian&level=0.3"
                    "&first=0&lesson=1"), link
    page.goto(link)
    check(page, "lesson-copy-after")
    assert_locked(page, "copied link")
    assert page.locator(f"{MAIN} .st-key-{ui_lesson.NOTICE_KEY}").inner_text() == notice


@pytest.mark.slow
def test_presenter_mode_enlarges_text_and_images(page, server):
    """Pictures of the Traverse lesson at 1024x768 and 1440 wide, with and without presenter=1: at the
    projector's 1024x768 the body text is a quarter larger and every image at least as wide, together
    over a tenth wider (the decoded code, the samples, the grid and the interpolation strip)."""
    sizes = {presenter: presenter_sizes(page, server, "traverse", presenter) for presenter in ("0", "1")}
    print(f"presenter off / on at 1024x768: {sizes}")
    (font, images), (big_font, big_images) = sizes["0"], sizes["1"]
    assert big_font == pytest.approx(1.25 * font, rel=0.02), sizes
    assert len(images) == len(big_images) and all(b >= a - 1 for a, b in zip(images, big_images)), sizes
    assert sum(big_images) > 1.1 * sum(images), sizes


def presenter_sizes(page, server: str, name: str, presenter: str) -> tuple[float, list[float]]:
    """The first paragraph's font size and every image's width at 1024x768, pictured there and at 1440."""
    page.goto(f"{server}/{LINKS[name]}&presenter={presenter}")
    measured = None
    for size, suffix in ((WIDE_1440, "-1440"), (PROJECTOR, "")):
        page.set_viewport_size(size)
        settle(page)
        measured = page.evaluate("""() => [parseFloat(getComputedStyle(document.querySelector(
            '[data-testid="stMain"] p')).fontSize), [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stImage"] img')].map(i => i.getBoundingClientRect().width)]""")
        height = page.evaluate(f"document.querySelector('{MAIN}').scrollHeight")   # the main area scrolls
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 6000))})
        time.sleep(0.3)
        page.screenshot(path=str(SHOTS / f"presenter-{name}-{presenter}{suffix}.png"))
    page.set_viewport_size(PROJECTOR)
    return measured[0], measured[1]


@pytest.mark.slow
def test_presenter_mode_enlarges_the_charts_text(page, server):
    """Plotly draws its text in pixels, out of reach of the page's rem sizes: presenter mode sets its own."""
    sizes = {}
    for presenter in ("0", "1"):
        page.goto(f"{server}/{LINKS['denoise']}&presenter={presenter}")
        settle(page)
        page.wait_for_selector(f'{MAIN} [data-testid="stPlotlyChart"] .xtick text')
        sizes[presenter] = page.evaluate("""() => ['.xtick text', '.g-xtitle text', '.legendtext', '.gtitle'].map(s =>
            parseFloat(getComputedStyle(document.querySelector('[data-testid="stPlotlyChart"] ' + s)).fontSize))""")
    assert all(big >= 1.2 * small for small, big in zip(sizes["0"], sizes["1"])), sizes
