"""A :class:`VideoResult` -> what people read: the per-frame CSV table and the per-person JSON summary."""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np

from .timeline import TrackSeries, VideoResult

# The first columns of the CSV; then one column per emotion (this frame's calibrated probability),
# top_emotion (their top), smoothed_<emotion> columns and smoothed_top_emotion.
CSV_COLUMNS = ("time_s", "frame", "track", "x1", "y1", "x2", "y2", "detected")


def csv_columns(emotions: tuple[str, ...]) -> list[str]:
    """The CSV header for a model's ``emotions``, in order."""
    return [*CSV_COLUMNS, *emotions, "top_emotion", *(f"smoothed_{e}" for e in emotions), "smoothed_top_emotion"]


def frames_csv(result: VideoResult) -> str:
    """CSV text with a header: one row per face and frame, ordered by frame, then track. Times in seconds,
    boxes in frame pixels, probabilities in [0, 1] to 4 decimals; frames without faces have no row."""
    emotions = result.emotions
    rows = []
    for series in result.tracks:
        for i in range(len(series.frames)):
            raw, smooth = series.probabilities[i], series.smoothed[i]
            rows.append(
                [
                    f"{series.times_s[i]:.3f}",
                    int(series.frames[i]),
                    series.track,
                    *(f"{v:.1f}" for v in series.boxes[i]),
                    int(series.detected[i]),
                    *(f"{p:.4f}" for p in raw),
                    emotions[int(np.argmax(raw))],
                    *(f"{p:.4f}" for p in smooth),
                    emotions[int(np.argmax(smooth))],
                ]
            )
    rows.sort(key=lambda row: (row[1], row[2]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_columns(emotions))
    writer.writerows(rows)
    return buffer.getvalue()


def summary(result: VideoResult) -> dict:
    """A JSON-serialisable summary: the video, the settings, the speed, and per track its time on screen
    (seconds), first and last time seen, frames, the share of its time each emotion was the (smoothed) top
    one and its top emotion by that share, and the time-weighted mean calibrated probabilities."""
    info = result.info
    return {
        "video": {
            "width": info.width,
            "height": info.height,
            "rotation": info.rotation,
            "frames": result.frame_count,
            "duration_s": round(result.duration_s, 3),
            "frame_rate": None if info.frame_rate is None else round(info.frame_rate, 3),
            "codec": info.codec,
            "container": info.container,
        },
        "emotions": list(result.emotions),
        "settings": dataclasses.asdict(result.settings),
        "analysis": {"seconds": round(result.seconds, 2), "frames_per_second": round(result.frames_per_second, 2)},
        "tracks": [_track_summary(series) for series in result.tracks],
    }


def _track_summary(series: TrackSeries) -> dict:
    shares = series.time_shares()
    return {
        "track": series.track,
        "first_s": round(float(series.times_s[0]), 3),
        "last_s": round(float(series.times_s[-1]), 3),
        "time_on_screen_s": round(series.time_on_screen_s, 3),
        "frames": len(series.frames),
        "detected_frames": int(series.detected.sum()),
        "top_emotion": max(shares, key=shares.get),
        "time_share": {e: round(v, 4) for e, v in shares.items()},
        "mean_probabilities": {e: round(v, 4) for e, v in series.mean_probabilities().items()},
    }


def format_tracks(result: VideoResult) -> str:
    """A text table, one line per track: time on screen, top emotion and its share, mean probabilities."""
    if not result.tracks:
        return "no faces found"
    header = ["track", "on screen", "frames", "top (share)", *result.emotions]
    rows = []
    for series in result.tracks:
        shares, means = series.time_shares(), series.mean_probabilities()
        top = max(shares, key=shares.get)
        rows.append(
            [
                str(series.track),
                f"{series.times_s[0]:.1f}-{series.times_s[-1] + series.durations_s[-1]:.1f} s",
                str(len(series.frames)),
                f"{top} ({shares[top]:.0%})",
                *(f"{means[e]:.3f}" for e in result.emotions),
            ]
        )
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
