"""Results -> what people read: JSON-able dicts, CSV rows, heat-map overlays and annotated photos."""

from __future__ import annotations

import csv
import io

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from .explain import heatmap_on_photo
from .pipeline import FaceResult, PhotoResult

_CSV_COLUMNS = ("image", "face", "x1", "y1", "x2", "y2", "confidence", "top_emotion")
_BOX_COLOUR = (0, 230, 118)
_JET = colormaps["jet"](np.linspace(0, 1, 256))[:, :3].astype(np.float32) * 255  # lookup table, 0-255


def result_to_dict(result: PhotoResult) -> dict:
    """A JSON-serialisable summary: sizes, timings and per face its box, scores and region shares (no arrays)."""
    return {
        "width": result.width,
        "height": result.height,
        "timings_ms": {stage: round(ms, 1) for stage, ms in result.timings_ms.items()},
        "faces": [_face_to_dict(face) for face in result.faces],
    }


def _face_to_dict(face: FaceResult) -> dict:
    return {
        "index": face.index,
        "box": [round(v, 1) for v in face.box],
        "detector_confidence": face.detector_confidence,
        "probabilities": dict(face.probabilities),
        "top_emotion": face.top_emotion,
        "heatmap_emotion": face.heatmap_emotion,
        "region_shares": None if face.region_shares is None else dict(face.region_shares),
        "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
    }


def result_to_csv_rows(name: str, result: PhotoResult) -> list[dict]:
    """One row per face: image name, face number, box, detector confidence, top emotion, the
    probabilities (``p_<emotion>``) and, when explained, the region shares (``share_<region>``)."""
    rows = []
    for face in result.faces:
        x1, y1, x2, y2 = (round(v, 1) for v in face.box)
        row = {"image": name, "face": face.index, "x1": x1, "y1": y1, "x2": x2, "y2": y2}
        row.update(confidence=round(face.detector_confidence, 4), top_emotion=face.top_emotion)
        row.update({f"p_{emotion}": round(p, 4) for emotion, p in face.probabilities.items()})
        if face.region_shares is not None:
            row["heatmap_emotion"] = face.heatmap_emotion
            row.update({f"share_{region}": round(share, 4) for region, share in face.region_shares.items()})
        rows.append(row)
    return rows


def results_to_csv(named_results: list[tuple[str, PhotoResult]]) -> str:
    """CSV text (with a header) of the faces of several photos, given as (name, result) pairs."""
    rows = [row for name, result in named_results for row in result_to_csv_rows(name, result)]
    columns = list(dict.fromkeys([*_CSV_COLUMNS, *(key for row in rows for key in row)]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def overlay_heatmap(image: Image.Image | np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """The image (PIL, or uint8 (H, W) / (H, W, 3)) with a jet-coloured heat map blended over it, as RGB.

    ``heatmap``: (h, w) in [0, 1], resized to the image if its shape differs. Each pixel's colour is
    blended with weight ``opacity`` x heat, so cold areas keep the photo.
    """
    base = (Image.fromarray(image) if isinstance(image, np.ndarray) else image).convert("RGB")
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != (base.height, base.width):
        heat = np.asarray(Image.fromarray(heat).resize(base.size, Image.Resampling.BILINEAR))
    heat = heat.clip(0, 1)
    pixels = np.array(base)
    hot = heat > 0  # only these change: a whole-photo map is mostly zeros
    colours = _JET[np.round(heat[hot] * 255).astype(np.uint8)]
    alpha = opacity * heat[hot][:, None]
    pixels[hot] = np.round(pixels[hot] * (1 - alpha) + colours * alpha).astype(np.uint8)
    return Image.fromarray(pixels)


def annotate_photo(result: PhotoResult, heatmap_opacity: float = 0.0) -> Image.Image:
    """A copy of ``result.photo`` with numbered boxes and "1 happy 87%" labels, as RGB of the same size.

    ``result.photo`` may be a smaller copy of the analysed photo: boxes and heat maps are scaled to it.
    With ``heatmap_opacity`` > 0, the faces' heat maps are drawn over the photo first. Labels never
    cover one another (see :func:`place_labels`).
    """
    image = result.photo.convert("RGB")  # a copy, also when the photo is RGB already
    scale_x, scale_y = image.width / result.width, image.height / result.height
    explained = [face for face in result.faces if face.heatmap is not None]
    if heatmap_opacity > 0 and explained:
        heat = np.zeros((image.height, image.width), np.float32)
        for face in explained:  # one photo-sized map at a time: a 40-megapixel map is 160 MB
            to_crop = face.photo_to_crop / [scale_x, scale_y, 1.0]  # display pixel -> photo pixel -> crop
            np.maximum(heat, heatmap_on_photo(face.heatmap, to_crop, image.size), out=heat)
        image = overlay_heatmap(image, heat, heatmap_opacity)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 50)))
    line_width = max(2, round(font.size / 8))
    pad = line_width
    boxes = [
        (x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y) for x1, y1, x2, y2 in (f.box for f in result.faces)
    ]
    labels = [f"{face.index} {face.top_emotion} {face.probabilities[face.top_emotion]:.0%}" for face in result.faces]
    text_boxes = [draw.textbbox((0, 0), label, font=font) for label in labels]
    sizes = [(right - left + 2 * pad, bottom - top + 2 * pad) for left, top, right, bottom in text_boxes]
    for box in boxes:
        draw.rectangle(box, outline=_BOX_COLOUR, width=line_width)
    for label, (left, top, _, _), place in zip(labels, text_boxes, place_labels(boxes, sizes, image.size), strict=True):
        draw.rectangle(place, fill=_BOX_COLOUR)
        draw.text((place[0] + pad - left, place[1] + pad - top), label, fill="black", font=font)
    return image


def place_labels(
    boxes: list[tuple[float, float, float, float]], sizes: list[tuple[float, float]], bounds: tuple[int, int]
) -> list[tuple[float, float, float, float]]:
    """Where to draw each box's label: rectangles (x1, y1, x2, y2), in pixels, that do not overlap.

    ``boxes``: (x1, y1, x2, y2) per face; ``sizes``: each label's (width, height); ``bounds``: the image's
    (width, height), which labels stay inside where they fit. A label goes to the first place not on another
    label of: above its box, below it, inside it at the top, inside at the bottom (one not on another face
    preferred), else those four shifted a label height at a time down or up, then a label width left or
    right. With no free place in the image it goes above its box.
    """
    placed: list[tuple[float, float, float, float]] = []
    for index, ((x1, y1, _, y2), (width, height)) in enumerate(zip(boxes, sizes, strict=True)):
        others = boxes[:index] + boxes[index + 1 :]
        above = _clamp((x1, y1 - height, width, height), bounds)
        chosen, free = None, None
        for dy, dx in _shifts(bounds[1] / height):
            for x, y in ((x1, y1 - height), (x1, y2), (x1, y1), (x1, y2 - height)):
                rect = _clamp((x + dx * width, y + dy * height, width, height), bounds)
                if any(_overlap(rect, label) for label in placed):
                    continue
                if not any(_overlap(rect, box) for box in others):
                    chosen = rect
                    break
                free = free or rect
            if chosen or free:  # near its face over another face beats far away
                break
        placed.append(chosen or free or above)
    return placed


def _shifts(vertical_steps: float) -> list[tuple[int, int]]:
    """(dy, dx) label-sized steps, nearest first: none, then down and up, then each of those left or right."""
    vertical = [0] + [dy for step in range(1, int(vertical_steps) + 2) for dy in (step, -step)]
    return [(dy, dx) for dx in (0, -1, 1, -2, 2) for dy in vertical]


def _clamp(rect: tuple[float, float, float, float], bounds: tuple[int, int]) -> tuple[float, float, float, float]:
    """(x, y, width, height) -> (x1, y1, x2, y2), moved inside ``bounds`` (width, height) where it fits."""
    x, y, width, height = rect
    x = max(0.0, min(x, bounds[0] - width))
    y = max(0.0, min(y, bounds[1] - height))
    return (x, y, x + width, y + height)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two (x1, y1, x2, y2) rectangles share more than an edge."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def format_table(result: PhotoResult) -> str:
    """A text table, one line per face: box, detector confidence, top emotion and the probabilities."""
    if not result.faces:
        return "no faces found"
    emotions = list(result.faces[0].probabilities)
    header = ["face", "box (x1, y1, x2, y2)", "conf", "top", *emotions]
    rows = [
        [
            str(face.index),
            ", ".join(f"{v:.0f}" for v in face.box),
            f"{face.detector_confidence:.2f}",
            face.top_emotion,
            *(f"{face.probabilities[emotion]:.3f}" for emotion in emotions),
        ]
        for face in result.faces
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
