"""Real photos with known expressions side by side, as in a group photo: what a detection setting does to them.

    python -m benchmarks.crowd [--data DIR] [--grid 3 2] [--photo-size 128] [--max-proposals none 128 64]
                               [--json OUT]

The photos of ``--data`` (default ../shared/realphotos/taiwan-dev) are scaled to ``--photo-size`` pixels and
laid out ``--grid`` columns by rows, each in the middle of its cell, on grey canvases as large as multiface.jpg
(1200x630); 3 x 2 puts six faces on a canvas, 6 x 4 packs twenty-four 30-70 px apart. Each canvas goes through
``analyze`` once per ``--max-proposals`` setting (the candidates MTCNN's later stages look at; "none" for all),
other settings as the app's. A photo is scored by the largest face whose box centre lies in its cell (none: no
face, counted wrong). Reports, per setting: accuracy, photos without a face, the median detection time of a
canvas, and against the first setting, the accuracy difference with its 95% interval (paired resampling of
photos) and how many photos only one of the two gets right.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from benchmarks.harness import cpu_model
from benchmarks.realphotos import (
    DEFAULT_DATA,
    GROUP_CANVAS,
    grey_canvas,
    labelled_photos,
    largest_face_probabilities,
    paired_difference,
    predicted_classes,
)
from fer_model import ImageError, analyze, load_image
from fer_model.faces import DetectionSettings
from fer_model.pipeline import default_classifier


def canvases(paths: list[Path], grid: tuple[int, int], photo_size: int) -> list[tuple[Image.Image, list[tuple]]]:
    """The photos laid out ``grid`` (columns, rows) to a canvas: (canvas, the cell (x1, y1, x2, y2) of each photo).
    A file that is not a readable image is reported and leaves its cell empty."""
    columns, rows = grid
    cell_width, cell_height = GROUP_CANVAS[0] / columns, GROUP_CANVAS[1] / rows
    cells = [
        (column * cell_width, row * cell_height, (column + 1) * cell_width, (row + 1) * cell_height)
        for row in range(rows)
        for column in range(columns)
    ]
    laid_out = []
    for start in range(0, len(paths), len(cells)):
        canvas = grey_canvas()
        for path, (x1, y1, x2, y2) in zip(paths[start : start + len(cells)], cells, strict=False):
            try:
                photo = load_image(path).resize((photo_size, photo_size), Image.Resampling.LANCZOS)
            except ImageError as error:  # its cell stays empty: scored as no face
                print(f"{path}: {error}", file=sys.stderr)
                continue
            canvas.paste(photo, (round((x1 + x2 - photo_size) / 2), round((y1 + y2 - photo_size) / 2)))
        laid_out.append((canvas, cells[: len(paths) - start]))
    return laid_out


def probabilities_per_cell(result, cells: list[tuple], emotions: tuple[str, ...]) -> np.ndarray:
    """(cells, C): the largest face centred in each cell; NaN rows where none is."""

    def inside(face, x1, y1, x2, y2):
        return x1 <= (face.box[0] + face.box[2]) / 2 < x2 and y1 <= (face.box[1] + face.box[3]) / 2 < y2

    return np.stack(
        [largest_face_probabilities([f for f in result.faces if inside(f, *cell)], emotions) for cell in cells]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"emotion folders (default {DEFAULT_DATA})")
    parser.add_argument("--grid", type=int, nargs=2, default=(3, 2), metavar=("COLUMNS", "ROWS"))
    parser.add_argument("--photo-size", type=int, default=128, help="side of each photo on the canvas, pixels")
    parser.add_argument(
        "--max-proposals",
        nargs="+",
        default=["none", "128", "64"],
        help='settings to compare, the first the reference ("none": no limit)',
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"error: {args.data} is not a folder")
    torch.set_num_threads(args.threads)
    classifier = default_classifier()
    photos = labelled_photos(args.data, classifier.emotions)
    labels = np.array([label for _, label in photos])
    limits = [None if value == "none" else int(value) for value in args.max_proposals]
    laid_out = canvases([path for path, _ in photos], tuple(args.grid), args.photo_size)

    results = {}
    for limit in limits:
        settings = DetectionSettings(max_proposals=limit)
        rows, detect_ms = [], []
        for canvas, cells in tqdm(laid_out, desc=f"max proposals {limit}", unit="canvas", disable=None):
            result = analyze(canvas, classifier, settings=settings, explain=False)
            rows.append(probabilities_per_cell(result, cells, classifier.emotions))
            detect_ms.append(result.timings_ms["detect"])
        predicted = predicted_classes(np.concatenate(rows))
        results[str(limit)] = {
            "accuracy": float((predicted == labels).mean()),
            "no_face": int((predicted == len(classifier.emotions)).sum()),
            "detect_ms_median": statistics.median(detect_ms),
            "predicted": predicted.tolist(),
        }

    reference = np.array(results[str(limits[0])]["predicted"])
    print(
        f"{len(photos)} photos of {args.data} at {args.photo_size} px, {args.grid[0]} x {args.grid[1]} to a "
        f"{GROUP_CANVAS[0]}x{GROUP_CANVAS[1]} canvas ({len(laid_out)} canvases); CPU {cpu_model()}\n"
    )
    print(f"| max proposals | accuracy | no face | detection ms per canvas (median) | vs {limits[0]} |")
    print("|---|---|---|---|---|")
    for limit in limits:
        result = results[str(limit)]
        result["vs_reference"] = paired_difference(labels, np.array(result["predicted"]), reference)
        versus = result["vs_reference"]
        comparison = "{:+.1%} ({:+.1%} to {:+.1%}); right only here {}, only there {}".format(
            versus["accuracy_difference"],
            *versus["difference_95"],
            versus["right_only_here"],
            versus["right_only_in_baseline"],
        )
        print(
            f"| {limit} | {result['accuracy']:.1%} | {result['no_face']} | {result['detect_ms_median']:.0f} | "
            f"{comparison} |"
        )
    if args.json:
        record = {"data": str(args.data), "grid": args.grid, "photo_size": args.photo_size, "cpu": cpu_model()}
        record |= {"photos": [path.relative_to(args.data).as_posix() for path, _ in photos], "results": results}
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
