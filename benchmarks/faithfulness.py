"""Do the heat maps point at what the model uses? A masking test on FER2013 PublicTest.

    python -m benchmarks.faithfulness --data ../shared/fer2013/fer2013.zip [--limit 1000] [--road] [--json OUT]

On the test split (PublicTest in the Kaggle zip), for each face and its predicted emotion: the
calibrated probability of that emotion (with the flip averaging the app uses) minus the same after
replacing 20% of the pixels, either the 20% hottest of the emotion's class activation map or 20%
chosen at random. Replaced pixels take the face's mean grey ("mean") or a blurred copy's value
("blur"). A faithful map gives the larger drop for the hottest pixels.

``--road`` adds pytorch-grad-cam's ROAD combined score: (LeRF - MoRF) / 2 of the uncalibrated softmax,
removing 20/40/60/80% of the pixels by noisy linear imputation; higher is better; slow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from pytorch_grad_cam.metrics.road import ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from scipy.ndimage import gaussian_filter

from fer_model import CAM_METHODS, DEFAULT_WEIGHTS, load_classifier
from fer_model.explain import heatmaps
from fer_model.training.dataset import load_faces

FRACTION = 0.2
BATCH = 128


def _fills(images: np.ndarray) -> dict[str, np.ndarray]:
    """Replacement values, float32 (N, 48, 48): each face's mean grey, or the face blurred (sigma 3 px)."""
    faces = images.astype(np.float32)
    return {
        "mean": np.broadcast_to(faces.mean(axis=(1, 2), keepdims=True), faces.shape),
        "blur": gaussian_filter(faces, sigma=(0, 3, 3)),
    }


def _masked(images: np.ndarray, pixels: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """images uint8 (N, H, W) with the flat pixel indices (N, k) of each image set from ``fill``."""
    flat = images.reshape(len(images), -1).copy()
    values = np.take_along_axis(fill.reshape(len(images), -1), pixels, axis=1)
    np.put_along_axis(flat, pixels, np.round(values).astype(np.uint8), axis=1)
    return flat.reshape(images.shape)


def faithfulness(data: str, limit: int | None, methods: list[str], road: bool, seed: int = 0) -> list[dict]:
    """One record per (method, fill): mean probability drops for hottest and random pixels, and more."""
    torch.manual_seed(seed)  # ROAD's imputation adds noise
    rng = np.random.default_rng(seed)
    faces = load_faces(data, "test")
    chosen = rng.permutation(len(faces))[:limit]  # the split is sorted by emotion: sample across it
    images = faces.images[chosen]
    classifier = load_classifier()
    before = classifier.probabilities(images)
    predicted = before.argmax(axis=1)
    rows = np.arange(len(images))

    def probability_of_predicted(masked: np.ndarray) -> np.ndarray:
        return classifier.probabilities(masked)[rows, predicted]

    count = round(FRACTION * images[0].size)
    noise = rng.random((len(images), images[0].size))
    random_pixels = np.argsort(noise, axis=1)[:, :count]
    emotions = [classifier.emotions[p] for p in predicted]
    records = []
    for method in methods:
        maps = np.concatenate(
            [
                heatmaps(classifier, images[i : i + BATCH], emotions[i : i + BATCH], method)
                for i in range(0, len(images), BATCH)
            ]
        )
        hottest = np.lexsort((noise, -maps.reshape(noise.shape)), axis=1)[:, :count]  # ties in random order
        road_score = _road(classifier, images, maps, predicted) if road else None
        for fill_name, fill in _fills(images).items():
            drop_hot = before[rows, predicted] - probability_of_predicted(_masked(images, hottest, fill))
            drop_random = before[rows, predicted] - probability_of_predicted(_masked(images, random_pixels, fill))
            records.append(
                {
                    "method": method,
                    "fill": fill_name,
                    "images": len(images),
                    "drop_hottest": float(drop_hot.mean()),
                    "drop_random": float(drop_random.mean()),
                    "hottest_beats_random": float((drop_hot > drop_random).mean()),
                    "road_combined": road_score,
                }
            )
    return records


def _road(classifier, images: np.ndarray, maps: np.ndarray, predicted: np.ndarray) -> float:
    targets = [ClassifierOutputSoftmaxTarget(int(p)) for p in predicted]
    with classifier.lock:
        scores = ROADCombined(percentiles=[20, 40, 60, 80])(
            classifier.to_input(images), maps, targets, classifier.model
        )
    return float(np.mean(scores))


def to_markdown(records: list[dict]) -> str:
    lines = [
        "| CAM method | fill | images | drop, hottest 20% | drop, random 20% | hottest > random | ROAD combined |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        road = "" if r["road_combined"] is None else f"{r['road_combined']:.3f}"
        lines.append(
            f"| {r['method']} | {r['fill']} | {r['images']} | {r['drop_hottest']:.3f} | {r['drop_random']:.3f} "
            f"| {r['hottest_beats_random']:.0%} | {road} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/fer2013/fer2013.zip", help="FER2013 with a test split")
    parser.add_argument("--limit", type=int, help="use a random subset of this many test faces (default: all)")
    parser.add_argument("--methods", nargs="+", choices=list(CAM_METHODS), default=list(CAM_METHODS))
    parser.add_argument("--road", action="store_true", help="also compute the ROAD combined score (slow)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = faithfulness(args.data, args.limit, args.methods, args.road)
    print(to_markdown(records))
    if args.json:
        settings = {"data": args.data, "limit": args.limit, "fraction": FRACTION, "weights": str(DEFAULT_WEIGHTS)}
        args.json.write_text(json.dumps({"settings": settings, "records": records}, indent=2) + "\n")


if __name__ == "__main__":
    main()
