"""Calibration: expected calibration error and fitting temperature or vector scaling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> list[dict]:
    """Per non-empty equal-width confidence bin: its range, count, mean confidence and accuracy."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            rows.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "count": int(in_bin.sum()),
                    "confidence": float(confidence[in_bin].mean()),
                    "accuracy": float(correct[in_bin].mean()),
                }
            )
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE with ``bins`` equal-width confidence bins, as a fraction in [0, 1]."""
    rows = reliability_bins(probabilities, labels, bins)
    return float(sum(row["count"] * abs(row["accuracy"] - row["confidence"]) for row in rows) / len(labels))


def calibrated_probabilities(logits: torch.Tensor, scale: Sequence[float], bias: Sequence[float]) -> np.ndarray:
    """softmax(scale * logits + bias) over classes, as float32 (N, C)."""
    return torch.softmax(logits * torch.as_tensor(scale) + torch.as_tensor(bias), dim=1).numpy()


def fit_logit_scaling(
    logits: torch.Tensor, labels: torch.Tensor, per_class: bool = True
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Scale and bias minimising the negative log-likelihood of softmax(scale * logits + bias).

    ``per_class=True`` is vector scaling (a scale and a bias per class, Guo et al. 2017);
    ``per_class=False`` is temperature scaling (one scale, 1 / T, and no bias).
    """
    logits, labels = logits.detach().float(), labels.long()
    classes = logits.shape[1]
    log_scale = torch.zeros(classes if per_class else 1, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=per_class)
    parameters = [log_scale, bias] if per_class else [log_scale]
    optimizer = torch.optim.LBFGS(parameters, lr=0.5, max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits * log_scale.exp() + bias, labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    scale = log_scale.detach().exp().expand(classes)
    return tuple(scale.tolist()), tuple(bias.detach().tolist())


def balanced_bias(bias: Sequence[float], labels: np.ndarray | torch.Tensor) -> tuple[float, ...]:
    """``bias`` minus the log of each class's frequency in ``labels``: calibration fitted on a split with these
    class frequencies then gives probabilities for equal class priors (post-hoc logit adjustment, Menon et al.
    2021). FER2013's frequencies (happy 25%, disgust 1.6%) are not a user's."""
    counts = np.bincount(np.asarray(labels), minlength=len(bias)).clip(min=1)
    return tuple(float(b) for b in np.asarray(bias) - np.log(counts / counts.sum()))
