"""The page's video inputs without a browser: a video file through streamlit.testing (results, reuse on reruns,
bad files), the live view's page, and the live frame path (views.live_session) on frames of a real-face clip."""

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data
from PIL import Image
from streamlit.testing.v1 import AppTest

from fer_model.video import read_video_info
from fer_model.video.clips import Segment, make_clip, render
from views.live import ICE_SERVERS_ENV, ice_servers
from views.live_session import PANEL_WIDTH, LiveSession

APP = Path(__file__).resolve().parents[1] / "app.py"
NOT_A_VIDEO = b"Dear diary, today I renamed a text file to .mp4.\n"
SIZE, FPS = (320, 240), 15


def _astronaut_head() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut()).crop((144, 37, 304, 197))  # she smiles


def _video_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="input").set_value("Video file").run()
    assert not at.exception
    return at


def _analyses(at: AppTest) -> list:
    return list(at.session_state["video"].values())


def test_video_file_shows_timeline_summary_and_downloads_and_reruns_reuse_it(tmp_path):
    clip = tmp_path / "smile.mp4"
    make_clip(clip, [Segment(1.0, [_astronaut_head()])], SIZE, FPS)
    at = _video_page()
    at.file_uploader(key="video-upload").upload("smile.mp4", clip.read_bytes(), "video/mp4").run()
    assert not at.exception and not at.error
    (analysis,) = _analyses(at)
    assert analysis.result.frame_count == FPS and len(analysis.result.tracks) == 1
    assert analysis.video[4:8] == b"ftyp"  # an MP4
    assert analysis.csv.startswith("time_s,") and '"tracks"' in analysis.json
    assert len(at.download_button) == 3
    assert len(at.get("plotly_chart")) == 1  # one timeline per person
    (series,) = analysis.result.tracks
    assert max(set(series.top_emotions), key=series.top_emotions.count) == "happy"

    at.toggle(key="video-raw").set_value(True).run()  # a display setting: no new analysis
    assert not at.exception and not at.error
    assert _analyses(at)[0] is analysis


def test_bad_video_file_shows_its_message_and_the_page_keeps_working(tmp_path):
    with pytest.raises(ValueError) as expected:
        read_video_info(NOT_A_VIDEO)
    at = _video_page()
    at.file_uploader(key="video-upload").upload("x.mp4", NOT_A_VIDEO, "video/mp4").run()
    assert not at.exception
    (error,) = at.error
    assert str(expected.value) in error.value and "Traceback" not in error.value

    clip = tmp_path / "smile.webm"
    make_clip(clip, [Segment(0.5, [_astronaut_head()])], SIZE, FPS)
    at.file_uploader(key="video-upload").set_value(("smile.webm", clip.read_bytes(), "video/webm")).run()
    assert not at.exception and not at.error
    assert len(_analyses(at)[0].result.tracks) == 1


def test_live_view_needs_no_ice_server_by_default_and_takes_one_from_the_environment(monkeypatch):
    """(The live page itself needs a browser: streamlit-webrtc does not run under streamlit.testing.)"""
    monkeypatch.delenv(ICE_SERVERS_ENV, raising=False)
    assert ice_servers() == []
    monkeypatch.setenv(ICE_SERVERS_ENV, '[{"urls": "stun:stun.example.org:3478"}]')
    assert ice_servers() == [{"urls": "stun:stun.example.org:3478"}]


@pytest.mark.parametrize("heatmaps", [False, True], ids=["labels", "heat-maps"])
def test_live_frame_path_annotates_frames_and_keeps_one_reading_per_person(classifier, heatmaps):
    """The webrtc callback's work on av.VideoFrames of a moving real face: annotated frames back with the reading
    panel beside them, one track, the reading happy, and the rates counted."""
    session = LiveSession(classifier, threading.Lock())
    session.set_heatmaps(heatmaps)
    segments = [Segment(1.0, [_astronaut_head()])]
    for i in range(10):
        picture = render(segments, i / FPS, (640, 480))
        frame = av.VideoFrame.from_image(picture)
        frame.pts, frame.time_base = i * 6000, Fraction(1, 90000)  # 15 frames/s on WebRTC's 90 kHz clock
        returned = session.callback(frame)
        assert (returned.width, returned.height) == (640 + PANEL_WIDTH, 480)
        pixels = returned.to_ndarray(format="rgb24")
        assert not np.array_equal(pixels[:, :640], np.asarray(picture))  # drawn on
        assert pixels[:, 640:].std() > 10  # the panel holds the reading, not just its background
        snapshot = session.snapshot()
    assert snapshot.frames == 10 and snapshot.busy_frames == 0
    (reading,) = snapshot.readings
    assert reading.track == 1 and reading.top_emotion == "happy"
    assert sum(reading.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert snapshot.frames_per_s > 0


def test_live_frame_path_gives_the_frame_back_unannotated_while_the_server_is_busy(classifier):
    busy = threading.Lock()
    busy.acquire()  # another analysis holds the server's slot
    session = LiveSession(classifier, busy)
    picture = render([Segment(1.0, [_astronaut_head()])], 0.0, SIZE)
    returned = np.asarray(session.process(picture, 0.0))
    np.testing.assert_array_equal(returned[:, : SIZE[0]], np.asarray(picture))  # not drawn on
    assert returned.shape == (SIZE[1], SIZE[0] + PANEL_WIDTH, 3)
    assert session.snapshot().busy_frames == 1 and not session.snapshot().readings
