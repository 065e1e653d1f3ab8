"""Frames -> a video file browsers play, and outputs that appear whole or not at all.

``.mp4``: H.264 (libx264, yuv420p, index at the front for progressive playback), what Chromium, Firefox and
Safari all play; ``.webm``: VP9. Frames keep their own timestamps (variable frame rate survives), and odd
widths or heights are padded with one black row or column, since 4:2:0 chroma needs even sizes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

# Container, codec and options per file suffix. veryfast/crf 23 and realtime/cpu-used 8: encoding stays a
# small share of the analysis time on a CPU, at a quality fine for watching annotations.
FORMATS = {
    ".mp4": ("mp4", "libx264", {"preset": "veryfast", "crf": "23"}, {"movflags": "+faststart"}),
    ".webm": ("webm", "libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"}, {}),
}
_TIME_BASE = Fraction(1, 1000)  # timestamps in milliseconds


def check_video_path(path: str | os.PathLike) -> None:
    """Raise ValueError, with a sentence for the user, when an annotated video cannot go to ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"the annotated video must end in {' or '.join(FORMATS)}, not {suffix or 'no suffix'!r}")
    check_output_path(path)


def check_output_path(path: str | os.PathLike) -> None:
    """Raise ValueError when ``path``'s folder does not exist or ``path`` is a folder."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"folder {path.parent} does not exist")


class VideoWriter:
    """Writes RGB frames with their times to ``path`` (its suffix picks the format, see :data:`FORMATS`).

    ``frame_rate``: the expected average frames/s, a hint for the encoder's rate control. Use as a context
    manager; frames must come with increasing times (equal ones are moved a millisecond on).
    """

    def __init__(self, path: str | os.PathLike, frame_rate: float | None = None):
        self._format, self._codec, self._options, container_options = FORMATS[Path(path).suffix.lower()]
        self._container = av.open(os.fspath(path), "w", format=self._format, options=container_options)
        self._rate = Fraction(round(frame_rate or 30, 3)).limit_denominator(1001)
        self._stream = None
        self._last_pts = -1

    def write(self, image: Image.Image, time_s: float) -> None:
        """Encode one RGB frame shown at ``time_s`` seconds. All frames take the first frame's size (even-padded)."""
        if self._stream is None:
            self._open_stream(image.size)
        width, height = self._stream.codec_context.width, self._stream.codec_context.height
        if image.size != (width, height):
            padded = Image.new("RGB", (width, height))
            padded.paste(image.convert("RGB"), (0, 0))
            image = padded
        frame = av.VideoFrame.from_image(image.convert("RGB"))
        frame.pts = max(round(time_s / _TIME_BASE), self._last_pts + 1)
        frame.time_base = _TIME_BASE
        self._last_pts = frame.pts
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        """Flush the encoder and finish the file (a file without frames gets no video stream)."""
        try:
            if self._stream is not None:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open_stream(self, size: tuple[int, int]) -> None:
        stream = self._container.add_stream(self._codec, rate=self._rate, options=self._options)
        stream.width, stream.height = (side + side % 2 for side in size)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = _TIME_BASE
        self._stream = stream


@contextlib.contextmanager
def staged(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to; renamed to ``path`` when the block ends
    normally, deleted when it raises. Readers never see a half-written file, and a failure leaves none."""
    path = Path(path)
    # Not tempfile.mkstemp: its file would keep mode 0600 through the rename.
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`staged`."""
    with staged(path) as temporary:
        temporary.write_text(text)
