"""Re-frame FER2013 training faces the way the photo pipeline frames faces it finds.

At inference every face is cropped by :func:`faces.align_face` from MTCNN's five landmarks (eyes level,
landmarks at FER2013's median positions); FER2013's own crops vary around those positions. Here MTCNN finds
each training face's landmarks on a 4x upscaled copy (it misses most faces at 48x48), and the original
48x48 pixels are warped by the same transform (:func:`faces.face_transform`, zoom 1.0: FER2013's framing),
bicubic, as the face is already at crop scale, and edge-padded where the new frame reaches past the old one.
Faces MTCNN does not find, or finds at a scale far from FER2013's (a wrong detection, mostly), are kept as
they are. Results are cached next to the decoded data set, keyed by the pixels.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..faces import face_transform, invert_affine, mtcnn
from .dataset import cache_dir

log = logging.getLogger(__name__)

_METHOD_VERSION = 1  # part of the cache's name: raise it when the re-framing changes
_UPSCALE = 4
# MTCNN's stage thresholds on upscaled 48x48 faces: its defaults, looser than the photo pipeline's,
# because there is exactly one face to find and nothing else in the picture.
_THRESHOLDS = (0.6, 0.7, 0.7)
_MIN_FACE = 40  # pixels of the upscaled face, which fills it: no need to scan smaller scales
# Re-framings that would draw the face larger than this, or smaller (which needs made-up surroundings) than
# the inverse of the second, are not trusted.
_MAX_ZOOM_IN, _MAX_ZOOM_OUT = 1.25, 1.1


def realign_faces(images: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 48, 48) faces -> (re-framed uint8 (N, 48, 48), bool (N,) whether it was re-framed)."""
    key = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:20]
    cache_file = cache_dir() / f"realigned-v{_METHOD_VERSION}-{key}.npz"
    if cache_file.exists():
        with np.load(cache_file) as cached:
            return cached["images"], cached["found"]
    aligned, found = images.copy(), np.zeros(len(images), dtype=bool)
    size = images.shape[-1]
    big, pad = size * _UPSCALE, size // 2
    detector = mtcnn(_THRESHOLDS, _MIN_FACE)
    for start in tqdm(range(0, len(images), chunk), desc="re-aligning faces", unit="chunk", disable=None):
        upscaled = np.stack(
            [
                np.asarray(Image.fromarray(face).resize((big, big), Image.Resampling.BICUBIC))
                for face in images[start : start + chunk]
            ]
        )
        boxes, _, landmarks = detector.detect(np.repeat(upscaled[..., None], 3, axis=-1), landmarks=True)
        for offset, (face_boxes, face_landmarks) in enumerate(zip(boxes, landmarks, strict=True)):
            if face_boxes is None:
                continue
            face_boxes = np.asarray(face_boxes, dtype=np.float64)
            largest = np.argmax((face_boxes[:, 2] - face_boxes[:, 0]) * (face_boxes[:, 3] - face_boxes[:, 1]))
            points = np.asarray(face_landmarks[largest], dtype=np.float64) / _UPSCALE + pad
            photo_to_crop = face_transform(points, size, zoom=1.0)
            if 1 / _MAX_ZOOM_OUT <= np.hypot(*photo_to_crop[0, :2]) <= _MAX_ZOOM_IN:
                padded = Image.fromarray(np.pad(images[start + offset], pad, mode="edge"))
                inverse = invert_affine(photo_to_crop).ravel()
                crop = padded.transform((size, size), Image.Transform.AFFINE, inverse, Image.Resampling.BICUBIC)
                aligned[start + offset], found[start + offset] = np.asarray(crop), True
    log.info(
        "re-aligned %d of %d faces (the rest, not found or found at an odd scale, kept as they were)",
        found.sum(),
        len(found),
    )
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez(tmp, images=aligned, found=found)
    tmp.replace(cache_file)
    return aligned, found
