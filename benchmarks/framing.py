"""How tightly should a face fill the 48x48 crop? Model confidence in known expressions per framing.

    python -m benchmarks.framing [--zooms 0.8 0.9 1.0 1.1 1.2] [--json OUT]

``align_face`` puts the five landmarks where MTCNN finds them on FER2013 faces; ``zoom`` scales that
template about the crop centre (> 1: a tighter crop). For each zoom, the faces whose expression is
known are classified (calibrated, with TTA) and the table gives the mean probability and log
probability of the right emotion and the top-1 accuracy. The best zoom becomes ``FRAMING_ZOOM``.
Faces: skimage's astronaut (smiling), the four clearly smiling faces of multiface.jpg (faces 1, 3, 4
and 5, numbered left to right) and kate.jpg (neutral).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import skimage.data
import torch

from fer_model import load_classifier, load_image
from fer_model.faces import align_face, detect_faces

PHOTOS_DIR = Path(__file__).resolve().parents[2] / "shared" / "photos"
# photo -> {face number (1-based, left to right): expression}
KNOWN = {
    "astronaut": {1: "happy"},
    "multiface.jpg": {1: "happy", 3: "happy", 4: "happy", 5: "happy"},
    "kate.jpg": {1: "neutral"},
}


def framing(photos_dir: Path, zooms: list[float]) -> list[dict]:
    classifier = load_classifier()
    photos = {"astronaut": load_image(skimage.data.astronaut())}
    photos.update({name: load_image(photos_dir / name) for name in KNOWN if (photos_dir / name).exists()})
    cases = []  # (photo, landmarks, emotion index)
    for name, photo in photos.items():
        faces = detect_faces(photo)
        cases += [(photo, faces[n - 1].landmarks, classifier.emotions.index(e)) for n, e in KNOWN[name].items()]
    records = []
    for zoom in zooms:
        crops = np.stack([align_face(photo, landmarks, zoom=zoom)[0] for photo, landmarks, _ in cases])
        probabilities = classifier.probabilities(crops)
        labels = np.array([label for *_, label in cases])
        right = probabilities[np.arange(len(cases)), labels]
        records.append(
            {
                "zoom": zoom,
                "faces": len(cases),
                "mean_p_right": float(right.mean()),
                "mean_log_p_right": float(np.log(right).mean()),
                "top1": float((probabilities.argmax(axis=1) == labels).mean()),
                "p_right": [round(float(p), 3) for p in right],
            }
        )
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zooms", type=float, nargs="+", default=[0.8, 0.9, 1.0, 1.1, 1.2])
    parser.add_argument("--photos", type=Path, default=PHOTOS_DIR, help="folder with kate.jpg and multiface.jpg")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    records = framing(args.photos, args.zooms)
    print("| zoom | faces | mean p(right) | mean log p(right) | top-1 | p(right) per face |")
    print("|---|---|---|---|---|---|")
    for r in records:
        print(
            f"| {r['zoom']:.2f} | {r['faces']} | {r['mean_p_right']:.3f} | {r['mean_log_p_right']:.3f} "
            f"| {r['top1']:.0%} | {' '.join(f'{p:.2f}' for p in r['p_right'])} |"
        )
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")


if __name__ == "__main__":
    main()
