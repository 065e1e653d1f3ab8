"""Are the fast heat maps the same maps? ``heatmaps`` against pytorch-grad-cam hooked inside the whole network.

    python -m benchmarks.cam_equivalence --data ../shared/fer2013/fer2013.zip [--limit 600] [--json OUT]

``heatmaps`` feeds the classifier's feature maps to a module holding only the head, so the backward pass
skips the convolutions. The reference is what pytorch-grad-cam computes with its hooks on the last
convolution stage of the full network, as the app did before. For each CAM method, on the first
``--limit`` PublicTest faces (their predicted emotion explained): the largest absolute difference of any
pixel and the mean and lowest per-face correlation.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fer_model import CAM_METHODS, load_classifier
from fer_model.explain import heatmaps
from fer_model.training.dataset import load_faces


def reference_maps(classifier, crops: np.ndarray, targets: list[int], method: str) -> np.ndarray:
    model = copy.deepcopy(classifier.model)
    with CAM_METHODS[method](model=model, target_layers=[model.features[-1]]) as cam:
        maps = cam(input_tensor=classifier.to_input(crops), targets=[ClassifierOutputTarget(t) for t in targets])
    return maps.astype(np.float32)


def compare(data: str, limit: int, batch: int = 100) -> list[dict]:
    classifier = load_classifier()
    crops = load_faces(data, "test").images[:limit]
    targets = classifier.probabilities(crops).argmax(axis=1).tolist()
    records = []
    for method in CAM_METHODS:
        ours, reference = [], []
        for start in range(0, len(crops), batch):
            chunk, chunk_targets = crops[start : start + batch], targets[start : start + batch]
            ours.append(heatmaps(classifier, chunk, [classifier.emotions[t] for t in chunk_targets], method))
            reference.append(reference_maps(classifier, chunk, chunk_targets, method))
        ours, reference = np.concatenate(ours), np.concatenate(reference)
        varied = [i for i in range(len(ours)) if ours[i].std() > 0 and reference[i].std() > 0]
        correlations = [np.corrcoef(ours[i].ravel(), reference[i].ravel())[0, 1] for i in varied]
        records.append(
            {
                "method": method,
                "faces": len(ours),
                "max_abs_difference": float(np.abs(ours - reference).max()),
                "mean_correlation": float(np.mean(correlations)),
                "min_correlation": float(np.min(correlations)),
            }
        )
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/fer2013/fer2013.zip", help="FER2013 with a test split")
    parser.add_argument("--limit", type=int, default=600, help="first N PublicTest faces (default 600)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = compare(args.data, args.limit)
    print("| CAM method | faces | max abs difference | mean correlation | lowest correlation |\n|---|---|---|---|---|")
    for r in records:
        print(
            f"| {r['method']} | {r['faces']} | {r['max_abs_difference']:.1e} | {r['mean_correlation']:.6f} "
            f"| {r['min_correlation']:.6f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")


if __name__ == "__main__":
    main()
