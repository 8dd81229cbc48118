"""A full classroom in the browser (issue 14, acceptance 3): two students' tabs (two sessions) on one server
with one training slot. The first trains; the second presses Train, sees its own place in the queue and a
Cancel button (and none of the first's progress), cancels, queues again, and trains once the first student
stops. Pictured at 1024x768 and 1440x900 in ``screenshots/classroom-*.png``."""
from __future__ import annotations

import os
import re
import time

import pytest

from explorer.pool import SLOTS_VARIABLE
from tests.ui.browser_walk import MAIN, PROJECTOR, SHOTS, settle
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401  (server: the fixture)

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

WIDE = {"width": 1440, "height": 900}
WAIT_MS = 120_000
QUEUED = "number 1 in the queue"


@pytest.fixture(scope="module")
def one_slot():
    """One training slot for the server this module starts, whatever this machine's core count."""
    before = os.environ.get(SLOTS_VARIABLE)
    os.environ[SLOTS_VARIABLE] = "1"
    yield
    if before is None:
        os.environ.pop(SLOTS_VARIABLE)
    else:
        os.environ[SLOTS_VARIABLE] = before


@pytest.fixture(scope="module")
def tabs(one_slot, request):
    """Two students: separate browser contexts, so separate sessions (on test_browser's server fixture,
    started after ``one_slot``)."""
    url = request.getfixturevalue("server")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium: apt-get install -y chromium)")
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            pages = [browser.new_context(viewport=PROJECTOR).new_page() for _ in range(2)]
            for page in pages:
                page.set_default_timeout(WAIT_MS)
                page.goto(f"{url}/model?dataset=digits&variant=deep_ae&code=2")
                settle(page)
            yield pages
        finally:
            browser.close()


def press_train(page, epochs: str) -> None:
    page.get_by_role("tab", name="Train", exact=True).click()
    form = page.locator('[data-testid="stForm"]')
    field = form.locator('[data-testid="stNumberInput"]').filter(has_text="epochs").locator("input").first
    field.fill(epochs)
    field.press("Tab")
    form.get_by_role("button", name="Train", exact=True).click()


def button(page, name: str):
    return page.locator(MAIN).get_by_role("button", name=name, exact=True)


def wait_until_collected(page) -> None:
    """Until the page shows neither Cancel nor Stop: its job has ended and the page has taken its model."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while button(page, "Cancel").count() or button(page, "Stop").count():
        assert time.monotonic() < deadline, "the job never ended"
        page.wait_for_timeout(200)


def picture(page, name: str) -> None:
    """At the projector's 1024x768 and at 1440x900, as the window shows it."""
    for size, suffix in ((PROJECTOR, ""), (WIDE, "-1440")):
        page.set_viewport_size(size)
        page.wait_for_timeout(400)
        page.screenshot(path=str(SHOTS / f"classroom-{name}{suffix}.png"))
    page.set_viewport_size(PROJECTOR)


def test_the_second_student_queues_sees_only_its_own_place_cancels_and_trains_after_the_first(tabs):
    first, second = tabs
    press_train(first, "3000")                                 # minutes: the first student stops it
    first.get_by_text(re.compile(r"epoch \d+/\d+")).first.wait_for()   # its progress bar, not the form's "epochs"
    press_train(second, "3")
    second.get_by_text(QUEUED).wait_for()
    button(second, "Cancel").wait_for()
    assert button(second, "Stop").count() == 0
    assert QUEUED not in first.locator(MAIN).inner_text() and button(first, "Stop").count() == 1
    assert button(first, "Cancel").count() == 0
    picture(second, "queued")
    picture(first, "training")

    button(second, "Cancel").click()                           # the second's cancel leaves the first training
    second.get_by_text("Training cancelled before it started.").wait_for()
    assert button(first, "Stop").count() == 1 and re.search(r"epoch \d+/\d+", first.locator(MAIN).inner_text())

    press_train(second, "3")                                   # queued again, then the first student stops
    second.get_by_text(QUEUED).wait_for()
    button(first, "Stop").click()
    first.get_by_text("stopped by request", exact=False).first.wait_for()
    wait_until_collected(second)
    settle(second)
    outcome = second.locator(f'{MAIN} [data-testid="stAlert"]').all_inner_texts()
    assert any("Training finished." in text or "kept" in text for text in outcome), outcome
    picture(second, "trained-after-the-queue")
