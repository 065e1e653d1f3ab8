"""Augmentation of whole batches of tensors: one affine warp and a few pixel ops per batch.

Per-sample PIL transforms would dominate the cost of training on two CPU cores; these run as a
handful of batched tensor ops. Besides the usual geometry and contrast, :data:`REAL_PHOTO` gives a share
of each batch what real photos do to a face and FER2013 rarely shows: a gamma curve, light falling from
one side, blur, sensor noise and JPEG artefacts, and the wider range of crop scales that real detections
give. It is off by default: fine-tuning with it did not help on real photos (see the model card).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_deg: float = 12.0
    scale_range: tuple[float, float] = (0.88, 1.12)  # > 1 zooms in
    max_shift: float = 0.10  # fraction of the image size
    brightness: float = 0.25  # additive, in units of the [0, 1] pixel range
    contrast: float = 0.25  # multiplicative, around each image's mean
    sharpen_prob: float = 0.5  # train images are softer than test ones (see the data README)
    erase_prob: float = 0.5
    erase_size: tuple[float, float] = (0.15, 0.4)  # side of the erased square, fraction of the image
    gamma: float = 0.0  # pixels ** g with log(g) uniform in [-gamma, gamma]
    shading: float = 0.0  # peak of a linear light ramp across the face, in units of the pixel range
    blur_prob: float = 0.0  # Gaussian blur (sigma in blur_sigma); exclusive with sharpening
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    noise_std: float = 0.0  # Gaussian noise, std uniform in [0, noise_std]
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (25, 90)


# What real photos do to a face, for fine-tuning towards them (``train --augment real-photo``).
REAL_PHOTO = AugmentConfig(
    scale_range=(0.85, 1.3), gamma=0.4, shading=0.2, blur_prob=0.25, noise_std=0.03, jpeg_prob=0.25
)
AUGMENTATIONS = {"fer2013": AugmentConfig(), "real-photo": REAL_PHOTO}


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

    # One draw per image picks sharpening (low values), blur (high values) or neither. The real-photo
    # steps draw random numbers only when enabled, so the default recipe's random stream is unchanged.
    kind = torch.rand(n, 1, 1, 1, generator=generator)
    if config.blur_prob > 0:
        sigma = float(uniform(*config.blur_sigma, (1,)))
        out = torch.where(kind >= 1 - config.blur_prob, TF.gaussian_blur(out, [5, 5], [sigma, sigma]), out)
    sharpen = (kind < config.sharpen_prob).float()
    blurred = F.avg_pool2d(F.pad(out, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    amount = uniform(0.0, 1.0, (n, 1, 1, 1)) * sharpen
    out = out + amount * (out - blurred)

    if config.gamma or config.shading:
        out = out.clamp(1e-4, 1.0) ** uniform(-config.gamma, config.gamma, (n, 1, 1, 1)).exp()
        direction = uniform(0, 2 * math.pi, (n, 1, 1))
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        ramp = xs * torch.cos(direction) + ys * torch.sin(direction)  # (n, H, W) in [-1.4, 1.4]
        out = out + (uniform(0, config.shading, (n, 1, 1)) * ramp).unsqueeze(1)

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
    if config.noise_std:
        out = out + torch.randn(out.shape, generator=generator) * uniform(0, config.noise_std, (n, 1, 1, 1))
    out = out.clamp(0.0, 1.0)
    return _jpeg(out, config, generator) if config.jpeg_prob else out


def _jpeg(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Round-trip a random share of the batch through JPEG at random qualities."""
    chosen = (torch.rand(len(images), generator=generator) < config.jpeg_prob).nonzero().flatten().tolist()
    if not chosen:
        return images
    low, high = config.jpeg_quality
    qualities = torch.randint(low, high + 1, (len(chosen),), generator=generator).tolist()
    out = images.clone()
    for index, quality in zip(chosen, qualities, strict=True):
        pixels = (images[index] * 255).round().to(torch.uint8)
        out[index] = TF.jpeg(pixels, quality).float() / 255
    return out
