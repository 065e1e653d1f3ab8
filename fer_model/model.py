"""The emotion CNN and its weights file: a network that carries its own preprocessing facts."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import constants

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "emotion_cnn.safetensors"


class WeightsError(ValueError):
    """A weights file this version cannot use (metadata missing or incomplete)."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network: one VGG-style stage per width, each ending in a 2x2 max-pool."""

    widths: tuple[int, ...] = (48, 96, 192, 384)
    convs_per_stage: int = 2
    dropout: float = 0.4
    num_classes: int = len(constants.EMOTIONS)


@dataclass
class ModelMeta:
    """Everything a caller needs to use the weights, stored inside the weights file."""

    emotions: tuple[str, ...] = constants.EMOTIONS
    image_size: int = constants.IMAGE_SIZE
    pixel_mean: float = constants.PIXEL_MEAN
    pixel_std: float = constants.PIXEL_STD
    # Histogram-equalise every uint8 crop before normalising (training and inference alike).
    equalize: bool = False
    # Calibration, fitted on validation data: probabilities = softmax(logit_scale * logits + logit_bias).
    logit_scale: tuple[float, ...] = (1.0,) * len(constants.EMOTIONS)
    logit_bias: tuple[float, ...] = (0.0,) * len(constants.EMOTIONS)
    config: dict = field(default_factory=lambda: asdict(ModelConfig()))
    training: dict = field(default_factory=dict)


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class EmotionNet(nn.Module):
    """Input float32 (N, 1, 48, 48), normalised; output logits (N, num_classes).

    Softmax (with the fitted calibration) is applied by the caller at inference, so training
    can use a numerically stable cross-entropy on logits.
    """

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        stages, c_in = [], 1
        for index, width in enumerate(config.widths):
            layers = []
            for conv in range(config.convs_per_stage):
                layers += _conv_bn_relu(c_in if conv == 0 else width, width)
            stages.append((f"stage{index + 1}", nn.Sequential(*layers)))
            stages.append((f"pool{index + 1}", nn.MaxPool2d(2)))
            c_in = width
        # The last stage is the CAM target: keep its output at 6x6 by dropping the final pool.
        self.features = nn.Sequential(OrderedDict(stages[:-1]))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(c_in, c_in),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(c_in, config.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def save_weights(model: EmotionNet, meta: ModelMeta, path: str | Path) -> None:
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in model.state_dict().items()}
    save_file(state, str(path), metadata={"fer_model": json.dumps(asdict(meta))})


def load_weights(path: str | Path = DEFAULT_WEIGHTS) -> tuple[EmotionNet, ModelMeta]:
    """Load a weights file into an eval-mode model and return it with its metadata."""
    meta = read_meta(path)
    config = dict(meta.config, widths=tuple(meta.config["widths"]))
    model = EmotionNet(ModelConfig(**config))
    model.load_state_dict(load_file(str(path)))
    return model.eval(), meta


def read_meta(path: str | Path = DEFAULT_WEIGHTS) -> ModelMeta:
    """The metadata of a weights file, without loading its tensors."""
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    with safe_open(str(path), framework="pt") as handle:
        raw = json.loads((handle.metadata() or {}).get("fer_model", "{}"))
    missing = [f.name for f in fields(ModelMeta) if f.name not in raw]
    if missing:
        raise WeightsError(f"{path}: the weights' metadata lacks {', '.join(missing)}; retrain or recalibrate them")
    for key in ("emotions", "logit_scale", "logit_bias"):  # JSON gives lists
        raw[key] = tuple(raw[key])
    return ModelMeta(**{f.name: raw[f.name] for f in fields(ModelMeta)})
