"""Video: files and live frames -> tracked faces -> calibrated emotions over time -> annotated video, CSV, JSON.

Files: :func:`analyze_video` (a path, bytes or file object in; a :class:`VideoResult` out, and the annotated
video written where asked), then :func:`frames_csv` and :func:`summary`. Live frames: one
:class:`VideoAnalyzer` per stream, ``process(image, time_s)`` per frame, :func:`annotate_frame` to draw.
"""

from .analyzer import FrameResult, TrackedFace, VideoAnalyzer, VideoSettings
from .annotate import annotate_frame
from .pipeline import analyze_video
from .reader import (
    CorruptVideoError,
    EmptyVideoError,
    NoFramesError,
    NotAVideoError,
    NoVideoStreamError,
    VideoError,
    VideoInfo,
    VideoLimits,
    VideoReader,
    VideoTooLargeError,
    VideoTooLongError,
    read_video_info,
    rgb_image,
)
from .tables import csv_columns, format_tracks, frames_csv, summary
from .timeline import TrackSeries, VideoResult
from .writer import VideoWriter

__all__ = [
    "CorruptVideoError",
    "EmptyVideoError",
    "FrameResult",
    "NoFramesError",
    "NoVideoStreamError",
    "NotAVideoError",
    "TrackSeries",
    "TrackedFace",
    "VideoAnalyzer",
    "VideoError",
    "VideoInfo",
    "VideoLimits",
    "VideoReader",
    "VideoResult",
    "VideoSettings",
    "VideoTooLargeError",
    "VideoTooLongError",
    "VideoWriter",
    "analyze_video",
    "annotate_frame",
    "csv_columns",
    "format_tracks",
    "frames_csv",
    "read_video_info",
    "rgb_image",
    "summary",
]
