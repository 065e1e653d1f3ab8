"""Following a face between detections: how far the picture around its box moved from one frame to the next.

Phase correlation on a small grayscale patch (the box with a margin, resampled to :data:`PATCH` pixels) finds
the shift; the normalised cross-correlation of the two patches at that shift says whether it is still the
same picture. It costs well under a millisecond a face, against tens of milliseconds for a detection, and
keeps crops on a moving face between detections. It follows translation only: turns and changes of scale
wait for the next detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

PATCH = 96  # side of the patch, in pixels; a 200-pixel face searched with its margin is about 4 pixels a step
MARGIN = 0.5  # the searched region extends the box by this share of its side on each side
_WINDOW = np.outer(np.hanning(PATCH), np.hanning(PATCH)).astype(np.float32)


@dataclass(frozen=True)
class Shift:
    """dx, dy: how far the content of the box moved, in frame pixels (right and down positive); score: the
    normalised cross-correlation in [-1, 1] of the region before and after the move (1: the same picture)."""

    dx: float
    dy: float
    score: float


def region(box: tuple[float, float, float, float], margin: float = MARGIN) -> tuple[int, int, int, int]:
    """The box (x1, y1, x2, y2) grown by ``margin`` of its width and height on each side, as integer pixels."""
    x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    return (round(x1 - mx), round(y1 - my), round(x2 + mx), round(y2 + my))


def estimate_shift(previous: Image.Image, current: Image.Image, box: tuple[float, float, float, float]) -> Shift:
    """The move of what ``box`` shows in ``previous`` (a grayscale "L" frame) to where it is in ``current``.

    Parts of the region outside the frame count as black in both frames. A flat region (no texture to
    follow) scores 0.
    """
    area = region(box)
    scale_x, scale_y = (area[2] - area[0]) / PATCH, (area[3] - area[1]) / PATCH
    before, after = (_patch(frame, area) for frame in (previous, current))
    dy, dx = phase_correlation(before, after)
    return Shift(dx * scale_x, dy * scale_y, _overlap_correlation(before, after, round(dy), round(dx)))


def phase_correlation(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """The shift (dy, dx), in pixels and within half the patch, that moves ``before`` onto ``after``: float32
    (N, N) patches. Sub-pixel by a parabola through the peak and its neighbours."""
    spectrum = np.fft.rfft2(after * _WINDOW) * np.conj(np.fft.rfft2(before * _WINDOW))
    surface = np.fft.irfft2(spectrum / (np.abs(spectrum) + 1e-9), s=before.shape)
    py, px = np.unravel_index(int(np.argmax(surface)), surface.shape)
    rows, columns = surface.shape
    dy = _wrap(py, rows) + _vertex(surface[(py - 1) % rows, px], surface[py, px], surface[(py + 1) % rows, px])
    dx = _wrap(px, columns) + _vertex(surface[py, (px - 1) % columns], surface[py, px], surface[py, (px + 1) % columns])
    return float(dy), float(dx)


def _wrap(position: int, size: int) -> int:
    """A circular position as a signed shift in [-size / 2, size / 2)."""
    return (position + size // 2) % size - size // 2


def _vertex(left: float, centre: float, right: float) -> float:
    """Where a parabola through three neighbouring values peaks, relative to the centre one (in [-0.5, 0.5])."""
    curvature = left - 2 * centre + right
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0


def _patch(frame: Image.Image, area: tuple[int, int, int, int]) -> np.ndarray:
    """The frame's area resampled to (PATCH, PATCH) float32, mean removed."""
    pixels = np.asarray(frame.crop(area).resize((PATCH, PATCH), Image.Resampling.BILINEAR), dtype=np.float32)
    return pixels - pixels.mean()


def _overlap_correlation(before: np.ndarray, after: np.ndarray, dy: int, dx: int) -> float:
    """Normalised cross-correlation of the part of ``before`` that, moved by (dy, dx), stays in ``after``."""
    size = before.shape[0]
    if abs(dy) >= size // 2 or abs(dx) >= size // 2:
        return 0.0
    a = before[max(0, -dy) : size - max(0, dy), max(0, -dx) : size - max(0, dx)]
    b = after[max(0, dy) : size - max(0, -dy), max(0, dx) : size - max(0, -dx)]
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 1e-6 else 0.0
