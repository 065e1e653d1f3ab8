"""Frames in order -> tracked faces with calibrated and smoothed probabilities (and heat maps): the video path
the file analysis, the live camera and the tests share.

Per frame: every track is followed to the new frame (:mod:`fer_model.video.follow`); the detector runs on the
first frame, every ``every``-th frame after the last detection, and on any frame where a track was lost;
its faces are matched to the tracks (:mod:`fer_model.video.tracker`), unmatched faces start new tracks, and a
track that detection misses survives ``max_missed`` detections while following still holds it. Then all
tracks' crops go through the classifier in one batch, with the same test-time procedure as photos.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..classifier import EmotionClassifier
from ..explain import DEFAULT_CAM_METHOD, face_region_shares, heatmaps
from ..faces import DetectionSettings, align_face, detect_faces
from ..pipeline import default_classifier
from .follow import estimate_shift
from .tracker import Box, assign

# Faces in video are usually large, and a detection per few frames must stay cheap: only faces at least a
# tenth of the frame's shorter side (48 pixels at 640x480) are looked for, down to 40 pixels only when none is
# (a second pass for faces near the limit would run on every frame of a person a few metres away).
VIDEO_DETECTION = DetectionSettings(min_face_size=40, min_face_fraction=0.1, rescan_near_limit=False)


@dataclass(frozen=True)
class VideoSettings:
    """How a video is analysed.

    every: run the detector on every k-th frame (1: on all), and also whenever a track is lost.
    smoothing_s: time constant, in seconds, of the exponential moving average of each track's probabilities
    (about the span it averages over; 0 turns smoothing off). explain: a heat map per face and frame for
    its smoothed top emotion, by ``cam_method``. tta: average each face with its mirror image.
    detection: the face detector's settings. min_iou: the least overlap for a detection to continue a track.
    min_follow_score: the least patch correlation in [-1, 1] for following to count (below, the track is
    lost). max_missed: detections in a row a followed track may be missing from before it ends.
    """

    every: int = 5
    smoothing_s: float = 0.5
    explain: bool = True
    cam_method: str = DEFAULT_CAM_METHOD
    tta: bool = True
    detection: DetectionSettings = VIDEO_DETECTION
    min_iou: float = 0.3
    min_follow_score: float = 0.5
    max_missed: int = 1

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"every must be at least 1 (a detection every k-th frame), got {self.every}")
        if self.smoothing_s < 0:
            raise ValueError(f"smoothing_s must be 0 or more seconds, got {self.smoothing_s}")


_DEFAULTS = VideoSettings()


@dataclass(frozen=True, eq=False)
class TrackedFace:
    """One person's face on one frame.

    track: the person's id (1, 2, ... in order of appearance), stable while they stay on screen. box
    (x1, y1, x2, y2) and landmarks float32 (5, 2) in frame pixels; detected: whether they come from the
    detector on this frame (else from following); confidence: the detector's score in [0, 1] when it last
    found this face. probabilities: this frame's calibrated probabilities, in the weights' emotion order,
    summing to 1; smoothed: their exponential moving average over the track; top_emotion: the smoothed
    top. crop: the aligned uint8 (48, 48) face, photo_to_crop: the float64 (2, 3) affine that made it;
    heatmap: float32 (48, 48) in [0, 1] for heatmap_emotion (the top emotion), with region_shares its split over
    eyes_brows, nose, mouth and rest; all None unless explained.
    """

    track: int
    box: Box
    landmarks: np.ndarray
    detected: bool
    confidence: float
    probabilities: dict[str, float]
    smoothed: dict[str, float]
    top_emotion: str
    crop: np.ndarray
    photo_to_crop: np.ndarray
    heatmap: np.ndarray | None = None
    heatmap_emotion: str | None = None
    region_shares: dict[str, float] | None = None


@dataclass(frozen=True, eq=False)
class FrameResult:
    """All tracked faces of one frame, ordered by track id. index: the frame's number from 0 as given to
    the analyzer; time_s: its time in seconds; width, height: the frame's size in pixels; detected: whether
    the detector ran on it."""

    index: int
    time_s: float
    width: int
    height: int
    faces: list[TrackedFace]
    detected: bool


@dataclass(eq=False)
class _Track:
    id: int
    box: Box
    landmarks: np.ndarray
    confidence: float
    detected: bool = True
    missed: int = 0

    def move(self, dx: float, dy: float) -> None:
        x1, y1, x2, y2 = self.box
        self.box = (x1 + dx, y1 + dy, x2 + dx, y2 + dy)
        self.landmarks = self.landmarks + np.array([dx, dy], dtype=np.float32)
        self.detected = False


@dataclass(frozen=True, eq=False)
class LocatedFace:
    """Where one track's face is on a frame, and its aligned crop: what classification needs."""

    track: int
    box: Box
    landmarks: np.ndarray
    detected: bool
    confidence: float
    crop: np.ndarray
    photo_to_crop: np.ndarray


@dataclass(frozen=True, eq=False)
class LocatedFrame:
    """One frame's faces located (:meth:`VideoAnalyzer.locate`), not yet classified; fields as in FrameResult."""

    index: int
    time_s: float
    width: int
    height: int
    faces: list[LocatedFace]
    detected: bool


class VideoAnalyzer:
    """Tracks and classifies the faces of one video or live stream, frame by frame (:meth:`process`).

    ``process`` is :meth:`locate` (follow, detect, align: the tracks) then :meth:`classify` (probabilities,
    smoothing, heat maps). The tracks never depend on the classification, and the network's part of it,
    :meth:`score`, keeps no state, so a caller may locate on one thread, score on others and classify on a
    third, a few frames apart. ``locate`` and ``classify`` must each see the frames in order, so each stream
    needs its own analyzer; the classifier may be shared between analyzers. ``classifier``: None uses the
    shipped weights.
    """

    def __init__(self, classifier: EmotionClassifier | None = None, settings: VideoSettings = _DEFAULTS):
        self.classifier = classifier if classifier is not None else default_classifier()
        self.settings = settings
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._previous: Image.Image | None = None
        self._since_detection = 0
        self._frames = 0
        self._smoothed: dict[int, tuple[np.ndarray, float]] = {}  # track id -> (average, time_s), for classify

    def process(self, image: Image.Image | np.ndarray, time_s: float, index: int | None = None) -> FrameResult:
        """The tracked, classified faces of the next frame: RGB PIL image or uint8 (H, W, 3) array, shown at
        ``time_s`` seconds (any origin, increasing). ``index`` defaults to the count of frames seen before."""
        return self.classify(self.locate(image, time_s, index))

    def locate(self, image: Image.Image | np.ndarray, time_s: float, index: int | None = None) -> LocatedFrame:
        """The first half of :meth:`process`: the next frame's tracks followed or detected, and their crops."""
        image = Image.fromarray(np.asarray(image, dtype=np.uint8)) if isinstance(image, np.ndarray) else image
        image = image if image.mode == "RGB" else image.convert("RGB")
        index = self._frames if index is None else index
        gray = image.convert("L")
        lost = self._follow(gray) if self._previous is not None else []
        detect = not self._frames or self._since_detection + 1 >= self.settings.every or bool(lost)
        if detect:
            self._detect(image, lost)
            self._since_detection = 0
        else:
            self._since_detection += 1
        self._previous, self._frames = gray, self._frames + 1
        size = self.classifier.meta.image_size
        faces = [
            LocatedFace(track.id, track.box, track.landmarks, track.detected, track.confidence, *aligned)
            for track in self._tracks
            for aligned in [align_face(gray, track.landmarks, size)]
        ]
        return LocatedFrame(index, time_s, image.width, image.height, faces, detect)

    def _follow(self, gray: Image.Image) -> list[_Track]:
        """Move every track with its picture; the tracks that cannot be followed (gone, hidden, cut)."""
        lost = []
        for track in self._tracks:
            shift = estimate_shift(self._previous, gray, track.box)
            track.move(shift.dx, shift.dy)
            x1, y1, x2, y2 = track.box
            centre_inside = 0 <= (x1 + x2) / 2 < gray.width and 0 <= (y1 + y2) / 2 < gray.height
            if shift.score < self.settings.min_follow_score or not centre_inside:
                lost.append(track)
        return lost

    def _detect(self, image: Image.Image, lost: list[_Track]) -> None:
        faces = detect_faces(image, self.settings.detection)
        assignment = assign([track.box for track in self._tracks], [face.box for face in faces], self.settings.min_iou)
        for track_index, face_index in assignment.pairs:
            track, face = self._tracks[track_index], faces[face_index]
            track.box, track.landmarks, track.confidence = face.box, face.landmarks, face.confidence
            track.detected, track.missed = True, 0
        ended = set()
        for track_index in assignment.lost_tracks:
            track = self._tracks[track_index]
            track.missed += 1
            if track in lost or track.missed > self.settings.max_missed:
                ended.add(track_index)
        self._tracks = [track for i, track in enumerate(self._tracks) if i not in ended]
        for face_index in assignment.new_detections:
            face = faces[face_index]
            self._tracks.append(_Track(self._next_id, face.box, face.landmarks, face.confidence))
            self._next_id += 1

    def score(self, located: LocatedFrame) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The located faces' uncalibrated logits and feature maps (:meth:`EmotionClassifier.classify`), None
        without faces. It keeps no state, so frames may be scored on any thread, in any order."""
        if not located.faces:
            return None
        crops = np.stack([face.crop for face in located.faces])
        return self.classifier.classify(self.classifier.to_input(crops), self.settings.tta)

    def classify(self, located: LocatedFrame, scores: tuple[torch.Tensor, torch.Tensor] | None = None) -> FrameResult:
        """The second half of :meth:`process`: the located faces' calibrated and smoothed probabilities, and
        heat maps when the settings ask for them. ``scores``: :meth:`score` of ``located`` where a caller has
        computed it already (on another thread); frames must come in order."""
        faces, time_s = located.faces, located.time_s
        self._smoothed = {face.track: self._smoothed[face.track] for face in faces if face.track in self._smoothed}
        if not faces:
            return FrameResult(located.index, time_s, located.width, located.height, [], located.detected)
        classifier, settings = self.classifier, self.settings
        logits, features = scores if scores is not None else self.score(located)
        probabilities = classifier.calibrate(logits)
        smoothed = np.stack(
            [self._smooth(face.track, row, time_s) for face, row in zip(faces, probabilities, strict=True)]
        )
        tops = [classifier.emotions[int(np.argmax(row))] for row in smoothed]
        maps = (
            heatmaps(classifier, np.stack([face.crop for face in faces]), tops, settings.cam_method, features)
            if settings.explain
            else [None] * len(tops)
        )
        emotions = classifier.emotions
        tracked = [
            TrackedFace(
                track=face.track,
                box=tuple(float(v) for v in face.box),
                landmarks=face.landmarks,
                detected=face.detected,
                confidence=face.confidence,
                probabilities=dict(zip(emotions, map(float, row), strict=True)),
                smoothed=dict(zip(emotions, map(float, average), strict=True)),
                top_emotion=top,
                crop=face.crop,
                photo_to_crop=face.photo_to_crop,
                heatmap=heatmap,
                heatmap_emotion=top if heatmap is not None else None,
                region_shares=None
                if heatmap is None
                else face_region_shares(heatmap, face.photo_to_crop, face.landmarks),
            )
            for face, row, average, top, heatmap in zip(faces, probabilities, smoothed, tops, maps, strict=True)
        ]
        return FrameResult(located.index, time_s, located.width, located.height, tracked, located.detected)

    def _smooth(self, track: int, probabilities: np.ndarray, time_s: float) -> np.ndarray:
        """The track's exponential moving average, updated with this frame's probabilities. Weighting by the
        time since the last frame keeps its span in seconds whatever the frame rate (variable rates too)."""
        previous = self._smoothed.get(track)
        if previous is None or self.settings.smoothing_s == 0:
            average = probabilities.astype(np.float64)
        else:
            before, before_s = previous
            weight = 1 - math.exp(-max(time_s - before_s, 0.0) / self.settings.smoothing_s)
            average = before + weight * (probabilities - before)
        self._smoothed[track] = average, time_s
        return average
