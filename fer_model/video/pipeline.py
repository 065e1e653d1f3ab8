"""A video file -> tracked faces and emotions over time, and optionally the annotated video: the path the CLI,
the page and the tests share. Frames stream through (read, analyse, draw, encode, forget), so memory does not
grow with the length of the video; only the numbers per face and frame are kept.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

from PIL import Image

from ..classifier import EmotionClassifier
from ..pipeline import default_classifier
from .analyzer import VideoAnalyzer, VideoSettings
from .annotate import annotate_frame
from .reader import VideoLimits, VideoReader, VideoSource
from .timeline import Timeline, VideoResult
from .writer import VideoWriter, check_video_path, staged

DEFAULT_MAX_SIDE = 1280  # the annotated video's longer side at most, in pixels: encoding 4K costs more than analysis


def analyze_video(
    source: VideoSource,
    classifier: EmotionClassifier | None = None,
    settings: VideoSettings = VideoSettings(),  # noqa: B008 (frozen: a shared default is safe)
    *,
    limits: VideoLimits = VideoLimits(),  # noqa: B008
    annotated: str | os.PathLike | None = None,
    heatmap_opacity: float = 0.5,
    max_side: int = DEFAULT_MAX_SIDE,
    progress: Callable[[int, int | None], None] | None = None,
) -> VideoResult:
    """Track, classify and (with ``settings.explain``) explain every face in every frame of a video.

    ``source``: a path, the file's bytes or a binary file object; a :class:`~fer_model.video.VideoError`
    is raised for unusable input, and then nothing is written. ``annotated``: where to write the annotated
    video (``.mp4`` or ``.webm``), at most ``max_side`` pixels on its longer side, with heat maps blended at
    ``heatmap_opacity``; it appears only once complete. ``progress(frames_done, frames_expected)`` is called
    after each frame (frames_expected from the header, None where it has none).
    """
    classifier = classifier if classifier is not None else default_classifier()
    if annotated is not None:
        check_video_path(annotated)
    started = time.perf_counter()
    with VideoReader(source, limits) as reader, contextlib.ExitStack() as outputs:
        info = reader.info
        writer = None
        if annotated is not None:
            writer = outputs.enter_context(VideoWriter(outputs.enter_context(staged(annotated)), info.frame_rate))
        analyzer, timeline = VideoAnalyzer(classifier, settings), Timeline(classifier.emotions)
        for frame in reader.frames():
            result = analyzer.process(frame.image, frame.time_s, frame.index)
            timeline.add(result)
            if writer is not None:
                writer.write(annotate_frame(_fit(frame.image, max_side), result, heatmap_opacity), frame.time_s)
            if progress is not None:
                progress(frame.index + 1, info.frame_count)
    return timeline.result(info, settings, time.perf_counter() - started)


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    """The image, or a copy scaled down so that its longer side is ``max_side`` pixels."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
