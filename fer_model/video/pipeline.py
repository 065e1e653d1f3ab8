"""A video file -> tracked faces and emotions over time, and optionally the annotated video: the path the CLI,
the page and the tests share. Frames stream through (read, analyse, draw, encode, forget), so memory does not
grow with the length of the video; only the numbers per face and frame are kept.

The work is spread over threads, each running torch on a share of its threads, a few frames apart: one
decodes and locates the faces (follow, detect, align), two score the located crops (the network, the costly
part, which needs no state), and the caller's thread smooths, explains, draws and encodes in frame order.
On 2 cores that beats torch running each frame on both cores, which gains little on a face or two.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import torch
from PIL import Image

from ..classifier import EmotionClassifier
from ..pipeline import default_classifier
from .analyzer import LocatedFrame, VideoAnalyzer, VideoSettings
from .annotate import annotate_frame
from .reader import Frame, VideoLimits, VideoReader, VideoSource
from .timeline import Timeline, VideoResult
from .writer import VideoWriter, check_video_path, staged

DEFAULT_MAX_SIDE = 1280  # the annotated video's longer side at most, in pixels: encoding 4K costs more than analysis
_AHEAD = 4  # frames located ahead of classification at most (each holds its decoded picture)
_SCORING_THREADS = 2


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
        outputs.enter_context(_threads_per_stage())
        for frame, located, scores in outputs.enter_context(_scored_ahead(reader.frames(), analyzer)):
            result = analyzer.classify(located, scores.result())
            timeline.add(result)
            if writer is not None:
                writer.write(annotate_frame(_fit(frame.image, max_side), result, heatmap_opacity), frame.time_s)
            if progress is not None:
                progress(frame.index + 1, info.frame_count)
    return timeline.result(info, settings, time.perf_counter() - started)


@contextlib.contextmanager
def _threads_per_stage() -> Iterator[None]:
    """Torch's threads split between the scoring threads (the setting is process-wide), then restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // _SCORING_THREADS))
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _scored_ahead(
    frames: Iterable[Frame], analyzer: VideoAnalyzer
) -> Iterator[Iterator[tuple[Frame, LocatedFrame, Future]]]:
    """The frames, in order, with their located faces and the future of their scores (:meth:`VideoAnalyzer.score`),
    located on a worker thread up to _AHEAD frames ahead of the caller and scored on _SCORING_THREADS more. The
    worker's errors (an unreadable frame) are raised in the caller; leaving the block stops the threads first,
    so the video can be closed safely."""
    done, stop = object(), threading.Event()
    ready: queue.Queue = queue.Queue(maxsize=_AHEAD)
    scoring = ThreadPoolExecutor(_SCORING_THREADS, thread_name_prefix="video-score")

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for frame in frames:
                located = analyzer.locate(frame.image, frame.time_s, frame.index)
                if not put((frame, located, scoring.submit(analyzer.score, located))):
                    return
        except BaseException as error:  # handed to the caller, which raises it
            put(error)
        else:
            put(done)

    def results() -> Iterator[tuple[Frame, LocatedFrame, Future]]:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item

    worker = threading.Thread(target=work, name="video-locate", daemon=True)
    worker.start()
    try:
        yield results()
    finally:
        stop.set()
        worker.join()
        scoring.shutdown(cancel_futures=True)


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    """The image, or a copy scaled down so that its longer side is ``max_side`` pixels."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
