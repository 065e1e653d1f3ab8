"""Image -> faces -> aligned crops -> calibrated probabilities -> heat maps: the path the app, CLI and tests share."""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from PIL import Image

from .classifier import EmotionClassifier
from .explain import DEFAULT_CAM_METHOD, face_region_shares, heatmaps
from .faces import DetectionSettings, align_face, detect_faces
from .image_io import load_image

_STAGES = ("load", "detect", "classify", "explain")


@dataclass(frozen=True, eq=False)
class FaceResult:
    """One face of a photo.

    index: 1-based, faces numbered left to right. box (x1, y1, x2, y2) and landmarks float32 (5, 2) are
    in photo pixels; detector_confidence is MTCNN's score in [0, 1]. probabilities: calibrated, in the
    weights' emotion order, summing to 1. crop: the aligned uint8 (48, 48) face the model saw, and
    photo_to_crop the float64 (2, 3) affine that made it. heatmap: float32 (48, 48) in [0, 1] explaining
    heatmap_emotion, with region_shares its split over eyes_brows, nose, mouth and rest (None until explained).
    """

    index: int
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    detector_confidence: float
    probabilities: dict[str, float]
    top_emotion: str
    crop: np.ndarray
    photo_to_crop: np.ndarray
    heatmap: np.ndarray | None = None
    heatmap_emotion: str | None = None
    region_shares: dict[str, float] | None = None


@dataclass(frozen=True, eq=False)
class PhotoResult:
    """All faces of one photo (none is a normal result), its size in pixels and stage timings in ms.

    photo: the upright RGB photo that was analysed, for drawing on it (:func:`fer_model.annotate_photo`). It
    may be swapped for a smaller copy of the same shape (``dataclasses.replace``) to save memory; boxes and
    landmarks stay in the pixels of the analysed ``width`` x ``height`` photo.
    """

    faces: list[FaceResult]
    width: int
    height: int
    timings_ms: dict[str, float]
    photo: Image.Image


def analyze(
    image,
    classifier: EmotionClassifier | None = None,
    *,
    settings: DetectionSettings = DetectionSettings(),  # noqa: B008 (frozen: a shared default is safe)
    tta: bool = True,
    explain: bool = True,
    cam_method: str = DEFAULT_CAM_METHOD,
) -> PhotoResult:
    """Find, classify and (with ``explain``) explain every face in ``image``.

    ``image``: anything :func:`fer_model.load_image` accepts (its :class:`ImageError` propagates).
    ``classifier``: None uses the shipped weights, loaded once per process. All faces go through the
    model in one batch; heat maps explain each face's top emotion. timings_ms has "load", "detect"
    (detection and alignment), "classify", "explain" and "total".
    """
    classifier = classifier if classifier is not None else default_classifier()
    marks = [time.perf_counter()]
    photo = load_image(image)
    marks.append(time.perf_counter())

    detected = detect_faces(photo, settings)
    gray = photo.convert("L") if detected else None
    aligned = [align_face(gray, face.landmarks, classifier.meta.image_size) for face in detected]
    marks.append(time.perf_counter())

    faces, features = [], None
    if detected:
        logits, features = classifier.classify(classifier.to_input(np.stack([crop for crop, _ in aligned])), tta)
        probabilities = classifier.calibrate(logits)
        for index, (face, (crop, photo_to_crop), row) in enumerate(zip(detected, aligned, probabilities, strict=True)):
            faces.append(
                FaceResult(
                    index=index + 1,
                    box=face.box,
                    landmarks=face.landmarks,
                    detector_confidence=face.confidence,
                    probabilities={emotion: float(p) for emotion, p in zip(classifier.emotions, row, strict=True)},
                    top_emotion=classifier.emotions[int(np.argmax(row))],
                    crop=crop,
                    photo_to_crop=photo_to_crop,
                )
            )
    marks.append(time.perf_counter())

    if explain and faces:
        faces = _explained(classifier, faces, [face.top_emotion for face in faces], cam_method, features)
    marks.append(time.perf_counter())

    timings = {name: (end - start) * 1000 for name, (start, end) in zip(_STAGES, pairwise(marks), strict=True)}
    timings["total"] = (marks[-1] - marks[0]) * 1000
    return PhotoResult(faces=faces, width=photo.width, height=photo.height, timings_ms=timings, photo=photo)


def explain_face(
    classifier: EmotionClassifier | None, face: FaceResult, emotion: str, method: str = DEFAULT_CAM_METHOD
) -> FaceResult:
    """A copy of ``face`` with its heat map and region shares for ``emotion`` (any of the weights' emotions)."""
    classifier = classifier if classifier is not None else default_classifier()
    return _explained(classifier, [face], [emotion], method)[0]


def _explained(
    classifier: EmotionClassifier, faces: list[FaceResult], emotions: list[str], method: str, features=None
) -> list[FaceResult]:
    maps = heatmaps(classifier, np.stack([face.crop for face in faces]), emotions, method, features)
    return [
        dataclasses.replace(
            face,
            heatmap=heatmap,
            heatmap_emotion=emotion,
            region_shares=face_region_shares(heatmap, face.photo_to_crop, face.landmarks),
        )
        for face, heatmap, emotion in zip(faces, maps, emotions, strict=True)
    ]


def analysis_failure(error: Exception) -> str:
    """One line for an analysis that failed by a bug or lack of memory, for one file among many."""
    reason = " ".join(f"{type(error).__name__}: {error}".split())  # one line, also for multi-line messages
    return f"analysis failed ({reason})"


@functools.cache
def default_classifier() -> EmotionClassifier:
    """The shipped weights, loaded once per process and shared (the classifier is thread-safe)."""
    return EmotionClassifier.load()
