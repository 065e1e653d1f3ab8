"""A video file -> upright RGB frames with their times, or a :class:`VideoError` with a sentence the user understands.

Reads what PyAV (FFmpeg) demuxes from the containers in :data:`CONTAINERS` (MP4, MOV, WebM, MKV, AVI
and a few more). Checks run in the order failures occur: empty file, not a video (or a still image),
truncated or corrupt, no video stream, frames too large and video too long (both from the header,
before any pixel is decoded), no frames (the first frame is decoded on opening). Decoding errors later
in the file, and a file that stops well before the length its header states, raise
:class:`CorruptVideoError` from :meth:`VideoReader.frames`.

Times come from each frame's presentation timestamp (pts x time_base), so variable frame rate video
keeps its real timing; they are in seconds from the first frame. Rotation metadata (the display matrix
of phone videos, or an old ``rotate`` tag) is applied, so frames come out the way players show them.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
from PIL import Image

# FFmpeg demuxer names accepted as video containers. Anything else FFmpeg can open (a text file read as
# ANSI art, a JPEG read as a one-frame stream, ...) is refused as "not a video".
CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV",
    "matroska,webm": "MKV/WebM",
    "avi": "AVI",
    "mpegts": "MPEG-TS",
    "mpeg": "MPEG-PS",
    "flv": "FLV",
    "ogg": "Ogg",
    "asf": "WMV",
    "gif": "GIF",
    "yuv4mpegpipe": "Y4M",  # uncompressed; what Chromium's fake camera plays
}
# How much shorter than its header says a file may decode (for end trimming, edit lists) before it counts
# as truncated: the larger of these, in seconds and as a share of the stated length.
_TRUNCATION_SLACK_S = 0.5
_TRUNCATION_SLACK_SHARE = 0.05
_SUPPORTED = "MP4, MOV, WebM, MKV or AVI"


class VideoError(ValueError):
    """An input that cannot be analysed as a video; ``str(error)`` is a sentence for the user."""


class EmptyVideoError(VideoError):
    """The file has no bytes."""


class NotAVideoError(VideoError):
    """The data is in no video container read here (a text file, a photo, an unknown format)."""


class CorruptVideoError(VideoError):
    """A video container whose data is truncated or broken."""


class NoVideoStreamError(VideoError):
    """A media file without a video stream (audio only, or nothing at all)."""


class NoFramesError(VideoError):
    """A video stream without a single decodable frame."""


class VideoTooLargeError(VideoError):
    """Frames with more pixels than :attr:`VideoLimits.max_pixels`."""


class VideoTooLongError(VideoError):
    """Longer than :attr:`VideoLimits.max_seconds`."""


@dataclass(frozen=True)
class VideoLimits:
    """max_seconds: the longest video accepted, in seconds; max_pixels: the most pixels per frame
    (3840x2160 by default)."""

    max_seconds: float = 600.0
    max_pixels: int = 3840 * 2160


@dataclass(frozen=True)
class VideoInfo:
    """What the header and first frame say. width, height: of the upright frames, in pixels; rotation: the
    counterclockwise turn in degrees (0, 90, 180 or 270) applied to the decoded pictures; duration_s and
    frame_rate (average frames/s) as the header states them, None where it does not; frame_count: the
    header's count, else duration x rate, else None; codec and container: FFmpeg's names."""

    width: int
    height: int
    rotation: int
    duration_s: float | None
    frame_rate: float | None
    frame_count: int | None
    codec: str
    container: str


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: index (0-based, in display order), time_s (seconds since the first frame,
    non-decreasing) and image, upright RGB."""

    index: int
    time_s: float
    image: Image.Image


VideoSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


class VideoReader:
    """An open video file: :attr:`info`, then :meth:`frames` once. Use as a context manager.

    ``source``: a path, the file's bytes, or a binary file object (an upload). Raises a subclass of
    :class:`VideoError` when the file is unusable, before any frame is returned.
    """

    def __init__(self, source: VideoSource, limits: VideoLimits = VideoLimits()):  # noqa: B008 (frozen)
        self.limits = limits
        self._container = _open(source)
        try:
            self._stream = _video_stream(self._container)
            context = self._stream.codec_context
            if context.width * context.height > limits.max_pixels:
                raise VideoTooLargeError(_too_large(context.width, context.height, limits.max_pixels))
            stated = _stated_duration(self._container, self._stream)
            if stated is not None and stated > limits.max_seconds:
                raise VideoTooLongError(_too_long(stated, limits.max_seconds))
            # FFmpeg decodes on threads of its own (frame and slice threading) while the caller analyses.
            self._stream.thread_type = "AUTO"
            self._decoded = self._container.decode(self._stream)
            first = self._next_av_frame()
            if first is None and (stated or self._stream.frames):
                raise CorruptVideoError("video file is truncated or corrupt: not one frame can be decoded")
            if first is None:
                raise NoFramesError("video has no frames")
            self._rotation = _rotation(first, self._stream)
            self._first = first
            self._first_time = first.time
            self.info = self._info()
        except BaseException:
            self.close()
            raise

    def frames(self) -> Iterator[Frame]:
        """Every frame in display order. Raises :class:`CorruptVideoError` where decoding breaks or the file
        stops well short of the length its header states, and :class:`VideoTooLongError` past the limit."""
        frame, index, previous_time = self._first, 0, 0.0
        interval = 1 / self.info.frame_rate if self.info.frame_rate else 1 / 30
        while frame is not None:
            if frame.time is None or self._first_time is None:  # no timestamps: count frames at the average rate
                time_s = previous_time + interval if index else 0.0
            else:
                time_s = max(frame.time - self._first_time, previous_time)
            if time_s > self.limits.max_seconds:
                raise VideoTooLongError(_too_long(time_s, self.limits.max_seconds, "at least "))
            if frame.width * frame.height > self.limits.max_pixels:  # the size may change mid-stream
                raise VideoTooLargeError(_too_large(frame.width, frame.height, self.limits.max_pixels))
            yield Frame(index, time_s, _upright(rgb_image(frame), self._rotation))
            frame, index, previous_time = self._next_av_frame(time_s), index + 1, time_s
        self._check_complete(previous_time + interval)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next_av_frame(self, time_s: float | None = None) -> av.VideoFrame | None:
        try:
            return next(self._decoded, None)
        except av.FFmpegError as error:
            where = "" if time_s is None else f" after {time_s:.1f} s"
            raise CorruptVideoError(f"video file is truncated or corrupt: decoding fails{where}") from error

    def _info(self) -> VideoInfo:
        stream, width, height = self._stream, self._first.width, self._first.height
        if self._rotation in (90, 270):
            width, height = height, width
        duration = _stated_duration(self._container, stream)
        rate = float(stream.average_rate) if stream.average_rate else None
        count = stream.frames or (round(duration * rate) if duration and rate else None)
        return VideoInfo(
            width=width,
            height=height,
            rotation=self._rotation,
            duration_s=duration,
            frame_rate=rate,
            frame_count=count,
            codec=stream.codec_context.name,
            container=self._container.format.name,
        )

    def _check_complete(self, decoded_s: float) -> None:
        """Refuse a file that ends well before its header's length. Only the video stream's own length counts
        (or the file's, when video is all it holds): an audio track may rightly run on after the picture."""
        stream = self._stream
        if stream.duration:
            stated = float(stream.duration * stream.time_base)
        elif len(self._container.streams) == 1 and self._container.duration:
            stated = self._container.duration / av.time_base
        else:
            return
        if decoded_s < stated - max(_TRUNCATION_SLACK_S, _TRUNCATION_SLACK_SHARE * stated):
            raise CorruptVideoError(
                f"video file is truncated: its header says {stated:.1f} s, but frames stop after {decoded_s:.1f} s"
            )


def read_video_info(source: VideoSource, limits: VideoLimits = VideoLimits()) -> VideoInfo:  # noqa: B008
    """The :class:`VideoInfo` of a video, after the checks :class:`VideoReader` makes on opening."""
    with VideoReader(source, limits) as reader:
        return reader.info


def _open(source: VideoSource) -> av.container.InputContainer:
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(bytes(source))
    head = _head(source)
    if not head:
        raise EmptyVideoError("file is empty")
    try:
        container = av.open(source if hasattr(source, "read") else os.fspath(source), "r")
    except av.EOFError as error:  # a container header, then nothing
        raise NoFramesError("video has no frames (the file ends after its header)") from error
    except (av.FFmpegError, UnicodeDecodeError) as error:
        if _looks_like_video(head):
            raise CorruptVideoError("video file is truncated or corrupt") from error
        raise NotAVideoError(f"file is not a video; use {_SUPPORTED}") from error
    if container.format.name not in CONTAINERS:
        name = container.format.name
        container.close()
        if name.endswith("_pipe") or name == "image2":
            raise NotAVideoError(
                f"file is a still image ({name.removesuffix('_pipe').upper()}), not a video; analyse it as a photo"
            )
        raise NotAVideoError(f"file is not a video; use {_SUPPORTED}")
    return container


def _head(source) -> bytes:
    """The first 16 bytes (a file object's position is restored); raises VideoError when unreadable."""
    if hasattr(source, "read"):
        position = source.tell()
        head = source.read(16)
        source.seek(position)
        return head
    try:
        with Path(source).open("rb") as file:
            return file.read(16)
    except OSError as error:
        raise VideoError(f"cannot read the file: {(error.strerror or str(error)).lower()}") from error


def _looks_like_video(head: bytes) -> bool:
    """Whether the first bytes are the signature of a video container FFmpeg then failed to read."""
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")  # MP4, MOV
        or head.startswith(b"\x1a\x45\xdf\xa3")  # Matroska, WebM
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
        or head.startswith((b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75"))  # FLV, MPEG-PS, ASF
    )


def _video_stream(container) -> av.video.stream.VideoStream:
    if not container.streams.video:
        kinds = sorted({stream.type for stream in container.streams})
        what = f"only {' and '.join(kinds)}" if kinds else "no audio or video at all"
        raise NoVideoStreamError(f"file has no video stream (it holds {what})")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise NotAVideoError("the video is in a codec that cannot be decoded here")
    stream.thread_type = "AUTO"  # frame and slice threads: decoding is a large share of the time
    return stream


def _stated_duration(container, stream) -> float | None:
    if stream.duration:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def rgb_image(frame: av.VideoFrame) -> Image.Image:
    """The frame as an RGB PIL image (PyAV's own ``to_image`` copies the pixels row by row; this copies once)."""
    return Image.fromarray(frame.to_ndarray(format="rgb24"))


def _rotation(frame: av.VideoFrame, stream) -> int:
    """Counterclockwise degrees that turn the decoded picture upright: the frame's display matrix, else the
    stream's old-style ``rotate`` tag (a clockwise angle)."""
    degrees = frame.rotation
    if not degrees and "rotate" in stream.metadata:
        try:
            degrees = -float(stream.metadata["rotate"])
        except ValueError:
            degrees = 0
    return round(degrees / 90) * 90 % 360


def _upright(image: Image.Image, rotation: int) -> Image.Image:
    turns = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    return image.transpose(turns[rotation]) if rotation else image


def _too_long(seconds: float, limit: float, qualifier: str = "") -> str:
    return f"video is {qualifier}{_duration(seconds)} long; the limit is {_duration(limit)}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} minutes"


def _too_large(width: int, height: int, limit: int) -> str:
    return (
        f"video frames are {width}x{height} ({width * height / 1e6:.3g} megapixels); "
        f"the limit is {limit / 1e6:.3g} megapixels"
    )
