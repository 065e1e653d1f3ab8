"""One batch worker: a model loaded once, and sources in -> result rows and a manifest row per source out.

Photos go through :func:`fer_model.analyze`, videos through the video path (:class:`VideoAnalyzer`: faces
tracked between detections, every ``every``-th frame analysed). Whatever one source does, the others still
run: its manifest row then carries the error message, and it adds no result rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa
import torch

from ..classifier import EmotionClassifier
from ..image_io import ImageError
from ..model import DEFAULT_WEIGHTS
from ..pipeline import analysis_failure, analyze
from ..video import VideoAnalyzer, VideoError, VideoLimits, VideoReader, VideoSettings
from .sources import Source
from .table import face_row, results_schema

# Batch jobs take recorded sessions: hours, not the app's ten minutes.
BATCH_VIDEO_LIMITS = VideoLimits(max_seconds=6 * 3600)


@dataclass(frozen=True)
class BatchOptions:
    """weights: the model; explain: heat maps and region shares per face; every: analyse every k-th video
    frame (faces are followed between detections as in the video path); tta: flip averaging."""

    weights: str = str(DEFAULT_WEIGHTS)
    explain: bool = True
    every: int = 1
    tta: bool = True

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"--every must be at least 1 (every k-th video frame), got {self.every}")


class Worker:
    """Analyses sources with one model; ``threads``: torch's thread count in this process."""

    def __init__(self, options: BatchOptions, threads: int | None = None):
        if threads is not None:
            torch.set_num_threads(threads)
        self.options = options
        self.classifier = EmotionClassifier.load(options.weights)

    @property
    def schema(self) -> pa.Schema:
        """The results table's schema for this model's emotions."""
        return results_schema(self.classifier.emotions)

    def process(self, sources: list[Source]) -> tuple[list[dict], list[dict]]:
        """Result rows of all ``sources`` and one manifest row each (its key, kind, faces, error, seconds)."""
        rows, manifest = [], []
        for source in sources:
            started = time.perf_counter()
            try:
                found = self._photo_rows(source) if source.kind == "photo" else self._video_rows(source)
                error = None
            except (ImageError, VideoError, OSError) as problem:
                found, error = [], str(problem)
            except Exception as problem:  # a bug, or out of memory: reported for this source alone
                found, error = [], analysis_failure(problem)
            rows += found
            manifest.append(
                {
                    "source": source.name,
                    "size": source.size,
                    "mtime_ns": source.mtime_ns,
                    "kind": source.kind,
                    "rows": len(found),
                    "error": error,
                    "seconds": time.perf_counter() - started,
                }
            )
        return rows, manifest

    def _photo_rows(self, source: Source) -> list[dict]:
        result = analyze(source.read(), self.classifier, tta=self.options.tta, explain=self.options.explain)
        return [
            face_row(
                source.name,
                "photo",
                frame=0,
                time_s=None,
                face=face.index,
                box=face.box,
                confidence=face.detector_confidence,
                probabilities=face.probabilities,
                top_emotion=face.top_emotion,
                region_shares=face.region_shares,
            )
            for face in result.faces
        ]

    def _video_rows(self, source: Source) -> list[dict]:
        # No smoothing: each row holds its own frame's calibrated probabilities, and the heat map explains them.
        settings = VideoSettings(smoothing_s=0.0, explain=self.options.explain, tta=self.options.tta)
        analyzer, rows = VideoAnalyzer(self.classifier, settings), []
        with VideoReader(source.read(), BATCH_VIDEO_LIMITS) as reader:
            for frame in reader.frames():
                if frame.index % self.options.every:
                    continue
                result = analyzer.process(frame.image, frame.time_s, frame.index)
                for face in result.faces:
                    rows.append(
                        face_row(
                            source.name,
                            "video",
                            frame=frame.index,
                            time_s=frame.time_s,
                            face=face.track,
                            box=face.box,
                            confidence=face.confidence,
                            probabilities=face.probabilities,
                            top_emotion=face.top_emotion,
                            region_shares=face.region_shares,
                        )
                    )
        return rows
