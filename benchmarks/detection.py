"""Which detection resolution and smallest face keep every face, and what they cost.

    python -m benchmarks.detection [--sides 1024 640] [--fractions 0 0.05] [--proposals 0.6 0.7] [--repeats 5]

For each setting (max_detect_side, min_face_fraction, first-stage proposal threshold): the faces
``detect_faces`` finds on kate.jpg, multiface.jpg and skimage's astronaut, how many of them match a face
of the reference setting (the first side, no minimum fraction, MTCNN's default proposals; box IoU >= 0.5),
the median detection time of each photo, and the photos of ../shared/realphotos/taiwan-dev in which a face
is found (with their mean detection time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness import SHARED, cpu_model, photos, time_ms
from fer_model import load_image
from fer_model.faces import DetectionSettings, detect_faces

TAIWAN = SHARED / "realphotos" / "taiwan-dev"


def _iou(a, b) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union else 0.0


def benchmark(sides: list[int], fractions: list[float], proposals: list[float], repeats: int) -> list[dict]:
    test_photos = photos()
    reference = {
        name: detect_faces(photo, DetectionSettings(max_detect_side=sides[0])) for name, photo in test_photos.items()
    }
    taiwan = [load_image(path) for path in sorted(TAIWAN.glob("*/*.jpg"))] if TAIWAN.is_dir() else []
    records = []
    grid = [(side, fraction, proposal) for side in sides for fraction in fractions for proposal in proposals]
    for side, fraction, proposal in grid:
        settings = DetectionSettings(
            max_detect_side=side, min_face_fraction=fraction, proposal_thresholds=(proposal, max(proposal, 0.7))
        )
        record = {"max_detect_side": side, "min_face_fraction": fraction, "proposal": proposal, "photos": {}}
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
            times, found = [], 0
            for photo in taiwan:
                start = time.perf_counter()
                found += bool(detect_faces(photo, settings))
                times.append((time.perf_counter() - start) * 1000)
            record["taiwan_dev"] = {"photos": len(taiwan), "with_face": found, "mean_ms": statistics.mean(times)}
        records.append(record)
    return records


def to_markdown(records: list[dict]) -> str:
    names = list(records[0]["photos"])
    header = " | ".join(f"{n}: matched/found, ms" for n in names)
    lines = [f"| max side | min face (of shorter side) | proposals | {header} | taiwan-dev with a face, ms |"]
    lines.append("|---|---|---|" + "---|" * (len(names) + 1))
    for r in records:
        cells = [
            f"{p['matched']}/{p['reference_faces']} ({p['faces']} found), {p['median_ms']:.0f}"
            for p in r["photos"].values()
        ]
        taiwan = r.get("taiwan_dev")
        taiwan_cell = f"{taiwan['with_face']}/{taiwan['photos']}, {taiwan['mean_ms']:.0f}" if taiwan else "-"
        setting = f"| {r['max_detect_side']} | {r['min_face_fraction']:.0%} | {r['proposal']} | "
        lines.append(setting + " | ".join(cells) + f" | {taiwan_cell} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", type=int, nargs="+", default=[1024, 640])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.05])
    parser.add_argument("--proposals", type=float, nargs="+", default=[0.6, 0.7], help="first-stage thresholds")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per photo (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = benchmark(args.sides, args.fractions, args.proposals, args.repeats)
    print(f"CPU {cpu_model()}, torch threads {args.threads}\n")
    print(to_markdown(records))
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "records": records}, indent=2, default=np.float64) + "\n")


if __name__ == "__main__":
    main()
