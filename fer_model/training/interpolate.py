"""Weight-space interpolation between a network and a fine-tune of it (WiSE-FT, Wortsman et al. 2022).

Two networks that share a starting point lie in one basin of the loss, so their weighted mean is a
working network too; interpolating between the start and its fine-tune often transfers to shifted data
better than either end. Batch-norm statistics are interpolated with the weights, and the result is
calibrated afresh, as ``train`` does at its end.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from ..model import ModelMeta, WeightsError, load_weights, save_weights
from .evaluate import calibrate

# What makes two weights files interchangeable inputs: the same network shape and preprocessing.
_MUST_MATCH = ("emotions", "image_size", "pixel_mean", "pixel_std", "equalize", "config")


def interpolate(
    start: str | Path, end: str | Path, alpha: float, data: str | Path, out: str | Path, balanced: bool = True
) -> ModelMeta:
    """Write ``(1 - alpha) * start + alpha * end`` (every tensor) to ``out``, calibrated on the test split of
    ``data`` (see :func:`calibrate`). Returns its metadata."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    (start_model, start_meta), (end_model, end_meta) = load_weights(start), load_weights(end)
    differing = [key for key in _MUST_MATCH if getattr(start_meta, key) != getattr(end_meta, key)]
    if differing:
        raise WeightsError(f"{start} and {end} differ in {', '.join(differing)}: only fine-tunes of one network mix")
    end_state = end_model.state_dict()
    mixed = {
        name: torch.lerp(tensor, end_state[name], alpha) if tensor.is_floating_point() else end_state[name]
        for name, tensor in start_model.state_dict().items()
    }
    end_model.load_state_dict(mixed)
    interpolation = {"start": str(start), "end": str(end), "alpha": alpha}
    training = {"interpolation": interpolation, "start": start_meta.training, "end": end_meta.training}
    save_weights(end_model, replace(end_meta, training=training), out)
    return calibrate(out, data, balanced=balanced)
