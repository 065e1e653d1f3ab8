"""A frame and its tracked faces -> the picture people watch: boxes, "track emotion %" labels, heat maps.

Drawn by :func:`fer_model.annotate_photo`, so photos and videos look alike; the number on each label is the
track id, and the emotion and percentage are the smoothed reading (steadier to watch than single frames).
"""

from __future__ import annotations

from PIL import Image

from ..pipeline import FaceResult, PhotoResult
from ..report import annotate_photo
from .analyzer import FrameResult


def annotate_frame(image: Image.Image, frame: FrameResult, heatmap_opacity: float = 0.0) -> Image.Image:
    """A copy of ``image`` (the frame, or a smaller copy of it) with each face's box and label, as RGB of the
    same size; with ``heatmap_opacity`` > 0, the faces' heat maps (where computed) blended in first."""
    faces = [
        FaceResult(
            index=face.track,
            box=face.box,
            landmarks=face.landmarks,
            detector_confidence=face.confidence,
            probabilities=face.smoothed,
            top_emotion=face.top_emotion,
            crop=face.crop,
            photo_to_crop=face.photo_to_crop,
            heatmap=face.heatmap,
            heatmap_emotion=face.heatmap_emotion,
        )
        for face in frame.faces
    ]
    result = PhotoResult(faces=faces, width=frame.width, height=frame.height, timings_ms={}, photo=image)
    return annotate_photo(result, heatmap_opacity=heatmap_opacity)
