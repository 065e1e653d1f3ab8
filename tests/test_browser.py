"""End to end: `streamlit run app.py` on a loopback port, driven by headless Debian Chromium through Playwright.

Screenshots go to artifacts/screenshots/ and the server's log to artifacts/streamlit.log. The times from
input to results are printed (run with -s to see them).
"""

import json
import time
from pathlib import Path

import pytest

from benchmarks.harness import streamlit_server
from fer_model import ImageError, load_image

pytestmark = [pytest.mark.browser, pytest.mark.shared]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LOG = ROOT / "artifacts" / "streamlit.log"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
RESULTS_TIMEOUT_MS = 180_000  # the first photo also loads the model and the face detector
FACE_CARDS = "div[class*='st-key-face-card-']"
NOT_AN_IMAGE = b"Dear diary, today I renamed a text file to .jpg.\n"

# True once the script has finished and `count` face cards are on the page, each with its two charts
# drawn and its two images (the crop and its heat map) loaded.
RESULTS_READY = """count => {
    const cards = document.querySelectorAll("div[class*='st-key-face-card-']");
    if (cards.length !== count || document.querySelector("[data-testid='stStatusWidget']")) return false;
    return [...cards].every(card => card.querySelectorAll(".js-plotly-plot").length === 2
        && [...card.querySelectorAll("img")].filter(img => img.complete && img.naturalWidth > 0).length === 2);
}"""


@pytest.fixture(scope="module")
def app_url():
    LOG.parent.mkdir(parents=True, exist_ok=True)  # the server's own log, for failures; it never holds image content
    with streamlit_server(LOG) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.perf_counter()
    page.goto(app_url)
    page.wait_for_selector("input[type=file]", state="attached", timeout=60_000)
    print(f"\npage load to the uploader: {time.perf_counter() - started:.1f} s")
    yield page
    page.close()


def _screenshot(page, name: str, height: int | None = None) -> None:
    """The page's top ``height`` pixels, or all of it: Streamlit scrolls inside its own container,
    so the viewport grows to fit instead of using Playwright's full_page."""
    main = page.locator("[data-testid='stMain']")
    main.evaluate("element => element.scrollTo(0, 0)")
    height = height or main.evaluate("element => element.scrollHeight")
    page.set_viewport_size({"width": 1400, "height": height})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _wait_for_results(page, count: int, what: str, started: float) -> None:
    page.wait_for_function(RESULTS_READY, arg=count, timeout=RESULTS_TIMEOUT_MS)
    print(f"{what}: {time.perf_counter() - started:.1f} s from input to results")


def _click_sample(page, visit: str) -> None:
    page.wait_for_selector("input[type=file]", state="attached")
    started = time.perf_counter()
    page.get_by_role("button", name="Try a sample photo").click()
    _wait_for_results(page, 1, f"sample photo, {visit}", started)


def test_sample_photo(page):
    _click_sample(page, "first visit to a fresh server (loads the models)")
    page.reload()  # a new session: nothing analysed yet
    _click_sample(page, "next visit")
    _screenshot(page, "sample.png")


def test_group_photo_then_a_bad_file(page, photos, tmp_path):
    started = time.perf_counter()
    page.set_input_files("input[type=file]", photos / "multiface.jpg")
    _wait_for_results(page, 6, "multiface.jpg (six faces)", started)
    cards = page.locator(FACE_CARDS)
    for card in cards.all():
        assert card.locator("[data-testid='stPlotlyChart']").count() == 2  # probabilities, heat by region
        assert card.get_by_text("Heat map for").count() == 1
    with page.expect_download() as download:
        page.get_by_role("button", name="Results (JSON)").click()
    assert len(json.loads(Path(download.value.path()).read_text())["faces"]) == 6
    _screenshot(page, "multiface.png", height=1530)  # the photo and the first faces: the README's picture
    _screenshot(page, "multiface-full.png")

    with pytest.raises(ImageError) as expected:
        load_image(NOT_AN_IMAGE)
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_bytes(NOT_AN_IMAGE)
    page.set_input_files("input[type=file]", not_an_image)
    error = page.locator("[data-testid='stAlertContentError']")
    error.wait_for(timeout=60_000)
    assert f"Cannot use notes.jpg: {expected.value}" in error.inner_text()
    assert cards.count() == 6  # the photo before it is still shown
    _screenshot(page, "bad-file.png")
