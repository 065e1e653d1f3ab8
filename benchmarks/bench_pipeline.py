"""Latency of each stage on real photos, in milliseconds.

    python -m benchmarks.bench_pipeline [--repeats 20] [--threads 2] [--json OUT]

Per face (the first face of each photo): classification of one crop, batch 1, with and without the
flip averaging (TTA), and its Grad-CAM map. Per photo: face detection (with alignment) and the whole
``analyze`` with heat maps, from the decoded photo. Every measurement runs once to warm up, then
``--repeats`` times; the table gives the median, min and max. Photos: kate.jpg (1 face, 1.8 MP) and
multiface.jpg (6 faces) from ../shared/photos when present, and skimage's astronaut (512x512).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from benchmarks.harness import PHOTOS_DIR, cpu_model, photos, time_ms
from fer_model import DEFAULT_WEIGHTS, analyze, load_classifier
from fer_model.explain import heatmaps
from fer_model.faces import DetectionSettings, align_face, detect_faces


def benchmark(decoded: dict, repeats: int) -> list[dict]:
    """One record per (photo, measurement): photo, faces, stage, median/min/max ms."""
    classifier = load_classifier()
    settings = DetectionSettings()
    records = []
    for name, photo in decoded.items():
        faces = detect_faces(photo, settings)
        crop = align_face(photo, faces[0].landmarks, classifier.meta.image_size)[0][None]
        top = classifier.emotions[int(classifier.probabilities(crop).argmax())]
        stages = {
            "classify 1 face, TTA": lambda crop=crop: classifier.probabilities(crop, tta=True),
            "classify 1 face, no TTA": lambda crop=crop: classifier.probabilities(crop, tta=False),
            "Grad-CAM 1 face": lambda crop=crop, top=top: heatmaps(classifier, crop, [top]),
            "detect + align": lambda photo=photo: [align_face(photo, f.landmarks) for f in detect_faces(photo)],
            "analyze, with heat maps": lambda photo=photo: analyze(photo, classifier, settings=settings),
        }
        for stage, run in stages.items():
            records.append({"photo": name, "faces": len(faces), "stage": stage, **time_ms(run, repeats)})
    return records


def to_markdown(records: list[dict]) -> str:
    lines = ["| photo | faces | stage | median ms | min ms | max ms |", "|---|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['photo']} | {r['faces']} | {r['stage']} | {r['median']:.1f} | {r['min']:.1f} | {r['max']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per measurement (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--photos", type=Path, default=PHOTOS_DIR, help="folder with kate.jpg and multiface.jpg")
    parser.add_argument("--json", type=Path, help="also write the records and the machine to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = benchmark(photos(args.photos), args.repeats)
    print(f"CPU {cpu_model()}, torch threads {args.threads}\n")
    print(to_markdown(records))
    if args.json:
        machine = {
            "processor": cpu_model(),
            "cpus": os.cpu_count(),
            "torch_threads": args.threads,
            "torch": torch.__version__,
            "weights": str(DEFAULT_WEIGHTS),
            "repeats": args.repeats,
        }
        args.json.write_text(json.dumps({"machine": machine, "records": records}, indent=2) + "\n")


if __name__ == "__main__":
    main()
