"""Which detection is which person: boxes matched to tracks by overlap, one to one.

The tracks' boxes are where following (:mod:`fer_model.video.follow`) put them on the frame being
detected, so a person who moved since the last detection still overlaps their own box. The assignment
maximises the total intersection over union (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``);
pairs overlapping less than ``min_iou`` are not matched. Plain geometry, no appearance model: two people
who cross each other may swap ids, and one who leaves and comes back gets a new id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Assignment:
    """pairs: (track index, detection index) matched; lost_tracks, new_detections: indices left unmatched."""

    pairs: list[tuple[int, int]]
    lost_tracks: list[int]
    new_detections: list[int]


def iou_matrix(boxes_a: list[Box] | np.ndarray, boxes_b: list[Box] | np.ndarray) -> np.ndarray:
    """Intersection over union, float64 (len(a), len(b)) in [0, 1], of boxes (x1, y1, x2, y2) in pixels."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    width = (np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])).clip(0)
    height = (np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])).clip(0)
    intersection = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def assign(track_boxes: list[Box], detection_boxes: list[Box], min_iou: float = 0.3) -> Assignment:
    """Match tracks to detections one to one, maximising the summed IoU; pairs below ``min_iou`` stay apart."""
    overlap = iou_matrix(track_boxes, detection_boxes)
    rows, columns = linear_sum_assignment(overlap, maximize=True)
    pairs = [(int(r), int(c)) for r, c in zip(rows, columns, strict=True) if overlap[r, c] >= min_iou]
    matched_tracks, matched_detections = {r for r, _ in pairs}, {c for _, c in pairs}
    return Assignment(
        pairs=pairs,
        lost_tracks=[i for i in range(len(track_boxes)) if i not in matched_tracks],
        new_detections=[j for j in range(len(detection_boxes)) if j not in matched_detections],
    )
