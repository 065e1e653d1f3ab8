"""Score weights on a labelled FER2013 split with the app's own test-time procedure, or calibrate them on it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from ..classifier import EmotionClassifier
from ..metrics import balanced_bias, expected_calibration_error, fit_logit_scaling, reliability_bins
from ..model import DEFAULT_WEIGHTS, ModelMeta, save_weights
from .dataset import load_faces


def labelled_logits(
    classifier: EmotionClassifier, data: str | Path, usage: str | None = None, tta: bool = True
) -> tuple[torch.Tensor, np.ndarray]:
    """Uncalibrated logits (N, C) of the test-time procedure and the labels (N,) of the test split of
    ``data``, read as :func:`evaluate` reads it."""
    faces = load_faces(data, "test", usage=usage)
    return classifier.logits(classifier.to_input(faces.images), tta=tta), faces.labels


def calibrate(
    weights: str | Path,
    data: str | Path,
    usage: str | None = None,
    out: str | Path | None = None,
    balanced: bool = True,
) -> ModelMeta:
    """Fit vector scaling for ``weights`` on the test split of ``data`` and write the weights with it
    to ``out`` (default: over ``weights``). ``balanced``: probabilities for equal class priors instead of
    the split's (see :func:`balanced_bias`). The network is unchanged; returns the new metadata."""
    classifier = EmotionClassifier.load(weights)
    logits, labels = labelled_logits(classifier, data, usage)
    scale, bias = fit_logit_scaling(logits, torch.from_numpy(labels))
    if balanced:
        bias = balanced_bias(bias, labels)
    meta = replace(classifier.meta, logit_scale=scale, logit_bias=bias)
    save_weights(classifier.model, meta, out if out is not None else weights)
    return meta


def evaluate(
    data: str | Path, weights: str | Path = DEFAULT_WEIGHTS, usage: str | None = None, tta: bool = True
) -> dict:
    """Metrics of ``weights`` on the test split of ``data`` (Kaggle ``test/``, an emotion-folder
    set, or the CSV rows of ``usage``; both test halves of a CSV when ``usage`` is None).

    Returns the JSON contract: n, accuracy, macro_f1, ece (calibrated, 15 bins), ece_uncalibrated,
    reliability (the non-empty bins behind ece), logit_scale and logit_bias (the calibration),
    per_class {emotion: precision, recall, f1, support} and confusion (rows = truth).
    """
    classifier = EmotionClassifier.load(weights)
    logits, labels = labelled_logits(classifier, data, usage, tta)
    probabilities = classifier.calibrate(logits)
    uncalibrated = torch.softmax(logits, dim=1).numpy()
    predicted = probabilities.argmax(axis=1)
    classes = list(range(len(classifier.emotions)))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    return {
        "n": int(len(labels)),
        "accuracy": float(np.mean(predicted == labels)),
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "ece": expected_calibration_error(probabilities, labels),
        "ece_uncalibrated": expected_calibration_error(uncalibrated, labels),
        "reliability": reliability_bins(probabilities, labels),
        "logit_scale": list(classifier.meta.logit_scale),
        "logit_bias": list(classifier.meta.logit_bias),
        "per_class": {
            emotion: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, emotion in enumerate(classifier.emotions)
        },
        "confusion": confusion_matrix(labels, predicted, labels=classes).tolist(),
    }


def format_report(report: dict) -> str:
    """A plain-text report: headline metrics, per-class table and confusion matrix."""
    emotions = list(report["per_class"])
    lines = [
        f"images           {report['n']}",
        f"accuracy         {report['accuracy']:.2%}",
        f"macro-F1         {report['macro_f1']:.2%}",
        f"ECE (15 bins)    {report['ece']:.2%} calibrated (vector scaling), {report['ece_uncalibrated']:.2%} before",
        "",
        f"{'emotion':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for emotion, scores in report["per_class"].items():
        lines.append(
            f"{emotion:<10}{scores['precision']:>10.3f}{scores['recall']:>10.3f}"
            f"{scores['f1']:>10.3f}{scores['support']:>10d}"
        )
    lines += ["", f"{'confidence':<12}{'faces':>8}{'stated':>9}{'right':>9}"]
    for row in report["reliability"]:
        bin_range = f"{row['low']:.2f}-{row['high']:.2f}"
        lines.append(f"{bin_range:<12}{row['count']:>8d}{row['confidence']:>9.3f}{row['accuracy']:>9.3f}")
    lines += ["", "confusion (rows = true, columns = predicted)", " " * 10 + "".join(f"{e[:8]:>9}" for e in emotions)]
    for emotion, row in zip(emotions, report["confusion"], strict=True):
        lines.append(f"{emotion:<10}" + "".join(f"{count:>9d}" for count in row))
    return "\n".join(lines)
