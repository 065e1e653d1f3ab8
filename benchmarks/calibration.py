"""How honest is the shipped calibration? Repeated two-fold cross-fitting on a labelled split.

The shipped calibration is fitted on all of PublicTest, so its ECE there is measured in-sample.
This fits each method on one random half and measures ECE and accuracy on the other half (and the
reverse), over several random splits, which estimates the ECE on faces the calibration never saw
(such as PrivateTest). For scale it also reports the ECE that perfectly calibrated probabilities
show on a half by chance alone: labels drawn from the probabilities themselves.

    python -m benchmarks.calibration --data ../shared/fer2013/fer2013.zip
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from fer_model import DEFAULT_WEIGHTS, load_classifier
from fer_model.metrics import balanced_bias, calibrated_probabilities, expected_calibration_error, fit_logit_scaling
from fer_model.training.evaluate import labelled_logits

# name -> (per_class argument of fit_logit_scaling, None: no calibration; equal class priors)
METHODS = {
    "none": (None, False),
    "temperature": (False, False),
    "vector scaling": (True, False),
    "vector scaling, equal priors": (True, True),
}


def cross_fitted(logits: torch.Tensor, labels: torch.Tensor, method: tuple, splits: int) -> dict:
    per_class, balanced = method
    eces, accuracies = [], []
    for seed in range(splits):
        halves = np.array_split(np.random.default_rng(seed).permutation(len(labels)), 2)
        for fit, held_out in (halves, halves[::-1]):
            if per_class is None:
                scale, bias = (1.0,), (0.0,)
            else:
                scale, bias = fit_logit_scaling(logits[fit], labels[fit], per_class=per_class)
                if balanced:
                    bias = balanced_bias(bias, labels[fit])
            probabilities = calibrated_probabilities(logits[held_out], scale, bias)
            eces.append(expected_calibration_error(probabilities, labels[held_out].numpy()))
            accuracies.append(float(np.mean(probabilities.argmax(1) == labels[held_out].numpy())))
    return {
        "held_out_ece": float(np.mean(eces)),
        "ece_std": float(np.std(eces)),
        "accuracy": float(np.mean(accuracies)),
    }


def chance_ece(probabilities: np.ndarray, draws: int, seed: int = 0) -> float:
    """Mean ECE of these probabilities on half-size samples whose labels are drawn from them."""
    rng = np.random.default_rng(seed)
    eces = []
    for _ in range(draws):
        half = probabilities[rng.choice(len(probabilities), len(probabilities) // 2, replace=False)]
        cumulative = half.cumsum(axis=1)
        labels = (rng.random((len(half), 1)) > cumulative).sum(axis=1).clip(max=half.shape[1] - 1)
        eces.append(expected_calibration_error(half, labels))
    return float(np.mean(eces))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="FER2013 source; its test split is used")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--splits", type=int, default=10, help="random two-fold splits")
    parser.add_argument("--json", help="write the result as JSON to this file")
    args = parser.parse_args()

    classifier = load_classifier(args.weights)
    logits, labels = labelled_logits(classifier, args.data)
    labels = torch.from_numpy(labels)
    result = {name: cross_fitted(logits, labels, method, args.splits) for name, method in METHODS.items()}
    result["chance_ece_of_perfect_calibration"] = chance_ece(classifier.calibrate(logits), draws=2 * args.splits)
    for name in METHODS:
        row = result[name]
        print(
            f"{name:<28} held-out ECE {row['held_out_ece']:.2%} (sd {row['ece_std']:.2%}), "
            f"held-out accuracy {row['accuracy']:.2%}"
        )
    print(f"ECE that perfect calibration shows on a half by chance: {result['chance_ece_of_perfect_calibration']:.2%}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
