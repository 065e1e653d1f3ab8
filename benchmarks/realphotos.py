"""The whole photo pipeline on real photos with known expressions, and the `fer` package beside it.

    python -m benchmarks.realphotos [--data DIR] [--weights FILE] [--json OUT] [--no-peer] [--pyramid-factor F]

``--data`` is a folder of ``<emotion>/`` subfolders of photos (default ../shared/realphotos/taiwan-dev).
Every photo goes through ``analyze`` with the app's settings and test-time procedure (detection,
alignment, flip-averaged calibrated probabilities; heat maps off, they do not change probabilities).
The largest face of each photo is scored; a photo with no face counts as wrong. Reports accuracy,
macro-F1, per-class recall, the confusion matrix (rows = truth, last column "no face") and the ECE of
the top probability. The `fer` package (../shared/peers/fer) runs on the same files in its own
virtualenv, scored the same way; its column is skipped with the reason when its venv cannot be built.
``--pyramid-factor`` changes MTCNN's image pyramid (our column only), to see what a detection setting does to
accuracy through the landmarks it finds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, f1_score
from tqdm import tqdm

from benchmarks.harness import SHARED, cpu_model
from fer_model import DEFAULT_WEIGHTS, ImageError, analyze, load_classifier
from fer_model.faces import DetectionSettings
from fer_model.metrics import expected_calibration_error

DEFAULT_DATA = SHARED / "realphotos" / "taiwan-dev"
PEER_DIR = SHARED / "peers" / "fer"
_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def labelled_photos(folder: Path, emotions: tuple[str, ...]) -> list[tuple[Path, int]]:
    """(path, emotion index) for every image in ``folder/<emotion>/``, sorted; unknown folders are an error."""
    folders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name not in emotions]
    if unknown:
        raise SystemExit(f"{folder}: unknown emotion folder(s) {', '.join(unknown)}; expected {', '.join(emotions)}")
    photos = [
        (path, emotions.index(sub.name))
        for sub in folders
        for path in sorted(sub.iterdir())
        if path.suffix.lower() in _SUFFIXES and not path.name.startswith(".")
    ]
    if not photos:
        raise SystemExit(f"{folder}: no photos in <emotion>/ subfolders")
    return photos


def score(labels: np.ndarray, probabilities: np.ndarray, emotions: tuple[str, ...]) -> dict:
    """Metrics for photos with ``labels`` (N,) and ``probabilities`` (N, C); a row of NaN means no face."""
    found = ~np.isnan(probabilities).any(axis=1)
    predicted = np.where(found, np.nan_to_num(probabilities).argmax(axis=1), len(emotions))  # C = "no face"
    classes = list(range(len(emotions)))
    confusion = confusion_matrix(labels, predicted, labels=[*classes, len(emotions)])[: len(emotions)]
    recall = confusion.diagonal() / confusion.sum(axis=1).clip(min=1)
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "recall": {emotion: float(r) for emotion, r in zip(emotions, recall, strict=True)},
        "ece": expected_calibration_error(probabilities[found], labels[found]) if found.any() else None,
        "no_face": int((~found).sum()),
        "confusion": confusion.tolist(),
    }


def ours(photos: list[tuple[Path, int]], weights: Path, settings: DetectionSettings | None = None) -> np.ndarray:
    """Calibrated probabilities (N, C) of the largest face of each photo; NaN rows where none was found."""
    classifier = load_classifier(weights)
    rows = np.full((len(photos), len(classifier.emotions)), np.nan, dtype=np.float32)
    for row, (path, _) in enumerate(tqdm(photos, desc="ours", unit="photo", disable=None)):
        try:
            faces = analyze(path, classifier, settings=settings or DetectionSettings(), explain=False).faces
        except ImageError as error:
            print(f"{path}: {error}", file=sys.stderr)
            continue
        if faces:
            largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            rows[row] = [largest.probabilities[e] for e in classifier.emotions]
    return rows


def peer_python() -> str:
    """The `fer` peer's python, building its venv on first use (raises RuntimeError with the reason)."""
    setup = PEER_DIR / "setup.sh"
    if not setup.exists():
        raise RuntimeError(f"{setup} not found")
    built = subprocess.run(["bash", str(setup)], capture_output=True, text=True)
    if built.returncode != 0:
        raise RuntimeError(f"its venv could not be built: {built.stderr.strip().splitlines()[-1:]}")
    return built.stdout.strip().splitlines()[-1]


def fer_package(photos: list[tuple[Path, int]], emotions: tuple[str, ...]) -> np.ndarray:
    """The `fer` package's scores (N, C) of the largest face of each photo, NaN rows where it found none."""
    output = subprocess.run(
        [peer_python(), str(PEER_DIR / "fer_peer.py"), "predict", *(str(p) for p, _ in photos)],
        capture_output=True,
        text=True,
        check=True,
    )
    faces_by_path = json.loads(output.stdout.strip().splitlines()[-1])
    rows = np.full((len(photos), len(emotions)), np.nan, dtype=np.float32)
    for row, (path, _) in enumerate(photos):
        faces = faces_by_path.get(str(path), [])
        if faces:
            largest = max(faces, key=lambda f: f["box"][2] * f["box"][3])
            scores = np.array([largest["scores"][e] for e in emotions])
            rows[row] = scores / scores.sum()
    return rows


def to_markdown(results: dict[str, dict], emotions: tuple[str, ...]) -> str:
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("accuracy", [f"{r['accuracy']:.1%}" for r in results.values()])
    row("macro-F1", [f"{r['macro_f1']:.3f}" for r in results.values()])
    for emotion in emotions:
        row(f"recall {emotion}", [f"{r['recall'][emotion]:.1%}" for r in results.values()])
    row("ECE of top probability", [f"{r['ece']:.1%}" if r["ece"] is not None else "-" for r in results.values()])
    row("photos with no face", [str(r["no_face"]) for r in results.values()])
    return "\n".join(lines)


def confusion_markdown(result: dict, emotions: tuple[str, ...]) -> str:
    lines = [
        "| truth \\ predicted | " + " | ".join([*emotions, "no face"]) + " |",
        "|---|" + "---|" * (len(emotions) + 1),
    ]
    for emotion, counts in zip(emotions, result["confusion"], strict=True):
        lines.append(f"| {emotion} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"emotion folders (default {DEFAULT_DATA})")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="weights file (default: shipped)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--no-peer", action="store_true", help="skip the `fer` package column")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument(
        "--pyramid-factor",
        type=float,
        default=DetectionSettings().pyramid_factor,
        help="MTCNN's image pyramid step, ours only (default: the app's)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"error: {args.data} is not a folder")
    torch.set_num_threads(args.threads)
    emotions = load_classifier(args.weights).emotions
    photos = labelled_photos(args.data, emotions)
    labels = np.array([label for _, label in photos])
    settings = DetectionSettings(pyramid_factor=args.pyramid_factor)
    results = {"ours": score(labels, ours(photos, args.weights, settings), emotions)}
    if not args.no_peer:
        try:
            results["fer package"] = score(labels, fer_package(photos, emotions), emotions)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            print(f"`fer` package column skipped: {error}", file=sys.stderr)
    setup = f"weights {args.weights}, pyramid factor {args.pyramid_factor}, CPU {cpu_model()}"
    print(f"{len(photos)} photos in {args.data}, {setup}\n")
    print(to_markdown(results, emotions))
    print("\nOurs, confusion matrix:\n" + confusion_markdown(results["ours"], emotions))
    if args.json:
        record = {"data": str(args.data), "weights": str(args.weights), "pyramid_factor": args.pyramid_factor}
        record |= {"cpu": cpu_model(), "results": results}
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
