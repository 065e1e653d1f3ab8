"""VideoReader and VideoWriter: every container, rotation, variable frame rate, limits, each bad file with its
own error and sentence, and outputs that appear whole or not at all. No model: these run in seconds."""

import io
import re
from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model.video import (
    CorruptVideoError,
    EmptyVideoError,
    NoFramesError,
    NotAVideoError,
    NoVideoStreamError,
    VideoError,
    VideoLimits,
    VideoReader,
    VideoTooLargeError,
    VideoTooLongError,
    VideoWriter,
    read_video_info,
)
from fer_model.video.clips import Segment, make_clip, render, write_frames
from fer_model.video.writer import staged

FACE = Image.fromarray(skimage.data.astronaut()).crop((144, 37, 304, 197))  # the astronaut's head, 160x160
SEGMENTS = [Segment(1.0, [FACE])]
SIZE = (160, 120)


def _frames(path, limits: VideoLimits | None = None):
    with VideoReader(path, limits or VideoLimits()) as reader:
        return reader.info, list(reader.frames())


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm", ".avi"])
def test_each_container_gives_every_frame_with_its_time(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    times = make_clip(path, SEGMENTS, SIZE, fps=15)
    info, frames = _frames(path)
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert info.frame_rate == pytest.approx(15, rel=0.01)
    assert [frame.index for frame in frames] == list(range(15))
    assert [frame.time_s for frame in frames] == pytest.approx(times, abs=1e-3)
    for frame in (frames[0], frames[-1]):
        assert frame.image.mode == "RGB" and frame.image.size == SIZE
        assert _mean_difference(frame.image, render(SEGMENTS, frame.time_s, SIZE)) < 4  # lossy, but the picture


@pytest.mark.parametrize("rotation", [90, 180, 270])
@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_rotation_metadata_is_applied(tmp_path, rotation, suffix):
    """Stored turned, as phones record; the frames come out the way players show them (as Chromium does: see
    test_video_browser.py)."""
    path = tmp_path / f"phone{suffix}"
    make_clip(path, SEGMENTS, SIZE, fps=15, rotation=rotation)
    with av.open(str(path)) as container:  # stored sideways (for 90 and 270)
        stored = container.streams.video[0].codec_context
        assert (stored.width, stored.height) == (SIZE if rotation == 180 else SIZE[::-1])
    info, frames = _frames(path)
    assert info.rotation == rotation and (info.width, info.height) == SIZE
    assert _mean_difference(frames[7].image, render(SEGMENTS, frames[7].time_s, SIZE)) < 4


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_keeps_the_real_times(tmp_path, suffix):
    times = [0.0, 0.05, 0.1, 0.4, 0.45, 1.0, 1.033, 1.066, 1.1, 1.5]
    path = tmp_path / f"vfr{suffix}"
    make_clip(path, [Segment(1.6, [FACE])], SIZE, times=times)
    _, frames = _frames(path)
    assert [frame.time_s for frame in frames] == pytest.approx(times, abs=1e-3)


def test_paths_bytes_and_file_objects_read_the_same(tmp_path):
    path = tmp_path / "clip.mp4"
    make_clip(path, SEGMENTS, SIZE)
    data = path.read_bytes()
    for source in (path, str(path), data, io.BytesIO(data)):
        info, frames = _frames(source)
        assert (info.width, info.height, len(frames)) == (160, 120, 15)


def _truncated_mp4(tmp_path: Path) -> bytes:
    make_clip(tmp_path / "whole.mp4", SEGMENTS, SIZE)
    return (tmp_path / "whole.mp4").read_bytes()[:3000]  # the index (moov) is at the end: cut off


def _audio_only(tmp_path: Path) -> bytes:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path.read_bytes()


def _zero_frames(tmp_path: Path, suffix: str) -> bytes:
    """A container with a video stream and not one frame."""
    path = tmp_path / f"nothing{suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4" if suffix == ".avi" else "libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        container.start_encoding()
    return path.read_bytes()


def _jpeg(_tmp_path) -> bytes:
    buffer = io.BytesIO()
    FACE.save(buffer, format="JPEG")
    return buffer.getvalue()


BAD_FILES = {
    "empty": (lambda tmp: b"", EmptyVideoError, "file is empty"),
    "text": (
        lambda tmp: b"Dear diary, today I renamed my notes to clip.mp4.\n" * 20,
        NotAVideoError,
        "file is not a video; use MP4, MOV, WebM, MKV or AVI",
    ),
    "photo": (_jpeg, NotAVideoError, "file is a still image (JPEG), not a video; analyse it as a photo"),
    "truncated": (_truncated_mp4, CorruptVideoError, "video file is truncated or corrupt"),
    "audio-only": (_audio_only, NoVideoStreamError, "file has no video stream (it holds only audio)"),
    "zero-frames-avi": (lambda tmp: _zero_frames(tmp, ".avi"), NoFramesError, "video has no frames"),
    "zero-frames-mkv": (lambda tmp: _zero_frames(tmp, ".mkv"), NoFramesError, "video has no frames"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_gets_its_own_error_and_sentence(tmp_path, name):
    make, error, message = BAD_FILES[name]
    data = make(tmp_path)
    path = tmp_path / "upload.mp4"  # the name a user gave it; the content decides
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(error, match=re.escape(message)):
            read_video_info(source)
    assert issubclass(error, VideoError) and issubclass(error, ValueError)


def test_text_file_named_txt_is_not_a_video(tmp_path):
    """FFmpeg would read a .txt file as ANSI art (its "tty" format): only video containers are accepted."""
    path = tmp_path / "notes.txt"
    path.write_text("hello\n" * 100)
    with pytest.raises(NotAVideoError, match="file is not a video"):
        read_video_info(path)


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="cannot read the file: no such file or directory"):
        read_video_info(tmp_path / "absent.mp4")


def test_file_cut_mid_stream_is_corrupt(tmp_path):
    """Index at the front (as VideoWriter writes MP4), data cut: decoding breaks, on opening or part way."""
    path = tmp_path / "cut.mp4"
    with VideoWriter(path, frame_rate=15) as writer:
        for i in range(45):
            writer.write(render([Segment(3.0, [FACE])], i / 15, SIZE), i / 15)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptVideoError, match="video file is truncated or corrupt"):
        with VideoReader(path) as reader:
            list(reader.frames())


def test_webm_cut_short_of_its_stated_length_is_truncated(tmp_path):
    path = tmp_path / "cut.webm"
    make_clip(path, [Segment(3.0, [FACE])], SIZE)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 8 // 10])  # the first key frame is the bulk
    with VideoReader(path) as reader, pytest.raises(CorruptVideoError, match=r"its header says 3.0 s, but frames stop"):
        list(reader.frames())


def test_limits_have_their_own_sentences(tmp_path):
    path = tmp_path / "clip.mp4"
    make_clip(path, [Segment(3.0, [FACE])], SIZE)
    with pytest.raises(VideoTooLongError, match=re.escape("video is 3 s long; the limit is 1 s")):
        read_video_info(path, VideoLimits(max_seconds=1))
    with pytest.raises(
        VideoTooLargeError,
        match=re.escape("video frames are 160x120 (0.0192 megapixels); the limit is 0.01 megapixels"),
    ):
        read_video_info(path, VideoLimits(max_pixels=10_000))
    assert VideoLimits().max_seconds == 600 and VideoLimits().max_pixels == 3840 * 2160


def test_length_limit_also_holds_without_a_stated_duration(tmp_path):
    """A stream without a length in its header (as browsers record WebM) is stopped when it passes the limit."""
    path = tmp_path / "recording.webm"
    make_clip(path, [Segment(3.0, [FACE])], SIZE, recorded_live=True)
    assert read_video_info(path).duration_s is None
    with VideoReader(path, VideoLimits(max_seconds=1)) as reader:
        with pytest.raises(VideoTooLongError, match="video is at least 1.07 s long; the limit is 1 s"):
            list(reader.frames())


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "h264"), (".webm", "vp9")])
def test_writer_makes_browser_video_of_even_size_with_the_given_times(tmp_path, suffix, codec):
    path = tmp_path / f"annotated{suffix}"
    times = [0.0, 0.1, 0.2, 0.5, 0.6]
    with VideoWriter(path, frame_rate=10) as writer:
        for time_s in times:
            writer.write(Image.new("RGB", (161, 121), (200, 30, 30)), time_s)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec and stream.codec_context.pix_fmt == "yuv420p"
        frames = list(container.decode(stream))
    assert (frames[0].width, frames[0].height) == (162, 122)
    assert [frame.time for frame in frames] == pytest.approx(times, abs=1e-3)
    assert np.asarray(frames[2].to_image())[60, 80] == pytest.approx([200, 30, 30], abs=8)


def test_staged_output_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out.csv"
    with staged(target) as temporary:
        temporary.write_text("a,b\n")
        assert not target.exists()
    assert target.read_text() == "a,b\n"
    with pytest.raises(RuntimeError), staged(tmp_path / "other.csv") as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_write_frames_y4m_for_a_fake_camera(tmp_path):
    """Chromium's fake camera reads .y4m: the same clips, uncompressed."""
    path = tmp_path / "camera.y4m"
    write_frames(path, ((render(SEGMENTS, t, SIZE), t) for t in (0.0, 1 / 15)), fps=15)
    assert path.read_bytes().startswith(b"YUV4MPEG2 W160 H120 F15:1")
    assert len(_frames(path)[1]) == 2
