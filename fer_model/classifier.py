"""48x48 grayscale faces in, calibrated emotion probabilities out: the one test-time procedure.

``evaluate``, the photo pipeline and the app all classify through :class:`EmotionClassifier`, so
the preprocessing, the flip averaging and the calibration come from one place: the weights file.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.fx.experimental.optimization as fx_optimization
from torch import nn
from torchvision.transforms.v2 import functional as TF

from .metrics import calibrated_probabilities
from .model import DEFAULT_WEIGHTS, EmotionNet, ModelMeta, load_weights


class EmotionClassifier:
    """A loaded model with its metadata; safe to share between threads.

    Inference runs on a frozen copy of the network made at construction (batch norm folded into the
    convolutions, channels-last memory, no parameter gradients), so concurrent calls share no mutable
    state; ``model`` stays the network as given (training keeps updating it).
    """

    def __init__(self, model: EmotionNet, meta: ModelMeta):
        self.model = model.eval()
        self.meta = meta
        frozen = copy.deepcopy(model).requires_grad_(False)
        self._features = fx_optimization.fuse(frozen.features).to(memory_format=torch.channels_last)
        self._head = frozen.head

    @classmethod
    def load(cls, path: str | Path = DEFAULT_WEIGHTS) -> EmotionClassifier:
        return cls(*load_weights(path))

    @property
    def emotions(self) -> tuple[str, ...]:
        return self.meta.emotions

    def to_input(self, faces: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (N, 48, 48) or (N, 1, 48, 48) faces -> normalised float32 (N, 1, 48, 48) model input,
        preprocessed as the weights' metadata says (training calls this too)."""
        pixels = torch.as_tensor(np.asarray(faces), dtype=torch.uint8)
        pixels = pixels.reshape(len(pixels), 1, *pixels.shape[-2:])
        if self.meta.equalize:
            pixels = TF.equalize(pixels)
        return (pixels.float() / 255.0 - self.meta.pixel_mean) / self.meta.pixel_std

    def classify(self, inputs: torch.Tensor, tta: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Uncalibrated logits (N, C) for normalised inputs (``tta`` averages with the mirror image) and the
        feature maps (N, K, h, w) of the inputs as given, which :meth:`cam_model` explains."""
        device = next(self._head.parameters()).device
        inputs = inputs.to(device)
        with torch.inference_mode():
            views = torch.cat([inputs, inputs.flip(-1)]) if tta else inputs
            features = self._features(views.contiguous(memory_format=torch.channels_last))
            logits = self._head(features)
            if tta:
                logits = (logits[: len(inputs)] + logits[len(inputs) :]) / 2
        return logits, features[: len(inputs)]

    def logits(self, inputs: torch.Tensor, tta: bool = True, batch_size: int = 512) -> torch.Tensor:
        """Uncalibrated logits (N, C) for normalised inputs; ``tta`` averages with the mirror image."""
        outputs = [self.classify(batch, tta)[0] for batch in inputs.split(batch_size)]
        return torch.cat(outputs) if outputs else torch.empty(0, len(self.emotions))

    def cam_model(self) -> nn.Sequential:
        """A new module from feature maps (as :meth:`classify` returns them) to logits, for class activation
        maps: its first layer, an ``nn.Identity``, is the target layer. Hooks attached to it touch nothing
        shared, and the backward pass reaches only the small head."""
        return nn.Sequential(nn.Identity(), self._head).eval()

    def calibrate(self, logits: torch.Tensor) -> np.ndarray:
        """Calibrated probabilities float32 (N, C), rows summing to 1, from uncalibrated logits."""
        return calibrated_probabilities(logits, self.meta.logit_scale, self.meta.logit_bias)

    def probabilities(self, faces: np.ndarray, tta: bool = True) -> np.ndarray:
        """Calibrated probabilities float32 (N, C), rows summing to 1, for uint8 (N, 48, 48) faces."""
        return self.calibrate(self.logits(self.to_input(faces), tta=tta))
