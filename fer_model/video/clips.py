"""Synthetic clips with known answers: photos of faces held and moved over a canvas, one segment per expression.

Tests, benchmarks and the browser test's fake camera (a ``.y4m`` file) make their videos here, so each knows
which expression every person shows at every moment. Person ``i`` of each segment stays in lane ``i`` (the
canvas split into equal columns) and moves smoothly around the lane's centre, so a tracker must follow them.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

# Container, codec and options per suffix: near-lossless, so the clip's faces are the photos.
_ENCODINGS = {
    ".mp4": ("mp4", "libx264", {"crf": "16", "preset": "veryfast"}),
    ".mov": ("mov", "libx264", {"crf": "16", "preset": "veryfast"}),
    ".mkv": ("matroska", "libx264", {"crf": "16", "preset": "veryfast"}),
    ".webm": ("webm", "libvpx-vp9", {"crf": "20", "b": "0", "deadline": "realtime", "cpu-used": "8"}),
    ".avi": ("avi", "mpeg4", {"qscale": "2"}),
    ".y4m": ("yuv4mpegpipe", "rawvideo", {}),
}
_TIME_BASE = Fraction(1, 1000)


@dataclass(frozen=True)
class Segment:
    """``seconds`` of video in which person ``i`` holds ``faces[i]`` (any RGB or grayscale photo of a face)."""

    seconds: float
    faces: Sequence[Image.Image]


def segment_times(segments: Sequence[Segment]) -> list[tuple[float, float]]:
    """Each segment's (start, end) in seconds."""
    bounds, start = [], 0.0
    for segment in segments:
        bounds.append((start, start + segment.seconds))
        start += segment.seconds
    return bounds


def render(segments: Sequence[Segment], time_s: float, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """The clip's RGB picture at ``time_s`` seconds: a grey canvas of ``size`` (w, h) with the faces pasted.

    Faces are squares of 40% of the height (or 60% of the lane's width, if less), circling the lane's centre
    once every 4 seconds, 12% of the lane's width sideways and 6% of the height up and down.
    """
    index = next((i for i, (_, end) in enumerate(segment_times(segments)) if time_s < end), len(segments) - 1)
    faces = segments[index].faces
    width, height = size
    lane = width / max(len(faces), 1)
    side = round(min(0.4 * height, 0.6 * lane))
    canvas = Image.new("RGB", size, (128, 128, 128))
    angle = 2 * math.pi * time_s / 4
    for i, face in enumerate(faces):
        x = (i + 0.5) * lane + 0.12 * lane * math.cos(angle + i) - side / 2
        y = 0.5 * height + 0.06 * height * math.sin(angle + i) - side / 2
        canvas.paste(face.convert("RGB").resize((side, side), Image.Resampling.LANCZOS), (round(x), round(y)))
    return canvas


def make_clip(
    path: str | os.PathLike,
    segments: Sequence[Segment],
    size: tuple[int, int] = (640, 480),
    fps: float = 15.0,
    *,
    times: Sequence[float] | None = None,
    rotation: int = 0,
    recorded_live: bool = False,
) -> list[float]:
    """Write the clip to ``path`` (.mp4, .mov, .mkv, .webm, .avi or .y4m) and return its frame times in seconds.

    ``times``: frame times (variable frame rate) instead of a frame every 1 / ``fps`` seconds. ``rotation``:
    counterclockwise degrees a player must turn the stored pictures (display-matrix metadata, as phones
    write); the pictures are stored turned the other way, so the clip plays upright.
    """
    total = sum(segment.seconds for segment in segments)
    times = list(times) if times is not None else [i / fps for i in range(round(total * fps))]
    turn = {0: None, 90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    frames = (render(segments, t, size) for t in times)
    if turn[rotation % 360] is not None:
        frames = (frame.transpose(turn[rotation % 360]) for frame in frames)
    write_frames(path, zip(frames, times, strict=True), fps, rotation=rotation, recorded_live=recorded_live)
    return times


def write_frames(
    path: str | os.PathLike,
    frames: Iterator[tuple[Image.Image, float]],
    fps: float,
    rotation: int = 0,
    recorded_live: bool = False,
) -> None:
    """Encode (RGB picture, time in seconds) pairs to ``path``, its suffix choosing the format; ``rotation``
    and ``recorded_live`` as in :func:`make_clip` (containers without display matrices ignore the rotation)."""
    container_format, codec, options = _ENCODINGS[Path(path).suffix.lower()]
    with contextlib.ExitStack() as files:
        target = _Unseekable(files.enter_context(open(path, "wb"))) if recorded_live else os.fspath(path)
        container = files.enter_context(av.open(target, "w", format=container_format))
        _encode(container, codec, options, frames, fps, rotation)


class _Unseekable(io.RawIOBase):
    """A file the muxer can only append to, as a live recording's pipe."""

    def __init__(self, file):
        self._file = file

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data) -> int:
        return self._file.write(data)


def _encode(container, codec: str, options: dict, frames, fps: float, rotation: int) -> None:
    """Mux the frames into the open container; the stream takes the first frame's size."""
    stream = None
    for image, time_s in frames:
        if stream is None:
            stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=options)
            stream.width, stream.height, stream.pix_fmt = image.width, image.height, "yuv420p"
            timed = codec != "rawvideo" and container.format.name != "avi"  # these two take frame counts only
            if timed:
                stream.codec_context.time_base = _TIME_BASE
            if rotation:
                stream.set_display_rotation(rotation)
        frame = av.VideoFrame.from_image(image)
        if timed:
            frame.pts, frame.time_base = round(time_s / _TIME_BASE), _TIME_BASE
        container.mux(stream.encode(frame))
    if stream is not None:
        container.mux(stream.encode(None))
