"""Per-frame results -> each person's readings over time: the arrays a chart, the CSV and the summary read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analyzer import FrameResult, VideoSettings
from .reader import VideoInfo


@dataclass(frozen=True, eq=False)
class TrackSeries:
    """One person's readings, one row per frame they are on screen (T rows), in time order.

    frames: int64 (T,) frame numbers; times_s: float64 (T,) seconds from the first frame; durations_s:
    float64 (T,) the seconds each reading stands for (until the video's next frame); boxes: float32 (T, 4)
    (x1, y1, x2, y2) in frame pixels; detected: bool (T,) whether the detector placed the box on that frame;
    probabilities: float32 (T, C) calibrated, in ``emotions`` order, rows summing to 1; smoothed: float32
    (T, C) their exponential moving average.
    """

    track: int
    emotions: tuple[str, ...]
    frames: np.ndarray
    times_s: np.ndarray
    durations_s: np.ndarray
    boxes: np.ndarray
    detected: np.ndarray
    probabilities: np.ndarray
    smoothed: np.ndarray

    @property
    def top_emotions(self) -> list[str]:
        """The smoothed top emotion on each of the T frames."""
        return [self.emotions[i] for i in np.argmax(self.smoothed, axis=1)]

    @property
    def time_on_screen_s(self) -> float:
        return float(self.durations_s.sum())

    def time_shares(self) -> dict[str, float]:
        """Share of the time on screen in which each emotion was the smoothed top one; sums to 1."""
        time = np.bincount(np.argmax(self.smoothed, axis=1), self.durations_s, minlength=len(self.emotions))
        return dict(zip(self.emotions, (time / max(time.sum(), 1e-12)).tolist(), strict=True))

    def mean_probabilities(self) -> dict[str, float]:
        """The calibrated probabilities averaged over the time on screen (each frame weighted by its duration)."""
        weights = self.durations_s / max(self.durations_s.sum(), 1e-12)
        return dict(zip(self.emotions, (weights @ self.probabilities.astype(np.float64)).tolist(), strict=True))


@dataclass(frozen=True, eq=False)
class VideoResult:
    """A whole analysed video. frame_times_s: float64 (F,) the time of every frame, faces or not;
    duration_s: the analysed length in seconds (last frame's time plus its duration); tracks: ordered by id;
    seconds: the wall time the analysis took."""

    info: VideoInfo
    settings: VideoSettings
    emotions: tuple[str, ...]
    frame_times_s: np.ndarray
    duration_s: float
    tracks: list[TrackSeries]
    seconds: float

    @property
    def frame_count(self) -> int:
        return len(self.frame_times_s)

    @property
    def frames_per_second(self) -> float:
        """Frames analysed per second of wall time."""
        return self.frame_count / self.seconds if self.seconds > 0 else float("inf")


class Timeline:
    """Collects :class:`FrameResult` s in frame order (:meth:`add`), then builds the :class:`VideoResult`."""

    def __init__(self, emotions: tuple[str, ...]):
        self.emotions = emotions
        self._times: list[float] = []
        self._rows: dict[int, list[tuple]] = {}

    def add(self, frame: FrameResult) -> None:
        position = len(self._times)  # rows refer to positions: durations come from the next frame's time
        self._times.append(frame.time_s)
        for face in frame.faces:
            row = (
                position,
                frame.index,
                face.box,
                face.detected,
                [face.probabilities[e] for e in self.emotions],
                [face.smoothed[e] for e in self.emotions],
            )
            self._rows.setdefault(face.track, []).append(row)

    def result(self, info: VideoInfo, settings: VideoSettings, seconds: float) -> VideoResult:
        times = np.asarray(self._times, dtype=np.float64)
        durations = _durations(times, info.frame_rate)
        tracks = []
        for track, rows in sorted(self._rows.items()):
            positions = np.array([row[0] for row in rows], dtype=np.int64)
            tracks.append(
                TrackSeries(
                    track=track,
                    emotions=self.emotions,
                    frames=np.array([row[1] for row in rows], dtype=np.int64),
                    times_s=times[positions],
                    durations_s=durations[positions],
                    boxes=np.array([row[2] for row in rows], dtype=np.float32).reshape(-1, 4),
                    detected=np.array([row[3] for row in rows], dtype=bool),
                    probabilities=np.array([row[4] for row in rows], dtype=np.float32),
                    smoothed=np.array([row[5] for row in rows], dtype=np.float32),
                )
            )
        duration = float(times[-1] + durations[-1]) if len(times) else 0.0
        return VideoResult(info, settings, self.emotions, times, duration, tracks, seconds)


def _durations(times: np.ndarray, frame_rate: float | None) -> np.ndarray:
    """Seconds from each frame to the next; the last frame lasts the typical interval (the median one, else
    1 / frame rate, else 1/30 s)."""
    if len(times) == 0:
        return times.copy()
    gaps = np.diff(times)
    last = float(np.median(gaps)) if len(gaps) else (1 / frame_rate if frame_rate else 1 / 30)
    return np.append(gaps, last)
