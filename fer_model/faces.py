"""Photo -> faces: MTCNN boxes and landmarks, then eye-line aligned 48x48 grayscale crops.

Detection runs on a copy downscaled to at most ``max_detect_side`` pixels, so a 12-megapixel phone
photo costs about what a 1-megapixel one does; boxes and landmarks come back in photo pixels.
Alignment keeps its affine transform, so anything computed on a crop (a heat map) maps back.

Coordinates are continuous pixel coordinates: pixel (i, j) covers [j, j + 1] x [i, i + 1].
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from facenet_pytorch import MTCNN
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from . import cascade

# MTCNN's smallest search window: faces smaller than this in the downscaled copy cannot be found.
_MTCNN_WINDOW = 12
# Where MTCNN puts the five landmarks (left eye, right eye, nose, mouth left, mouth right) on FER2013
# faces, in units of the crop side: medians over 243 PublicTest faces upscaled 4x so that MTCNN finds
# them, made left-right symmetric (eyes at y 0.40, 0.375 apart; mouth at y 0.79).
_FER2013_LANDMARKS = np.array([[15.0, 19.1], [33.0, 19.1], [24.0, 29.4], [16.5, 38.0], [31.5, 38.0]]) / 48
# How much larger than in FER2013 the face is drawn (> 1: tighter crop). Chosen by
# ``python -m benchmarks.framing`` with the shipped weights on the 598 photos of taiwan-dev: of zooms
# 1.0-1.4, 1.3 gave the highest accuracy and mean log probability of the right expression
# (benchmarks/results/framing.json).
FRAMING_ZOOM = 1.3
# Supersampling for the warp: bilinear sampling of a large face straight to 48x48 would alias.
_SUPERSAMPLE = 4
# A first pass whose smallest face is under this many times its size limit looks again, for faces just under it.
_CLOSE_TO_LIMIT = 1.5
# MTCNN's image pyramid: each scale searched is this times the one before (MTCNN's own default).
_PYRAMID_FACTOR = 0.709


@dataclass(frozen=True)
class DetectionSettings:
    """threshold: MTCNN's final-stage confidence in [0, 1]; sizes in pixels of the original photo. Each
    candidate the first stage proposes is cropped and resized one by one for the later stages, by the hundred
    on a group photo: only the ``max_proposals`` most confident go on (None: all), unless the faces found make
    a crowd (:mod:`fer_model.cascade`). Higher ``proposal_thresholds`` also make it faster.

    Faces whose box is smaller than ``min_face_size`` pixels, or ``min_face_fraction`` of the photo's
    shorter side, on its longer side are dropped; the detector does not even look for them, which is what
    makes it fast (its cost grows with (shorter side / smallest face)^2). When that finds no face, or (with
    ``rescan_near_limit``) its smallest face is close to the limit, where a crowd of faces that size may have
    more just under it, a second pass looks down to ``min_face_size``. Detection runs on a copy whose longer
    side is at most ``max_detect_side``, where faces under 12 pixels cannot be found. Defaults chosen by
    ``python -m benchmarks.detection``.
    """

    threshold: float = 0.9
    # MTCNN's first two stages: candidates scoring under these are dropped before the next stage looks.
    proposal_thresholds: tuple[float, float] = (0.7, 0.7)
    max_proposals: int | None = 64
    min_face_size: int = 20
    min_face_fraction: float = 0.08
    rescan_near_limit: bool = True
    max_detect_side: int = 640
    # Coarser pyramids (smaller factors) are faster but move the landmarks (benchmarks.detection).
    pyramid_factor: float = _PYRAMID_FACTOR


@dataclass(frozen=True)
class DetectedFace:
    """box: (x1, y1, x2, y2) clamped to the photo; landmarks: float32 (5, 2) (x, y) of left eye, right
    eye, nose, mouth left, mouth right; all in photo pixels. confidence: MTCNN's score in [0, 1]."""

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray


def detect_faces(photo: Image.Image, settings: DetectionSettings = DetectionSettings()) -> list[DetectedFace]:
    """Every face in an RGB photo, ordered left to right; an empty list when there is none (also when the
    photo is smaller than the minimum face size)."""
    width, height = photo.size
    scale = min(1.0, settings.max_detect_side / max(width, height))
    small_size = [round(height * scale), round(width * scale)]
    if min(small_size) < _MTCNN_WINDOW:  # a strip too thin to hold a face once scaled down
        return []
    small = torch.from_numpy(np.array(photo)).permute(2, 0, 1)
    if scale < 1.0:
        # Pillow's bicubic filter, within one grey level, from torch's vectorised uint8 kernel: several times faster.
        small = TF.resize(small, small_size, interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
    small = small.float().contiguous()  # separate planes: MTCNN crops its candidates faster from them
    min_face = max(settings.min_face_size, settings.min_face_fraction * min(width, height))
    faces = _detect(small, photo.size, min_face, settings)
    near_limit = settings.rescan_near_limit and min(map(_side, faces), default=0.0) < _CLOSE_TO_LIMIT * min_face
    if (near_limit or not faces) and min_face > settings.min_face_size:
        faces = _detect(small, photo.size, settings.min_face_size, settings)
    return faces


def _detect(
    small: torch.Tensor, size: tuple[int, int], min_face: float, settings: DetectionSettings
) -> list[DetectedFace]:
    """MTCNN on ``small``, float32 (3, h, w), the photo of ``size`` (w, h) scaled down; results in photo pixels,
    faces >= ``min_face``."""
    width, height = size
    scale = small.shape[2] / width
    min_size = max(_MTCNN_WINDOW, int(min_face * scale))
    if min(small.shape[1:]) < min_size:  # MTCNN would scan no scale at all (and fail)
        return []
    thresholds = (*settings.proposal_thresholds, settings.threshold)
    boxes, confidences, landmarks = cascade.detect(
        mtcnn(), small, min_size, thresholds, settings.pyramid_factor, settings.max_proposals
    )
    boxes = boxes.astype(np.float64) / scale  # back to photo pixels
    landmarks = (landmarks.astype(np.float64) / scale).astype(np.float32)
    boxes = boxes.clip(0, [width, height, width, height])
    faces = [
        DetectedFace(tuple(float(v) for v in box), float(confidence), points)
        for box, confidence, points in zip(boxes, confidences, landmarks, strict=True)
    ]
    faces = [face for face in faces if _side(face) >= min_face]  # MTCNN's own limit is loose
    return sorted(faces, key=lambda face: face.box[0] + face.box[2])


def _side(face: DetectedFace) -> float:
    """The longer side of a face's box, which the size limits apply to."""
    x1, y1, x2, y2 = face.box
    return max(x2 - x1, y2 - y1)


@functools.lru_cache(maxsize=8)
def mtcnn(
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    min_face_size: int = 20,
    pyramid_factor: float = _PYRAMID_FACTOR,
) -> MTCNN:
    """One facenet-pytorch detector per setting (its weights ship in the wheel; nothing downloads). Photos go
    through :mod:`fer_model.cascade`, which uses the networks of ``mtcnn()`` with its own settings."""
    detector = MTCNN(
        keep_all=True,
        min_face_size=min_face_size,
        thresholds=list(thresholds),
        factor=pyramid_factor,
        device=torch.device("cpu"),
    )
    # Channels-last weights make every layer's output channels-last, where max-pooling is vectorised: the
    # first stage's pooling over the whole pyramid was the largest single cost (benchmarks.profile_analyze).
    return detector.to(memory_format=torch.channels_last)


def align_face(
    photo: Image.Image, landmarks: np.ndarray, size: int = 48, zoom: float = FRAMING_ZOOM
) -> tuple[np.ndarray, np.ndarray]:
    """Crop one face FER2013-style: eye line horizontal, grayscale. ``photo``: RGB, or already grayscale (mode "L",
    the same crop): converting a photo once is faster than for each of its faces.

    Returns the crop, uint8 (size, size), and ``photo_to_crop`` (:func:`face_transform`).
    """
    photo_to_crop = face_transform(landmarks, size, zoom)
    big = size * _SUPERSAMPLE
    big_to_photo = invert_affine(photo_to_crop * _SUPERSAMPLE)
    gray = photo if photo.mode == "L" else photo.convert("L")  # then one channel to warp, not three
    warped = gray.transform((big, big), Image.Transform.AFFINE, big_to_photo.ravel(), Image.Resampling.BILINEAR)
    return np.array(warped.reduce(_SUPERSAMPLE)), photo_to_crop


def face_transform(landmarks: np.ndarray, size: int = 48, zoom: float = FRAMING_ZOOM) -> np.ndarray:
    """The float64 (2, 3) affine taking photo pixels (x, y) to the pixels of a face's crop, from its five
    landmarks. The rotation levels the eyes; scale and shift are the least-squares fit of all five landmarks
    to where FER2013 faces have them, scaled by ``zoom`` about the centre."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    dx, dy = landmarks[1] - landmarks[0]
    cos, sin = dx / math.hypot(dx, dy), dy / math.hypot(dx, dy)
    rotation = np.array([[cos, sin], [-sin, cos]])  # rotates the eye line onto the x axis
    rotated = landmarks @ rotation.T
    template = (0.5 + zoom * (_FER2013_LANDMARKS - 0.5)) * size
    centred = rotated - rotated.mean(axis=0)
    scale = (centred * (template - template.mean(axis=0))).sum() / (centred**2).sum()
    shift = template.mean(axis=0) - scale * rotated.mean(axis=0)
    return np.hstack([scale * rotation, shift[:, None]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine to (N, 2) points (x, y)."""
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine, as (2, 3)."""
    return np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
