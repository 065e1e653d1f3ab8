"""The results table of a batch job: one row per face per photo or per analysed video frame.

Columns (see :func:`results_schema`): source (absolute path, ``archive.zip!member`` for archive members),
kind ("photo" or "video"), frame (0 for photos) and time_s (seconds from the video's first frame, null for
photos), face (left-to-right number in a photo, the person's track id in a video), the box x1, y1, x2, y2 in
the photo's or frame's pixels, detector_confidence, one column per emotion (calibrated probabilities,
summing to 1), top_emotion, and the heat map's share of each face region (``cam_eyes_brows`` ...; null
when heat maps are off). The errors table has source and message.
"""

from __future__ import annotations

import pyarrow as pa

from ..explain import REGIONS

REGION_COLUMNS = tuple(f"cam_{region}" for region in REGIONS)
ERRORS_SCHEMA = pa.schema([("source", pa.string()), ("message", pa.string())])


def results_schema(emotions: tuple[str, ...]) -> pa.Schema:
    """The results table's schema for a model's ``emotions``."""
    return pa.schema(
        [
            ("source", pa.string()),
            ("kind", pa.string()),
            ("frame", pa.int64()),
            ("time_s", pa.float64()),
            ("face", pa.int32()),
            *((name, pa.float32()) for name in ("x1", "y1", "x2", "y2", "detector_confidence")),
            *((emotion, pa.float32()) for emotion in emotions),
            ("top_emotion", pa.string()),
            *((name, pa.float32()) for name in REGION_COLUMNS),
        ]
    )


def face_row(
    source: str,
    kind: str,
    *,
    frame: int,
    time_s: float | None,
    face: int,
    box,
    confidence: float,
    probabilities: dict[str, float],
    top_emotion: str,
    region_shares: dict[str, float] | None,
) -> dict:
    """One row of the results table, as a dict in the schema's column order."""
    shares = region_shares or {}
    return {
        "source": source,
        "kind": kind,
        "frame": frame,
        "time_s": time_s,
        "face": face,
        **dict(zip(("x1", "y1", "x2", "y2"), map(float, box), strict=True)),
        "detector_confidence": float(confidence),
        **probabilities,
        "top_emotion": top_emotion,
        **{column: shares.get(region) for column, region in zip(REGION_COLUMNS, REGIONS, strict=True)},
    }
