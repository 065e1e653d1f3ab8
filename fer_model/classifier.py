"""48x48 grayscale faces in, calibrated emotion probabilities out: the one test-time procedure.

``evaluate``, the photo pipeline and the app all classify through :class:`EmotionClassifier`, so
the normalisation, the flip averaging and the calibration come from one place: the weights file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from .metrics import calibrated_probabilities
from .model import DEFAULT_WEIGHTS, EmotionNet, ModelMeta, load_weights


class EmotionClassifier:
    """A loaded model with its metadata; safe to share between threads (calls are serialised)."""

    def __init__(self, model: EmotionNet, meta: ModelMeta):
        self.model = model.eval()
        self.meta = meta
        self.lock = threading.RLock()

    @classmethod
    def load(cls, path: str | Path = DEFAULT_WEIGHTS) -> EmotionClassifier:
        return cls(*load_weights(path))

    @property
    def emotions(self) -> tuple[str, ...]:
        return self.meta.emotions

    def to_input(self, faces: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (N, 48, 48) faces -> normalised float32 (N, 1, 48, 48) model input."""
        faces = np.asarray(faces)
        pixels = torch.as_tensor(faces, dtype=torch.float32).reshape(len(faces), 1, *faces.shape[-2:])
        return (pixels / 255.0 - self.meta.pixel_mean) / self.meta.pixel_std

    def logits(self, inputs: torch.Tensor, tta: bool = True, batch_size: int = 512) -> torch.Tensor:
        """Uncalibrated logits (N, C) for normalised inputs; ``tta`` averages with the mirror image."""
        outputs = []
        with self.lock, torch.inference_mode():
            self.model.eval()
            for batch in inputs.split(batch_size):
                if tta:
                    both = self.model(torch.cat([batch, batch.flip(-1)]))
                    outputs.append((both[: len(batch)] + both[len(batch) :]) / 2)
                else:
                    outputs.append(self.model(batch))
        return torch.cat(outputs) if outputs else torch.empty(0, len(self.emotions))

    def calibrate(self, logits: torch.Tensor) -> np.ndarray:
        """Calibrated probabilities float32 (N, C), rows summing to 1, from uncalibrated logits."""
        return calibrated_probabilities(logits, self.meta.logit_scale, self.meta.logit_bias)

    def probabilities(self, faces: np.ndarray, tta: bool = True) -> np.ndarray:
        """Calibrated probabilities float32 (N, C), rows summing to 1, for uint8 (N, 48, 48) faces."""
        return self.calibrate(self.logits(self.to_input(faces), tta=tta))
