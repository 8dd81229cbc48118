"""The real thing: ``streamlit run app.py`` driven by headless Chromium (Playwright on Debian's
``/usr/bin/chromium``; never ``playwright install``).

Every page in ``shell.PAGES`` is opened by its URL path; then a traverse slider is moved, a search
is run and a tiny model is trained on the Model page. After each step the app must settle with no
exception shown. A screenshot of every step goes to ``screenshots/`` (gitignored; the path is
printed). With ``EXPLORER_SCREENSHOT_README=1`` the run also writes ``docs/screenshot.png``, the
README's picture of the Model page with reconstructions (1280x800).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from explorer.ui import shell

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "screenshots"
README_SHOT = ROOT / "docs" / "screenshot.png"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EXCEPTION = '[data-testid="stException"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free local port; always stopped at the end, whatever happened."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit never became healthy:\n{log_path.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium: apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(browser, server):  # browser first: a missing chromium skips before a server starts
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    SHOTS.mkdir(exist_ok=True)
    print(f"\nscreenshots in {SHOTS}")
    yield page
    context.close()


def settle(page, timeout: float = 60) -> None:
    """Wait until the script is not running, no element is stale and every chart and image is drawn,
    twice in a row 0.3 s apart (a rerun can start right after the first one ends)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached",
                           timeout=timeout * 1000)
    quiet = """() => document.querySelectorAll('[data-stale="true"]').length === 0
        && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))
        && [...document.images].every(image => image.complete)"""
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 2:
        assert time.monotonic() < deadline, "the app never settled"
        running = page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state") != "notRunning"
        calm = 0 if running or not page.evaluate(quiet) else calm + 1
        time.sleep(0.3)


def check(page, name: str) -> None:
    settle(page)
    print(f"{time.strftime('%H:%M:%S')} {name}: settled")
    shoot(page, name)
    errors = page.locator(EXCEPTION)
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()[:500]}"


def shoot(page, name: str) -> None:
    """The whole page: the main area scrolls inside its own container, so the window is made as tall
    as its content for the picture, then put back."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(int(height), 6000))})
    time.sleep(0.3)  # let charts take the new size
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size(VIEWPORT)


def open_path(page, server: str, path: str) -> None:
    page.goto(f"{server}/{path}")
    page.wait_for_selector('[data-testid="stApp"]')
    check(page, path)


def test_every_page_then_traverse_search_and_training(page, server):
    try:
        walk(page, server)
    except BaseException:
        page.screenshot(path=str(SHOTS / "failure.png"))
        print(f"failure screenshot: {SHOTS / 'failure.png'}")
        raise


def walk(page, server: str) -> None:
    paths = [p for *_, p in shell.PAGES]
    open_shared_url(page, server)
    for path in paths:  # each URL opens its page (a fresh session each: no model yet unless one ships)
        open_path(page, server, path)
        assert page.locator("h1").first.is_visible(), path
        if path == "latent":  # issue 5: a fresh start draws the maps from shipped weights, nothing trained
            assert "pretrained" in page.locator('[data-testid="stSidebar"]').inner_text()
            drawn = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] '
                + '[data-testid="stPlotlyChart"]')].filter(c => c.querySelector('.main-svg')).length""")
            assert drawn >= 3, f"{drawn} maps drawn"  # codes, PCA and UMAP of the pixels
    train_tiny_model(page, server)
    for path in paths:  # the same session now has a model: the pages through the sidebar, model kept
        go(page, path)
        check(page, f"{path}-with-model")
    if "traverse" in paths:
        go(page, "traverse")
        slider = first_slider(page)
        before = slider.input_value()
        slider.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        check(page, "traverse-moved")
        assert first_slider(page).input_value() != before
    if "search" in paths:
        go(page, "search")
        search_once(page)
        check(page, "search-done")


def open_shared_url(page, server: str) -> None:
    """A bookmarked or shared view opens on its page with its dataset, variant and code size."""
    page.goto(f"{server}/search?dataset=digits&variant=vae&code=8")
    page.wait_for_selector('[data-testid="stApp"]')
    check(page, "shared-url")
    assert "Search" in page.locator("h1").first.inner_text()
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "vae" in sidebar and "code 8" in sidebar, sidebar[:300]
    assert "variant=vae" in page.url and "code=8" in page.url, page.url


def first_slider(page):
    """The first slider of the page body (react-aria: a range input inside the thumb)."""
    return page.locator('[data-testid="stMain"] [data-testid="stSlider"]').first.get_by_role("slider")


def go(page, path: str) -> None:
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
    page.wait_for_url(f"**/{path}*")
    settle(page)


def search_once(page) -> None:
    """Run a query on the Search page: type another query index and wait for the results."""
    number = page.locator('[data-testid="stMain"] [data-testid="stNumberInput"] input').first
    number.fill("7")
    number.press("Enter")
    settle(page)
    assert number.input_value() == "7"
    assert page.locator('[data-testid="stMain"] [data-testid="stImage"]').count() > 2


def train_tiny_model(page, server: str) -> None:
    open_path(page, server, "model")
    train_here(page, epochs="2")
    check(page, "model-trained")
    assert page.get_by_text("Test images and their reconstructions").count() == 1


def train_here(page, epochs: str | None) -> None:
    """Train the selected variant from the Model page's form (``epochs=None``: the defaults)."""
    page.get_by_role("tab", name="Train", exact=True).click()
    form = page.locator('[data-testid="stForm"]')
    if epochs is not None:
        field = form.locator('[data-testid="stNumberInput"]').filter(has_text="epochs").locator("input").first
        field.fill(epochs)
        field.press("Tab")
    form.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training finished.").wait_for(timeout=600_000)


@pytest.mark.skipif(os.environ.get("EXPLORER_SCREENSHOT_README") != "1",
                    reason="writes docs/screenshot.png only when EXPLORER_SCREENSHOT_README=1")
def test_readme_screenshot(page, server):
    """The README's picture: a fresh session's Model page (the shipped model, else one trained with
    the defaults) at 1280x800, scrolled so the reconstructions are in view."""
    page.goto(f"{server}/model")
    settle(page)
    heading = page.get_by_text("Test images and their reconstructions")
    if not heading.count():
        train_here(page, epochs=None)
        page.get_by_role("tab", name="Load pretrained").click()
        settle(page)
    heading.evaluate("element => element.scrollIntoView({block: 'start'})")
    settle(page)
    README_SHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(README_SHOT))
    print(f"wrote {README_SHOT}")
