"""End to end in headless Debian Chromium: the live camera (a fake camera playing a .y4m clip of real faces)
and a video file upload, against `streamlit run app.py` on a loopback port.

The live view's speed (frames/s analysed and returned, each with a new reading beside the picture, and frames/s
the browser showed) is printed, not asserted: run with -s to see it. Screenshots go to docs/screenshot_live.png
and docs/screenshot_video.png (the README's).
"""

import io
import json
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.harness import streamlit_server
from fer_model.video.clips import Segment, make_clip
from tests.conftest import SHARED
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from views.live_session import PANEL_WIDTH

pytestmark = [pytest.mark.browser, pytest.mark.shared]

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LOG = ROOT / "artifacts" / "streamlit-video.log"
TAIWAN = SHARED / "realphotos" / "taiwan-dev"
# Two performers of taiwan-dev with photos the shipped model reads right (as in tests/test_video.py).
PERFORMERS = {
    "08": {"neutral": "neutral/0801a05.jpg", "happy": "happy/0821b10.jpg", "surprise": "surprise/0821g01.jpg"},
    "10": {"neutral": "neutral/1001a03.jpg", "happy": "happy/1021b06.jpg", "surprise": "surprise/1021g01.jpg"},
}
LIVE_TIMEOUT_MS = 240_000  # the first frames also load the models, on a busy 2-core machine
VIDEO_TIMEOUT_MS = 300_000
MEASURE_S = 20  # the live view runs this long before its rates are read
READING = re.compile(r"Person \d+: (angry|disgust|fear|happy|neutral|sad|surprise) \(\d+%\)")
RATES = re.compile(r"([\d.]+) frames/s analysed and returned, (\d+) frames analysed")
FRAMES_SHOWN = "() => document.querySelector('video').getVideoPlaybackQuality().totalVideoFrames"
VIDEO_WIDTH_IS = "width => document.querySelector('video').videoWidth === width"
VIDEO_PLAYING = """() => {
    const video = document.querySelector("video");
    return video !== null && video.videoWidth > 0 && video.readyState >= 2 && !video.paused;
}"""


def _people() -> list[dict[str, Image.Image]]:
    if not TAIWAN.exists():
        pytest.skip(f"{TAIWAN} is not on this machine (it comes from ../shared)")
    return [{e: Image.open(TAIWAN / name).convert("RGB") for e, name in p.items()} for p in PERFORMERS.values()]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """camera: a .y4m clip, 640x480 at 15 frames/s, of performer 08 smiling then surprised (Chromium loops it);
    upload: an .mp4 of both performers, neutral, happy, then surprised."""
    people = _people()
    folder = tmp_path_factory.mktemp("clips")
    camera = folder / "camera.y4m"
    make_clip(camera, [Segment(2.0, [people[0]["happy"]]), Segment(2.0, [people[0]["surprise"]])], (640, 480), 15)
    upload = folder / "two-people.mp4"
    expressions = ["neutral", "happy", "surprise"]
    make_clip(upload, [Segment(1.2, [p[e] for p in people]) for e in expressions], (480, 240), 15)
    return {"camera": camera, "upload": upload}


@pytest.fixture(scope="module")
def app_url():
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with streamlit_server(LOG) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser(clips):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    camera = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clips['camera']}",
        "--disable-features=WebRtcHideLocalIpsWithMdns",  # plain host addresses: aiortc needs no mDNS then
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *camera]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector("[data-testid='stRadio']", timeout=120_000)
    yield page
    page.close()


def _choose(page, source: str) -> None:
    page.locator("[data-testid='stRadio'] label").filter(has_text=source).click()


def _screenshot(page, path: Path, height: int) -> None:
    """The top ``height`` pixels of the page, at 1000 pixels wide and 256 colours: a small PNG."""
    page.set_viewport_size({"width": 1400, "height": height})
    picture = Image.open(io.BytesIO(page.screenshot()))
    picture = picture.resize((1000, round(height * 1000 / 1400)), Image.Resampling.LANCZOS).convert("RGB")
    picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def test_live_camera_returns_labelled_faces(page):
    _choose(page, "Live camera")
    webrtc = page.frame_locator("iframe[title*='webrtc_streamer']")
    started = time.perf_counter()
    webrtc.get_by_role("button", name=re.compile("start", re.IGNORECASE)).click(timeout=60_000)
    component = next(frame for frame in page.frames if "webrtc_streamer" in frame.url)
    component.wait_for_function(VIDEO_PLAYING, timeout=LIVE_TIMEOUT_MS)  # the annotated frames play
    # The picture and the reading panel beside it (the stream's first frames are the camera's, sent back as they
    # come while the models warm up).
    component.wait_for_function(VIDEO_WIDTH_IS, arg=640 + PANEL_WIDTH, timeout=LIVE_TIMEOUT_MS)
    reading = page.locator("div[class*='st-key-live-reading']")
    text = _updated(reading, lambda text: READING.search(text), LIVE_TIMEOUT_MS)
    print(f"\nlive camera: {time.perf_counter() - started:.1f} s from Start to the first reading")

    for heatmaps in (False, True):
        if heatmaps:
            page.get_by_text("Heat maps on the faces").click()
        analysed_before = _analysed(text)
        shown_before = component.evaluate(FRAMES_SHOWN)
        time.sleep(MEASURE_S)
        shown = (component.evaluate(FRAMES_SHOWN) - shown_before) / MEASURE_S
        text = _updated(reading, lambda text, before=analysed_before: _analysed(text) > before)
        assert READING.search(text), text
        rates = RATES.search(text)
        print(
            f"live camera (640x480 fake camera, labels{', heat maps' if heatmaps else ''}): "
            f"{float(rates[1]):.1f} frames/s analysed and returned, each with a new reading beside the picture; "
            f"the browser showed {shown:.1f} frames/s; {rates[2]} frames analysed in all"
        )
    page.locator("h1").first.scroll_into_view_if_needed()  # the Update button's clicks scrolled the page down
    _screenshot(page, DOCS / "screenshot_live.png", 1000)


def _analysed(text: str) -> int:
    rates = RATES.search(text)
    return int(rates[2]) if rates else -1


def _updated(reading, done, timeout_ms: int = 30_000) -> str:
    """Press the statistics' Update button until their text satisfies ``done``; that text."""
    deadline = time.perf_counter() + timeout_ms / 1000
    while True:
        reading.get_by_role("button", name="Update").click()
        time.sleep(1.0)  # the fragment's rerun
        text = reading.inner_text()
        if done(text):
            return text
        assert time.perf_counter() < deadline, f"no such reading within {timeout_ms / 1000:.0f} s: {text}"


def test_video_file_shows_timelines_and_downloads(page, clips):
    _choose(page, "Video file")
    page.get_by_text("One video, up to").wait_for(timeout=60_000)  # not the photo uploader of the page before
    page.wait_for_function("() => document.querySelectorAll('input[type=file]').length === 1")
    started = time.perf_counter()
    page.set_input_files("input[type=file]", clips["upload"])
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.nth(1).wait_for(timeout=VIDEO_TIMEOUT_MS)  # one timeline per person: two people
    print(f"\nvideo file (3.6 s, 480x240, two people): {time.perf_counter() - started:.1f} s from upload to results")
    assert charts.count() == 2
    for label in ("Annotated video (MP4)", "Frames (CSV)", "Summary (JSON)"):
        assert page.get_by_role("button", name=label).count() == 1
    with page.expect_download() as download:
        page.get_by_role("button", name="Summary (JSON)").click()
    assert [track["track"] for track in json.loads(Path(download.value.path()).read_text())["tracks"]] == [1, 2]
    page.locator("[data-testid='stVideo']").wait_for(timeout=60_000)
    _screenshot(page, DOCS / "screenshot_video.png", 1150)
