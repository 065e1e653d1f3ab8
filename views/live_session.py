"""One visitor's live camera stream, server side: each frame -> tracked faces -> the annotated frame sent back,
with the current reading per person in a panel beside the picture, redrawn on every frame.

The reading is drawn into the returned video rather than shown as page elements: each Streamlit rerun that
redraws page elements stalls the stream (with Chromium on the same 2 cores, a redraw once a second let 11 of
the camera's 15 frames/s through), and the video carries a new reading per frame.

streamlit-webrtc calls :meth:`LiveSession.callback` with ``av.VideoFrame`` s on a worker thread; the page reads
:meth:`LiveSession.snapshot` from the script thread. Everything they share sits behind one lock. No Streamlit
here, so the frame path is tested without a browser.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import av
import numpy as np
import skimage.data
import torch
from PIL import Image, ImageDraw, ImageFont

from fer_model import DEFAULT_CAM_METHOD, EmotionClassifier
from fer_model.video import FrameResult, TrackedFace, VideoAnalyzer, VideoSettings, annotate_frame, rgb_image

# Live frames: no test-time augmentation and no heat maps unless asked, so 640x480 keeps up with the camera.
LIVE_SETTINGS = VideoSettings(every=5, tta=False, explain=False)
HEATMAP_OPACITY = 0.5
RATE_WINDOW_S = 5.0  # frames/s and updates/s are counted over the last few seconds
SLOT_WAIT_S = 0.5  # a frame waits this long for the server's analysis slot, then goes back unannotated
RESTART_GAP_S = 30.0  # a stream whose clock jumps this far (stopped and started again) starts with fresh tracks
# Torch threads while a live frame is analysed. The stream's own threads (aiortc decoding and encoding VP8) need
# the CPU at the same time, and torch's spinning OpenMP workers then slow each other down: on 2 cores a frame
# took over 10 s with 2 threads (streamlit-webrtc then ends the stream) against 0.02-0.15 s with 1.
LIVE_TORCH_THREADS = 1
BAR_WIDTH, BAR_HEIGHT, BAR_GAP = 60, 7, 2  # the probability bar per face, in pixels of the frame
PANEL_WIDTH = 240  # the reading beside the picture, in pixels added to the frame's width
PANEL_BACKGROUND, PANEL_TEXT, PANEL_MUTED = (255, 255, 255), (17, 24, 39), (100, 116, 139)
TOP_BAR, OTHER_BAR = (37, 99, 235), (148, 163, 184)


@dataclass(frozen=True)
class Reading:
    """One person's current (smoothed) reading: probabilities in the weights' emotion order, summing to 1."""

    track: int
    top_emotion: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class LiveSnapshot:
    """The stream's statistics for the page. readings: one per person on the latest frame, by track id;
    frames: frames analysed and returned since the session began; frames_per_s: frames analysed and returned
    per second over the last few seconds, each with a new reading beside the picture; busy_frames: frames sent
    back unannotated because the server was busy with another analysis."""

    readings: list[Reading]
    frames: int
    frames_per_s: float
    busy_frames: int


class LiveSession:
    """Frames of one stream in order (:meth:`callback` / :meth:`process`), readings out (:meth:`snapshot`).

    ``classifier`` may be shared by many sessions: ``slot`` (a semaphore or lock shared by the server) is held
    while a frame is analysed, so the model runs one analysis at a time.
    """

    def __init__(self, classifier: EmotionClassifier, slot: threading.Semaphore | threading.Lock):
        self._classifier, self._slot = classifier, slot
        self._lock = threading.Lock()  # guards everything below
        self._settings = LIVE_SETTINGS
        self._analyzer: VideoAnalyzer | None = None
        self._last_time_s: float | None = None
        self._frame: FrameResult | None = None
        self._frames = self._busy = 0
        self._returned: deque[float] = deque()
        self._since: float | None = None  # when the first frame came back

    def set_heatmaps(self, on: bool, cam_method: str = DEFAULT_CAM_METHOD) -> None:
        """Heat maps on the faces (from the next frame on) or not; called by the page."""
        with self._lock:
            self._settings = replace(LIVE_SETTINGS, explain=on, cam_method=cam_method)

    def callback(self, frame: av.VideoFrame) -> av.VideoFrame:
        """streamlit-webrtc's ``video_frame_callback``: the frame annotated, as a new RGB frame."""
        time_s = frame.time if frame.time is not None else time.monotonic()
        return av.VideoFrame.from_image(self.process(rgb_image(frame), time_s))

    def process(self, image: Image.Image, time_s: float) -> Image.Image:
        """The RGB ``image`` shown at ``time_s`` seconds, with boxes, labels, a probability bar per face and
        (when on) heat maps, and the reading panel beside it; unannotated, with a note in the panel, when the
        server stays busy for SLOT_WAIT_S."""
        emotions = self._classifier.emotions
        if not self._slot.acquire(timeout=SLOT_WAIT_S):
            with self._lock:
                self._busy += 1
            return with_reading_panel(image, [], emotions, "", empty="Server busy: not analysed")
        try:
            analyzer = self._analyzer_for(time_s)
            threads = torch.get_num_threads()
            torch.set_num_threads(LIVE_TORCH_THREADS)  # process-wide: restored before the slot is released
            try:
                result = analyzer.process(image, time_s)
            finally:
                torch.set_num_threads(threads)
        finally:
            self._slot.release()
        opacity = HEATMAP_OPACITY if analyzer.settings.explain else 0.0
        annotated = draw_probability_bars(annotate_frame(image, result, opacity), result, emotions)
        with self._lock:
            self._frame = result
            self._frames += 1
            now = time.monotonic()
            self._since = self._since or now
            _push(self._returned, now)
            frames_per_s = _rate(self._returned, now, self._since)
        return with_reading_panel(annotated, result.faces, emotions, f"{frames_per_s:.1f} frames/s")

    def warm_up(self) -> None:
        """Run a face through detection, classification, heat maps and drawing once, so the first frame of a
        stream is as fast as the next (models loaded, first-call setup done). The counters stay at 0."""
        face = Image.fromarray(skimage.data.astronaut()).resize((480, 480))
        canvas = Image.new("RGB", (640, 480), (128, 128, 128))
        canvas.paste(face, (80, 0))
        analyzer = VideoAnalyzer(self._classifier, replace(LIVE_SETTINGS, explain=True))
        result = analyzer.process(canvas, 0.0)
        annotated = draw_probability_bars(
            annotate_frame(canvas, result, HEATMAP_OPACITY), result, self._classifier.emotions
        )
        with_reading_panel(annotated, result.faces, self._classifier.emotions, "")

    def _analyzer_for(self, time_s: float) -> VideoAnalyzer:
        """The stream's analyzer with the current settings; a fresh one when the stream has restarted."""
        with self._lock:
            last = self._last_time_s
            if self._analyzer is None or (last is not None and not -1.0 < time_s - last < RESTART_GAP_S):
                self._analyzer = VideoAnalyzer(self._classifier, self._settings)
            self._analyzer.settings = self._settings  # the analyzer reads it on every frame: changes apply at once
            self._last_time_s = time_s
            return self._analyzer

    def snapshot(self) -> LiveSnapshot:
        """The current readings and rates."""
        now = time.monotonic()
        with self._lock:
            frame = self._frame
            readings = [] if frame is None else [Reading(f.track, f.top_emotion, f.smoothed) for f in frame.faces]
            frames_per_s = _rate(self._returned, now, self._since)
            return LiveSnapshot(readings, self._frames, frames_per_s, self._busy)


def draw_probability_bars(image: Image.Image, frame: FrameResult, emotions: tuple[str, ...]) -> Image.Image:
    """``image`` (drawn on in place and returned) with a small bar chart under each face's box: one row per
    emotion, its smoothed probability as the bar's length, the top emotion's bar highlighted."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=BAR_HEIGHT + 2)
    row = BAR_HEIGHT + BAR_GAP
    label_width = round(max(draw.textlength(e[:3], font=font) for e in emotions)) + 3
    panel_w, panel_h = label_width + BAR_WIDTH + 4, row * len(emotions) + 2
    for face in frame.faces:
        x1, _, _, y2 = face.box
        x = int(np.clip(x1, 0, max(image.width - panel_w, 0)))
        y = int(np.clip(y2 + 4, 0, max(image.height - panel_h, 0)))
        draw.rectangle((x, y, x + panel_w, y + panel_h), fill=(255, 255, 255))
        for i, emotion in enumerate(emotions):
            top = y + 2 + i * row
            value = face.smoothed[emotion]
            colour = (37, 99, 235) if emotion == face.top_emotion else (148, 163, 184)
            draw.text((x + 2, top - 2), emotion[:3], fill=(17, 24, 39), font=font)
            left = x + label_width
            draw.rectangle((left, top, left + max(1, round(value * BAR_WIDTH)), top + BAR_HEIGHT - 1), fill=colour)
    return image


def with_reading_panel(
    image: Image.Image, faces: list[TrackedFace], emotions: tuple[str, ...], footer: str, empty: str = "No face"
) -> Image.Image:
    """``image`` with PANEL_WIDTH pixels added on the right: per person (by track id) the top emotion with its
    smoothed probability and a bar per emotion, as many people as fit (``empty`` when there is none), and
    ``footer`` at the foot."""
    panel = Image.new("RGB", (image.width + PANEL_WIDTH, image.height), PANEL_BACKGROUND)
    panel.paste(image, (0, 0))
    draw = ImageDraw.Draw(panel)
    title, small = ImageFont.load_default(size=17), ImageFont.load_default(size=13)
    left, row = image.width + 8, 15
    bottom = panel.height - 20
    person_height = 26 + row * len(emotions) + 10
    shown = max(0, (bottom - 8) // person_height)
    y = 8
    if not faces:
        draw.text((left, y), empty, fill=PANEL_MUTED, font=title)
    for face in faces[:shown]:
        top = face.smoothed[face.top_emotion]
        draw.text((left, y), f"Person {face.track}: {face.top_emotion} {top:.0%}", fill=PANEL_TEXT, font=title)
        y += 26
        for emotion in emotions:
            value = face.smoothed[emotion]
            draw.text((left, y - 1), emotion, fill=PANEL_TEXT, font=small)
            colour = TOP_BAR if emotion == face.top_emotion else OTHER_BAR
            bar_left, bar_right = left + 66, panel.width - 8
            bar_end = bar_left + max(1, round(value * (bar_right - bar_left)))
            draw.rectangle((bar_left, y + 3, bar_end, y + 12), fill=colour)
            y += row
        y += 10
    if len(faces) > shown:
        draw.text((left, y), f"+{len(faces) - shown} more", fill=PANEL_MUTED, font=small)
    draw.text((left, bottom), footer, fill=PANEL_MUTED, font=small)
    return panel


def _push(times: deque[float], now: float) -> None:
    times.append(now)
    while times and times[0] < now - RATE_WINDOW_S:
        times.popleft()


def _rate(times: deque[float], now: float, since: float | None) -> float:
    """Events per second over the last RATE_WINDOW_S seconds, or since ``since`` when that is more recent."""
    span = min(RATE_WINDOW_S, now - since) if since is not None else 0.0
    return sum(t >= now - RATE_WINDOW_S for t in times) / span if span > 0 else 0.0
