"""Augmentation of whole batches of tensors: one affine warp and a few pixel ops per batch.

Per-sample PIL transforms would dominate the cost of training on two CPU cores; these run as a
handful of batched tensor ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_deg: float = 12.0
    scale_range: tuple[float, float] = (0.88, 1.12)
    max_shift: float = 0.10  # fraction of the image size
    brightness: float = 0.25  # additive, in units of the [0, 1] pixel range
    contrast: float = 0.25  # multiplicative, around each image's mean
    sharpen_prob: float = 0.5  # train images are softer than test ones (see the data README)
    erase_prob: float = 0.5
    erase_size: tuple[float, float] = (0.15, 0.4)  # side of the erased square, fraction of the image


def augment_batch(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Augment float32 (N, 1, H, W) images in [0, 1]; returns the same shape, clamped to [0, 1]."""
    n, _, height, width = images.shape

    def uniform(low: float, high: float, size=(n,)) -> torch.Tensor:
        return torch.rand(size, generator=generator) * (high - low) + low

    angle = uniform(-config.max_rotation_deg, config.max_rotation_deg) * math.pi / 180
    scale = uniform(*config.scale_range)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    shift = uniform(-config.max_shift, config.max_shift, (n, 2)) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)

    sharpen = (torch.rand(n, 1, 1, 1, generator=generator) < config.sharpen_prob).float()
    blurred = F.avg_pool2d(F.pad(out, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    amount = uniform(0.0, 1.0, (n, 1, 1, 1)) * sharpen
    out = out + amount * (out - blurred)

    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    contrast = uniform(1 - config.contrast, 1 + config.contrast, (n, 1, 1, 1))
    brightness = uniform(-config.brightness, config.brightness, (n, 1, 1, 1))
    out = (out - mean) * contrast + mean + brightness

    erase = torch.rand(n, generator=generator) < config.erase_prob
    side = (uniform(*config.erase_size) * height).long().clamp(min=1)
    top = (torch.rand(n, generator=generator) * (height - side + 1)).long()
    left = (torch.rand(n, generator=generator) * (width - side + 1)).long()
    rows = torch.arange(height).view(1, height, 1)
    cols = torch.arange(width).view(1, 1, width)
    mask = (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + side).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + side).view(n, 1, 1))
        & erase.view(n, 1, 1)
    )
    out = out.masked_fill(mask.unsqueeze(1), 0.5)
    return out.clamp(0.0, 1.0)
