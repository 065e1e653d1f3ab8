"""How honest is the shipped temperature? Two-fold cross-fitting on a labelled split.

The shipped temperature is fitted on all of PublicTest, so its ECE there is measured in-sample.
This fits a temperature on one random half and measures ECE on the other half (and the reverse),
which estimates the ECE on faces the temperature never saw (such as PrivateTest).

    python -m benchmarks.calibration --data ../shared/fer2013/fer2013.zip
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from fer_model import DEFAULT_WEIGHTS, load_classifier
from fer_model.dataset import load_faces
from fer_model.metrics import expected_calibration_error, fit_temperature


def cross_fitted_ece(logits: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> dict:
    order = np.random.default_rng(seed).permutation(len(labels))
    halves = np.array_split(order, 2)
    rows = []
    for fit, held_out in (halves, halves[::-1]):
        temperature = fit_temperature(logits[fit], labels[fit])
        probabilities = torch.softmax(logits[held_out] / temperature, dim=1).numpy()
        rows.append(
            {"temperature": temperature, "ece": expected_calibration_error(probabilities, labels[held_out].numpy())}
        )
    return {"folds": rows, "mean_ece": float(np.mean([row["ece"] for row in rows]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="FER2013 source; its test split is used")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--json", help="write the result as JSON to this file")
    args = parser.parse_args()

    classifier = load_classifier(args.weights)
    faces = load_faces(args.data, "test")
    logits = classifier.logits(classifier.to_input(faces.images), tta=True)
    result = cross_fitted_ece(logits, torch.from_numpy(faces.labels))
    for index, fold in enumerate(result["folds"], 1):
        print(f"fold {index}: temperature {fold['temperature']:.3f}, held-out ECE {fold['ece']:.2%}")
    print(f"mean held-out ECE {result['mean_ece']:.2%} (shipped temperature {classifier.meta.temperature:.3f})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
