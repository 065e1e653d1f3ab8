"""The whole photo pipeline on real photos with known expressions, and the `fer` package beside it.

    python -m benchmarks.realphotos [--data DIR] [--weights FILE] [--json OUT] [--no-peer] [--pyramid-factor F]
                                    [--min-face-fraction F] [--group-photo] [--baseline EARLIER.json]

``--data`` is a folder of ``<emotion>/`` subfolders of photos (default ../shared/realphotos/taiwan-dev).
Every photo goes through ``analyze`` with the app's settings and test-time procedure (detection,
alignment, flip-averaged calibrated probabilities; heat maps off, they do not change probabilities).
The largest face of each photo is scored; a photo with no face counts as wrong. Reports accuracy,
macro-F1, per-class recall, the confusion matrix (rows = truth, last column "no face") and the ECE of
the top probability, with 95% intervals for accuracy and macro-F1 from resampling the photos (how much
the figures would move on another draw of photos like these). The `fer` package (../shared/peers/fer) runs
on the same files in its own virtualenv, scored the same way; its column is skipped with the reason when
its venv cannot be built.
``--pyramid-factor`` and ``--min-face-fraction`` change a detection setting (our column only), to see what it
does to accuracy through the landmarks it finds. taiwan-dev's photos are 256x256, a face filling each:
``--group-photo`` pastes each at half size in the middle of a grey canvas as large as multiface.jpg
(1200x630), so that the faces are as small as in a group photo and detection runs on a downscaled copy.
``--baseline`` compares with an earlier run's JSON on the same photos, photo by photo: the accuracy
difference with its 95% interval (paired resampling), and how many photos only one of the two gets right.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import confusion_matrix, f1_score
from tqdm import tqdm

from benchmarks.harness import SHARED, cpu_model
from fer_model import DEFAULT_WEIGHTS, ImageError, analyze, load_classifier, load_image
from fer_model.faces import DetectionSettings
from fer_model.metrics import expected_calibration_error

DEFAULT_DATA = SHARED / "realphotos" / "taiwan-dev"
PEER_DIR = SHARED / "peers" / "fer"
GROUP_CANVAS = (1200, 630)
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
    predicted = predicted_classes(probabilities)
    found = predicted < len(emotions)
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
        "predicted": predicted.tolist(),  # per photo; C = no face
    } | intervals(labels, predicted, classes)


def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """The top class of each row (N,); C (one past the last emotion) where the row is NaN (no face)."""
    found = ~np.isnan(probabilities).any(axis=1)
    return np.where(found, np.nan_to_num(probabilities).argmax(axis=1), probabilities.shape[1])


def intervals(labels: np.ndarray, predicted: np.ndarray, classes: list[int], rounds: int = 2000, seed: int = 0) -> dict:
    """95% bootstrap intervals (resampling photos) of accuracy and macro-F1 (over ``classes``) of ``predicted``."""
    picks = np.random.default_rng(seed).integers(0, len(labels), (rounds, len(labels)))
    truth, guess = labels[picks], predicted[picks]
    accuracy = (truth == guess).mean(axis=1)
    # Per round and class: F1 = 2 TP / (true + predicted); 0 where a class is absent from both, as sklearn's
    # zero_division=0 gives.
    width = max(int(truth.max()), int(guess.max()), max(classes)) + 1
    offsets = np.arange(rounds)[:, None] * width

    def counts(values, keep=None):
        index = (offsets + values)[keep] if keep is not None else (offsets + values).ravel()
        return np.bincount(index, minlength=rounds * width).reshape(rounds, width)[:, classes]

    true_positives, support, chosen = counts(truth, truth == guess), counts(truth), counts(guess)
    f1 = np.divide(2 * true_positives, support + chosen, out=np.zeros(true_positives.shape), where=support + chosen > 0)
    return {
        "accuracy_95": [float(v) for v in np.percentile(accuracy, [2.5, 97.5])],
        "macro_f1_95": [float(v) for v in np.percentile(f1.mean(axis=1), [2.5, 97.5])],
    }


def paired_difference(
    labels: np.ndarray, predicted: np.ndarray, baseline: np.ndarray, rounds: int = 2000, seed: int = 0
) -> dict:
    """Accuracy of ``predicted`` minus ``baseline`` (classes of the same photos) with a 95% interval from
    resampling the photos (both runs resampled together), and the photos only one of them gets right."""
    right, right_before = predicted == labels, baseline == labels
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(labels), (rounds, len(labels)))
    differences = right[picks].mean(axis=1) - right_before[picks].mean(axis=1)
    return {
        "accuracy_difference": float(right.mean() - right_before.mean()),
        "difference_95": [float(v) for v in np.percentile(differences, [2.5, 97.5])],
        "right_only_here": int((right & ~right_before).sum()),
        "right_only_in_baseline": int((~right & right_before).sum()),
    }


def baseline_predictions(path: Path, photos: list[str]) -> np.ndarray:
    """Our predicted classes in an earlier ``--json`` of this benchmark, in the order of ``photos``."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (give the --json of an earlier run)")
    record = json.loads(path.read_text())
    if "photos" not in record:
        raise SystemExit(f"{path}: no per-photo predictions in it (written before they were stored); run it again")
    earlier = dict(zip(record["photos"], record["results"]["ours"]["predicted"], strict=True))
    missing = [photo for photo in photos if photo not in earlier]
    if missing or len(earlier) != len(photos):
        counts = f"{len(earlier)} there, {len(photos)} here, {len(missing)} of these missing there"
        raise SystemExit(f"{path}: not the same photos ({counts})")
    return np.array([earlier[photo] for photo in photos])


def grey_canvas() -> Image.Image:
    """An empty mid-grey ``GROUP_CANVAS``, as large as multiface.jpg, for photos to be pasted on."""
    return Image.new("RGB", GROUP_CANVAS, (128, 128, 128))


def on_group_canvas(photos: list[tuple[Path, int]], folder: Path) -> list[tuple[Path, int]]:
    """Each photo at half size in the middle of a grey ``GROUP_CANVAS``, saved as PNG in ``folder``; a file that
    is not a readable image stays as it is, for the scoring to report and count as "no face"."""
    pasted = []
    for index, (path, label) in enumerate(photos):
        try:
            photo = load_image(path)
        except ImageError:
            pasted.append((path, label))
            continue
        half = photo.resize((photo.width // 2, photo.height // 2), Image.Resampling.LANCZOS)
        canvas = grey_canvas()
        canvas.paste(half, ((GROUP_CANVAS[0] - half.width) // 2, (GROUP_CANVAS[1] - half.height) // 2))
        target = folder / f"{index}.png"
        canvas.save(target)
        pasted.append((target, label))
    return pasted


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
        rows[row] = largest_face_probabilities(faces, classifier.emotions)
    return rows


def largest_face_probabilities(faces: list, emotions: tuple[str, ...]) -> np.ndarray:
    """The calibrated probabilities (C,) of the largest of ``faces`` (by box area); NaN where there is none."""
    if not faces:
        return np.full(len(emotions), np.nan, dtype=np.float32)
    largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return np.array([largest.probabilities[e] for e in emotions], dtype=np.float32)


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
    row("accuracy, 95% interval", ["{:.1%} - {:.1%}".format(*r["accuracy_95"]) for r in results.values()])
    row("macro-F1", [f"{r['macro_f1']:.3f}" for r in results.values()])
    row("macro-F1, 95% interval", ["{:.3f} - {:.3f}".format(*r["macro_f1_95"]) for r in results.values()])
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
    parser.add_argument(
        "--min-face-fraction",
        type=float,
        default=DetectionSettings().min_face_fraction,
        help="smallest face looked for first, as a share of the photo's shorter side, ours only (default: the app's)",
    )
    parser.add_argument("--group-photo", action="store_true", help="score the photos pasted small on a large canvas")
    parser.add_argument("--baseline", type=Path, help="an earlier --json of this benchmark to compare ours with")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"error: {args.data} is not a folder")
    torch.set_num_threads(args.threads)
    emotions = load_classifier(args.weights).emotions
    photos = labelled_photos(args.data, emotions)
    names = [path.relative_to(args.data).as_posix() for path, _ in photos]
    before = baseline_predictions(args.baseline, names) if args.baseline else None
    labels = np.array([label for _, label in photos])
    settings = DetectionSettings(pyramid_factor=args.pyramid_factor, min_face_fraction=args.min_face_fraction)
    with tempfile.TemporaryDirectory() as folder:
        scored = on_group_canvas(photos, Path(folder)) if args.group_photo else photos
        results = {"ours": score(labels, ours(scored, args.weights, settings), emotions)}
        if not args.no_peer:
            try:
                results["fer package"] = score(labels, fer_package(scored, emotions), emotions)
            except (RuntimeError, subprocess.CalledProcessError) as error:
                print(f"`fer` package column skipped: {error}", file=sys.stderr)
    canvas = f", pasted at half size on a {GROUP_CANVAS[0]}x{GROUP_CANVAS[1]} canvas" if args.group_photo else ""
    setup = (
        f"weights {args.weights}, pyramid factor {args.pyramid_factor}, "
        f"min face fraction {args.min_face_fraction}{canvas}, CPU {cpu_model()}"
    )
    print(f"{len(photos)} photos in {args.data}, {setup}\n")
    print(to_markdown(results, emotions))
    print("\nOurs, confusion matrix:\n" + confusion_markdown(results["ours"], emotions))
    comparison = None
    if before is not None:
        comparison = paired_difference(labels, np.array(results["ours"]["predicted"]), before)
        print(
            f"\nAgainst {args.baseline}: accuracy {comparison['accuracy_difference']:+.1%} "
            "(95% interval {:+.1%} to {:+.1%}); ".format(*comparison["difference_95"])
            + f"right only here: {comparison['right_only_here']} photos, "
            f"only there: {comparison['right_only_in_baseline']}"
        )
    if args.json:
        record = {"data": str(args.data), "weights": str(args.weights), "group_photo": args.group_photo}
        record |= {"pyramid_factor": args.pyramid_factor, "min_face_fraction": args.min_face_fraction}
        record |= {"cpu": cpu_model(), "photos": names, "results": results}
        if comparison is not None:
            record["baseline"] = {"file": str(args.baseline)} | comparison
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
