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


def annotate_photo(photo: Image.Image, result: PhotoResult, heatmap_opacity: float = 0.0) -> Image.Image:
    """A copy of the analysed photo with numbered boxes and "1 happy 87%" labels, as RGB.

    With ``heatmap_opacity`` > 0, the faces' heat maps are drawn over the photo first.
    """
    if photo.size != (result.width, result.height):
        width, height = photo.size
        raise ValueError(f"photo is {width}x{height} but the result is for {result.width}x{result.height}")
    image = photo.convert("RGB")
    explained = [face for face in result.faces if face.heatmap is not None]
    if heatmap_opacity > 0 and explained:
        maps = [heatmap_on_photo(face.heatmap, face.photo_to_crop, image.size) for face in explained]
        image = overlay_heatmap(image, np.maximum.reduce(maps), heatmap_opacity)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 50)))
    line_width = max(2, round(font.size / 8))
    for face in result.faces:
        x1, y1, _, _ = face.box
        draw.rectangle(face.box, outline=_BOX_COLOUR, width=line_width)
        label = f"{face.index} {face.top_emotion} {face.probabilities[face.top_emotion]:.0%}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        pad = line_width
        height = bottom - top + 2 * pad
        y = y1 - height if y1 >= height else y1  # above the box, or inside it at the top edge
        draw.rectangle((x1, y, x1 + right - left + 2 * pad, y + height), fill=_BOX_COLOUR)
        draw.text((x1 + pad - left, y + pad - top), label, fill="black", font=font)
    return image


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
