"""Which detection resolution, smallest face and image pyramid keep every face, and what they cost.

    python -m benchmarks.detection [--sides 1024 640] [--fractions 0 0.05] [--proposals 0.6 0.7]
                                   [--factors 0.709] [--repeats 5] [--size-photos 100]

For each setting (max_detect_side, min_face_fraction, first-stage proposal threshold, pyramid factor): the
faces ``detect_faces`` finds on kate.jpg, multiface.jpg and skimage's astronaut, how many of them match a
face of the reference setting (the first side, no minimum fraction, the default proposals and pyramid; box
IoU >= 0.5), the median detection time of each photo, the photos of ../shared/realphotos/taiwan-dev in
which a face is found (with their mean detection time), and how far the landmarks of their largest face
moved from the reference setting's (root mean square, as a share of the distance between the eyes): the
crops follow the landmarks, so a setting that moves them changes the probabilities too.

Recall by face size: ``--size-photos`` of the taiwan-dev photos (evenly spaced), each scaled so that its
face is 24 to 192 pixels wide in steps of 2^(1/4) and pasted on a grey 640x480 canvas, the face in the middle;
a face counts as found when a detected box overlaps where it was pasted (IoU >= 0.5). MTCNN scans a pyramid of
scales, so a coarser pyramid (a smaller factor) can miss faces whose size falls between two of its scales.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.harness import SHARED, cpu_model, photos, time_ms
from fer_model import load_image
from fer_model.faces import DetectedFace, DetectionSettings, detect_faces

TAIWAN = SHARED / "realphotos" / "taiwan-dev"
FACE_SIZES = [round(24 * 2 ** (step / 4)) for step in range(13)]  # 24 ... 192 pixels
_CANVAS = (640, 480)


def _iou(a, b) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union else 0.0


def _largest(faces: list[DetectedFace]) -> DetectedFace | None:
    return max(faces, key=lambda face: face.box[2] - face.box[0]) if faces else None


def _landmark_shift(face: DetectedFace, reference: DetectedFace) -> np.ndarray:
    """Each landmark's displacement from the reference's (5, 2), in units of the reference's eye distance."""
    eyes = np.linalg.norm(reference.landmarks[1] - reference.landmarks[0])
    return (face.landmarks - reference.landmarks) / eyes


def _sized_faces(
    taiwan: list[Image.Image], faces: list[DetectedFace | None], count: int
) -> list[tuple[int, Image.Image, tuple]]:
    """(face size, canvas, where the face is) for ``count`` evenly spaced photos, each with its face found in
    ``faces``, at every size of FACE_SIZES."""
    scenes, step = [], max(1, len(taiwan) // max(count, 1))
    for photo, face in list(zip(taiwan, faces, strict=True))[::step][:count]:
        if face is None:
            continue
        box = np.array(face.box)
        for size in FACE_SIZES:
            scale = size / (box[2] - box[0])
            scaled = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
            centre = (box[:2] + box[2:]) / 2 * scale  # the face, not the photo, goes in the middle
            offset = np.tile(np.round(np.array(_CANVAS) / 2 - centre), 2)
            canvas = Image.new("RGB", _CANVAS, (128, 128, 128))
            canvas.paste(scaled, tuple(int(v) for v in offset[:2]))
            scenes.append((size, canvas, tuple(box * scale + offset)))
    return scenes


def size_recall(scenes: list[tuple[int, Image.Image, tuple]], settings: DetectionSettings) -> dict[int, float]:
    """{face size: share of the faces of that size found} (see the module docstring)."""
    found: dict[int, list[bool]] = {}
    for size, canvas, box in scenes:
        found.setdefault(size, []).append(any(_iou(face.box, box) >= 0.5 for face in detect_faces(canvas, settings)))
    return {size: float(np.mean(hits)) for size, hits in found.items()}


def benchmark(
    sides: list[int],
    fractions: list[float],
    proposals: list[float],
    factors: list[float],
    repeats: int,
    size_photos: int,
) -> list[dict]:
    test_photos = photos()
    reference_settings = DetectionSettings(max_detect_side=sides[0])
    reference = {name: detect_faces(photo, reference_settings) for name, photo in test_photos.items()}
    taiwan = [load_image(path) for path in sorted(TAIWAN.glob("*/*.jpg"))] if TAIWAN.is_dir() else []
    taiwan_reference = [_largest(detect_faces(photo, reference_settings)) for photo in taiwan]
    scenes = _sized_faces(taiwan, taiwan_reference, size_photos)
    records = []
    grid = [(s, fr, p, fa) for s in sides for fr in fractions for p in proposals for fa in factors]
    for side, fraction, proposal, factor in grid:
        settings = DetectionSettings(
            max_detect_side=side,
            min_face_fraction=fraction,
            proposal_thresholds=(proposal, max(proposal, 0.7)),
            pyramid_factor=factor,
        )
        record = {
            "max_detect_side": side,
            "min_face_fraction": fraction,
            "proposal": proposal,
            "pyramid_factor": factor,
            "photos": {},
        }
        for name, photo in test_photos.items():
            faces = detect_faces(photo, settings)
            matched = sum(any(_iou(f.box, r.box) >= 0.5 for f in faces) for r in reference[name])
            timing = time_ms(lambda photo=photo, settings=settings: detect_faces(photo, settings), repeats)
            record["photos"][name] = {
                "faces": len(faces),
                "reference_faces": len(reference[name]),
                "matched": matched,
                "median_ms": timing["median"],
            }
        if taiwan and side == sides[0]:  # taiwan photos are 256x256: the side does not matter
            times, found, shifts = [], 0, []
            for photo, reference_face in zip(taiwan, taiwan_reference, strict=True):
                start = time.perf_counter()
                faces = detect_faces(photo, settings)
                times.append((time.perf_counter() - start) * 1000)
                found += bool(faces)
                if faces and reference_face:
                    shifts.append(_landmark_shift(_largest(faces), reference_face))
            record["taiwan_dev"] = {
                "photos": len(taiwan),
                "with_face": found,
                "mean_ms": statistics.mean(times),
                "landmark_shift_rms": float(np.sqrt(np.mean(np.square(shifts)))),
            }
        if scenes:
            record["recall_by_face_size"] = size_recall(scenes, settings)
        records.append(record)
    return records


def to_markdown(records: list[dict]) -> str:
    names = list(records[0]["photos"])
    header = " | ".join(f"{n}: matched/found, ms" for n in names)
    sizes = list(records[0].get("recall_by_face_size", {}))
    size_header = "".join(f" {size} px |" for size in sizes)
    lines = [
        "| max side | min face (of shorter side) | proposals | pyramid | "
        f"{header} | taiwan-dev with a face, ms, landmark shift |{size_header}"
    ]
    lines.append("|---|---|---|---|" + "---|" * (len(names) + 1 + len(sizes)))
    for r in records:
        cells = [
            f"{p['matched']}/{p['reference_faces']} ({p['faces']} found), {p['median_ms']:.0f}"
            for p in r["photos"].values()
        ]
        taiwan = r.get("taiwan_dev")
        taiwan_cell = (
            f"{taiwan['with_face']}/{taiwan['photos']}, {taiwan['mean_ms']:.0f}, {taiwan['landmark_shift_rms']:.1%}"
            if taiwan
            else "-"
        )
        recall = "".join(f" {share:.0%} |" for share in r.get("recall_by_face_size", {}).values())
        columns = (r["max_detect_side"], f"{r['min_face_fraction']:.0%}", r["proposal"], r["pyramid_factor"])
        setting = "| " + " | ".join(str(column) for column in columns) + " | "
        lines.append(setting + " | ".join(cells) + f" | {taiwan_cell} |{recall}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", type=int, nargs="+", default=[1024, 640])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.05])
    parser.add_argument("--proposals", type=float, nargs="+", default=[0.6, 0.7], help="first-stage thresholds")
    parser.add_argument("--factors", type=float, nargs="+", default=[0.709], help="MTCNN pyramid factors")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per photo (default 5)")
    parser.add_argument("--size-photos", type=int, default=100, help="taiwan-dev photos for recall by face size")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = benchmark(args.sides, args.fractions, args.proposals, args.factors, args.repeats, args.size_photos)
    print(f"CPU {cpu_model()}, torch threads {args.threads}\n")
    print(to_markdown(records))
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "records": records}, indent=2, default=np.float64) + "\n")


if __name__ == "__main__":
    main()
