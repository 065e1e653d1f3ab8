"""Headless Debian Chromium plays what VideoWriter writes, and turns phone video the way VideoReader does.

No server: each video goes into a page as a data: URL, is seeked, and drawn onto a canvas whose pixels are
read back. Skips without /usr/bin/chromium.
"""

import base64
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_model.video import VideoReader, VideoWriter
from fer_model.video.clips import write_frames

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
DRAW_AT_HALF_A_SECOND = """async url => {
    const video = document.querySelector("video");
    video.src = url;
    await new Promise((ok, fail) => {
        video.onloadeddata = ok;
        video.onerror = () => fail(new Error("cannot play: media error " + video.error.code));
    });
    video.currentTime = 0.5;
    await new Promise(ok => (video.onseeked = ok));
    const canvas = document.querySelector("canvas");
    [canvas.width, canvas.height] = [video.videoWidth, video.videoHeight];
    const context = canvas.getContext("2d", {willReadFrequently: true});
    let pixels;
    for (let attempt = 0; attempt < 50; attempt++) {  // a busy machine may not have the frame ready on "seeked"
        context.clearRect(0, 0, canvas.width, canvas.height);
        context.drawImage(video, 0, 0);
        pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        if (pixels.some((value, i) => i % 4 !== 3 && value > 0)) break;  // drawn: no test video is all black
        await new Promise(ok => setTimeout(ok, 100));
    }
    return {width: video.videoWidth, height: video.videoHeight, pixels: Array.from(pixels)};
}"""


@pytest.fixture(scope="module")
def draw():
    """draw(path) -> the RGB picture Chromium shows 0.5 s into the video, as uint8 (H, W, 3)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.set_content("<video muted></video><canvas></canvas>")

        def shown(path: Path) -> np.ndarray:
            mime = "video/webm" if path.suffix == ".webm" else "video/mp4"
            url = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
            result = page.evaluate(DRAW_AT_HALF_A_SECOND, url)
            pixels = np.array(result["pixels"], dtype=np.uint8).reshape(result["height"], result["width"], 4)
            return pixels[..., :3]

        yield shown
        browser.close()


def _marked(size=(160, 120)) -> Image.Image:
    """Blue, with a red square in the top-left corner: which way is up is plain to see."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 40, 40))
    return image


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_chromium_plays_the_annotated_video_format(draw, tmp_path, suffix):
    path = tmp_path / f"annotated{suffix}"
    with VideoWriter(path, frame_rate=15) as writer:
        for i in range(15):
            writer.write(_marked((161, 121)), i / 15)  # odd size: padded to even
    picture = draw(path)
    assert picture.shape == (122, 162, 3)
    assert picture[10, 10] == pytest.approx([255, 0, 0], abs=12)
    assert picture[100, 140] == pytest.approx([0, 0, 255], abs=12)


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotated_phone_video_is_upright_in_chromium_and_in_the_reader(draw, tmp_path, rotation):
    """Stored sideways with a display matrix: Chromium and VideoReader both show the red corner top-left."""
    turn = {90: Image.Transpose.ROTATE_270, 270: Image.Transpose.ROTATE_90}[rotation]
    path = tmp_path / "phone.mp4"
    write_frames(path, ((_marked().transpose(turn), i / 15) for i in range(15)), fps=15, rotation=rotation)
    picture = draw(path)
    with VideoReader(path) as reader:
        read = np.asarray(next(iter(reader.frames())).image)
    for shown in (picture, read):
        assert shown.shape == (120, 160, 3)
        assert shown[10, 10] == pytest.approx([255, 0, 0], abs=12)
        assert shown[100, 140] == pytest.approx([0, 0, 255], abs=12)
