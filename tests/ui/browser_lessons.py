"""What each page should teach at its defaults, as a class reads it in the browser (``test_browser.py``):
one function per page, ``lesson(page, shot)``, run right after the page opens in a fresh session (``shot``
starts the names of its pictures), and ``readability``, what a projector would not show."""
from __future__ import annotations

import re

from tests.ui.browser_walk import (
    MAIN,
    PROJECTOR,
    Named,
    assert_named_alike,
    charts,
    check,
    in_sidebar,
    main_text,
    overflowing,
    stays_idle,
    truncated,
)


def readability(page) -> list[str]:
    """What a class would not read: charts without a title or axis titles, a title cut off at the chart's
    edge, a legend that scrolls or covers axis labels, a note over a bar's label, a control past the right
    edge, a label cut short."""
    found = []
    for chart in charts(page):
        name = repr(chart["title"].split(" | ")[0]) if chart["title"] else f"with x axis {chart['xTitle']!r}"
        found += [f"chart {name}: {what}" for what, bad in (
            ("no title", not chart["title"]), (f"{chart['axes']} axis titles", chart["axes"] < 2),
            ("its legend is a scroll box", chart["scrolls"]), ("its legend covers axis labels", chart["legendOnAxis"]),
            ("a note covers a bar's label", chart["noteOnBar"]), ("its title is cut off", chart["titleCut"])) if bad]
    found += [f"control {text!r} is past the right edge" for text in overflowing(page)]
    return found + [f"label {text!r} is cut short" for text in truncated(page)]


def model_lesson(page, shot: str) -> None:
    """The page names the model the sidebar does, and the card's command trains that very model; an idle
    Model page does not rerun by itself."""
    text = main_text(page)
    named = in_sidebar(page)
    assert f"Test images and their reconstructions by {named.variant}" in text
    assert f"--dataset {named.dataset} --variant {named.variant} --latent-dim {named.code}" in text, text[:1500]
    assert stays_idle(page, 2.5), "the idle Model page reran by itself"


def latent_lesson(page, shot: str) -> None:
    """Three maps (codes, PCA and UMAP of the pixels), each titled (legends: see ``readability``)."""
    maps = charts(page)
    assert {"codes", "PCA of the pixels", "UMAP of the pixels"} <= {m["title"] for m in maps}, maps


def traverse_lesson(page, shot: str) -> None:
    """Moving the first code slider redraws the decoded image."""
    slider = first_slider(page)
    before = slider.input_value()
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    check(page, f"{shot}traverse-moved", wide=True)
    assert first_slider(page).input_value() != before


def first_slider(page):
    """The first slider of the page body (react-aria: a range input inside the thumb)."""
    return page.locator(f'{MAIN} [data-testid="stSlider"]').first.get_by_role("slider")


def denoise_lesson(page, shot: str) -> None:
    """At the opening setting (the denoising AE's training damage) the denoising AE beats the noisy input,
    PCA and the plain AE at one code size; the same after the page's switch to a retrieval-size code, with
    the curve's box naming the methods the curve draws. Every failure is listed. The lesson models are
    compared at the current code size only, so where none ships at it (Fashion-MNIST's 2-D map model) the
    default view must instead say that the code is too small and offer the switch."""
    text = main_text(page)
    if "No denoising autoencoder is compared on this data." not in text:
        problems = [f"at the default model, {loss}" for loss in denoiser_losses(page)]
    elif "needs a code that keeps" in text and switch_button(page).count():
        problems = []
    else:
        problems = ["at the default model, no denoising AE is compared and the page offers no switch"]
    follow_switch(page, f"{shot}denoise-switched")
    problems += [f"after the switch, {loss}" for loss in denoiser_losses(page)]
    box = page.locator(f'{MAIN} [data-testid="stMultiSelect"]').filter(has_text="Methods on the curve")
    chips = [line for line in box.inner_text().splitlines()[1:] if line.strip()]
    drawn = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]'
        + ' .legend .legendtext')].map(t => t.textContent)""")
    if chips != drawn:
        problems.append(f"the curve's box shows {chips} while the curve draws {drawn}")
    assert not problems, "; ".join(problems)


def switch_button(page):
    """The page's one-click switch to a model that suits it (a locator that may match nothing)."""
    return page.locator(MAIN).get_by_role("button", name=re.compile(r"^Switch to "))


def follow_switch(page, name: str) -> None:
    """Click the page's one-click switch to a model that suits it, when it offers one."""
    switch = switch_button(page)
    if switch.count():
        switch.first.click()
        check(page, name, wide=True)
        assert "needs a code that keeps" not in main_text(page)


def anomaly_lesson(page, shot: str) -> None:
    """The default 2-D model is not what Anomaly wants: one click switches to a retrieval-size code."""
    follow_switch(page, f"{shot}anomaly-switched")
    assert "Images above the threshold" in main_text(page)


def denoiser_losses(page) -> list[str]:
    """Where the page's "What to notice" box does not have the denoising AE beating the noisy input, PCA
    and the plain AE at its training damage, PCA at the denoiser's code size."""
    shows = re.search(r"What to notice\. (.*)", main_text(page))
    if not shows:
        return ["no 'What to notice' box"]
    lesson, found = shows[1], []
    if "This is the damage it was trained to undo." not in lesson:
        found.append("the page does not open on the denoiser's training damage")
    found += [f"the denoising AE does not beat {rival}" for rival in ("the noisy input", "PCA", "the plain AE")
              if not re.search(rf"dB above {rival}", lesson)]
    codes = {name: re.search(rf"{name} \(code (\d+)", lesson) for name in ("denoising AE", "PCA")}
    if len({code[1] for code in codes.values() if code}) != 1:
        found.append("the denoising AE and PCA are not compared at one code size")
    return [f"{text}: {lesson}" for text in found]


def search_lesson(page, shot: str) -> None:
    """The default 2-D model is not what Search wants: the page says so and switches in one click to a
    retrieval-size code; results are marked ✓/✗ against the query's class, with plain decimal distances."""
    assert "needs a code that keeps each image's details" in main_text(page)
    dataset = in_sidebar(page).dataset
    switch = page.locator(MAIN).get_by_role("button", name=re.compile(r"^Switch to `?deep_ae`? code \d+"))
    code = re.search(r"code (\d+)", switch.first.inner_text())[1]
    follow_switch(page, f"{shot}search-switched")
    assert_named_alike(page, Named(dataset, "deep_ae", code))
    assert f"By code (euclidean, {code}-D)" in main_text(page)
    assert_marked_results(page, 16)   # k = 8 by code and by pixels
    number = page.locator(f'{MAIN} [data-testid="stNumberInput"] input').first
    number.fill("7")
    number.press("Enter")
    check(page, f"{shot}search-done", wide=True)
    assert number.input_value() == "7" and "test image 7" in main_text(page)
    assert_marked_results(page, 16)


def assert_marked_results(page, count: int) -> None:
    found = re.findall(r"^([✓✗]) (.+?) · (\S+)$", main_text(page), flags=re.MULTILINE)
    assert len(found) == count, found
    assert all(re.fullmatch(r"\d+\.\d+", distance) for *_, distance in found), found  # never 2.1e-05
    right = {cls for mark, cls, _ in found if mark == "✓"}
    wrong = {cls for mark, cls, _ in found if mark == "✗"}
    assert len(right) == 1 and not right & wrong, found   # ✓ is the query's one class, ✗ any other


def compare_lesson(page, shot: str) -> None:
    """A pill per model shipped at the current code size (all 13 on digits), every one in view at 1024 px;
    the Table tab's bar chart of error over PCA and P@10, where the table is computed by default."""
    named = in_sidebar(page)
    shipped = re.search(rf"(\d+) with code size {named.code}\b", main_text(page))
    pills = page.locator(f'{MAIN} [data-testid="stButtonGroup"] button')
    assert shipped and pills.count() == int(shipped[1]), (shipped, pills.all_inner_texts())
    assert named.dataset != "digits" or pills.count() == 13, pills.all_inner_texts()
    boxes = [pills.nth(i).bounding_box() for i in range(pills.count())]
    assert all(box and box["x"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"] for box in boxes), boxes
    page.locator(MAIN).get_by_role("tab", name="Table").click()
    check(page, f"{shot}compare-table", wide=True)
    if page.locator(MAIN).get_by_role("switch", name="Compute the table").is_checked():
        titles = [c["title"] for c in charts(page)]
        assert any("Every model against PCA" in t for t in titles), titles
        assert f"PCA-{named.code} (baseline)" in main_text(page)
    else:
        assert named.dataset != "digits", "digits computes its table by default"


def rbm_lesson(page, shot: str) -> None:
    """deep_ae has no RBM inside: the page says so and loads the shipped rbm in one click."""
    assert "looks inside a restricted Boltzmann machine" in main_text(page)
    page.locator(MAIN).get_by_role("button", name="Use rbm").click()
    check(page, f"{shot}rbm-switched", wide=True)
    assert in_sidebar(page).variant == "rbm"
    assert {"Filters", "Free energy", "Gibbs chain"} <= set(re.findall(r"^(.+)$", main_text(page), re.MULTILINE))


LESSONS = {"model": model_lesson, "latent": latent_lesson, "traverse": traverse_lesson, "denoise": denoise_lesson,
           "search": search_lesson, "anomaly": anomaly_lesson, "compare": compare_lesson, "rbm": rbm_lesson}
