"""How tightly should a face fill the 48x48 crop? Accuracy on real photos per framing zoom.

    python -m benchmarks.framing [--data DIR] [--weights FILE] [--zooms 0.9 1.0 1.1 1.2 1.3 1.4] [--json OUT]

``align_face`` puts the five landmarks where MTCNN finds them on FER2013 faces; ``zoom`` scales that
template about the crop centre (> 1: a tighter crop). The largest face of every photo of ``--data``
(emotion folders, default ../shared/realphotos/taiwan-dev) is detected once, then cropped at each zoom
and classified with the app's test-time procedure; the table gives accuracy, macro-F1 and the mean log
probability of the right emotion. The best zoom becomes ``FRAMING_ZOOM``. This chooses a setting with the
development photos; it fits nothing to them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.realphotos import DEFAULT_DATA, labelled_photos, score
from fer_model import DEFAULT_WEIGHTS, load_classifier, load_image
from fer_model.faces import align_face, detect_faces


def framing(data: Path, weights: Path, zooms: list[float]) -> list[dict]:
    classifier = load_classifier(weights)
    photos = labelled_photos(data, classifier.emotions)
    cases = []  # (photo, landmarks of its largest face, emotion index)
    for path, label in tqdm(photos, desc="detecting", unit="photo", disable=None):
        photo = load_image(path)
        faces = detect_faces(photo)
        if faces:
            largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            cases.append((photo, largest.landmarks, label))
    labels = np.array([label for *_, label in cases])
    records = []
    for zoom in zooms:
        crops = np.stack([align_face(photo, landmarks, zoom=zoom)[0] for photo, landmarks, _ in cases])
        probabilities = classifier.probabilities(crops)
        right = probabilities[np.arange(len(cases)), labels]
        scores = score(labels, probabilities, classifier.emotions)
        records.append(
            {
                "zoom": zoom,
                "faces": len(cases),
                "photos": len(photos),
                "accuracy": scores["accuracy"],
                "macro_f1": scores["macro_f1"],
                "mean_log_p_right": float(np.log(right).mean()),
            }
        )
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"emotion folders (default {DEFAULT_DATA})")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="weights file (default: shipped)")
    parser.add_argument("--zooms", type=float, nargs="+", default=[0.9, 1.0, 1.1, 1.2, 1.3, 1.4])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = framing(args.data, args.weights, args.zooms)
    print(f"{records[0]['faces']} faces of {records[0]['photos']} photos in {args.data}, weights {args.weights}\n")
    print("| zoom | accuracy | macro-F1 | mean log p(right) |")
    print("|---|---|---|---|")
    for r in records:
        print(f"| {r['zoom']:.2f} | {r['accuracy']:.1%} | {r['macro_f1']:.3f} | {r['mean_log_p_right']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps({"weights": str(args.weights), "records": records}, indent=2) + "\n")


if __name__ == "__main__":
    main()
