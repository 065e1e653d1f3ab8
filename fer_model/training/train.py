"""Train the emotion CNN on FER2013 with two CPU cores in mind.

The whole data set lives in memory as one uint8 tensor; each batch is augmented as a tensor
(``augment.py``). SGD with Nesterov momentum under a one-cycle schedule, label smoothing and an
exponential moving average (EMA) of the weights, which is what gets evaluated and shipped. With
``swa`` (stochastic weight averaging, Izmailov et al. 2018; meant for a warm start) the learning rate
stays at ``peak_lr`` and the shipped weights are the equal average of those at each epoch's end. Every
epoch appends one JSON line to ``metrics.jsonl`` and writes ``checkpoint.pt``; ``resume=True``
continues from it. ``init`` warm-starts from a weights file (fine-tuning). With ``teacher`` the loss mixes
in knowledge distillation (Hinton et al. 2015): the teacher's flip-averaged logits on each clean train face,
computed once, are the soft target for the student's view of the augmented face, as in Noisy Student
training (Xie et al. 2020). At the end vector scaling is
fitted on the validation split and the averaged weights are written as ``emotion_cnn.safetensors`` with
their metadata, which includes the preprocessing the network was trained with.

Precision: bfloat16 autocast is 2-3x faster where the CPU computes bf16 natively (AVX512-BF16 or
AMX) and many times slower where it is emulated (AVX2), so ``precision="auto"`` picks by the CPU's flags.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from ..classifier import EmotionClassifier
from ..metrics import balanced_bias, fit_logit_scaling
from ..model import EmotionNet, ModelConfig, ModelMeta, load_weights, save_weights
from .augment import AugmentConfig, augment_batch
from .dataset import FaceSet, load_faces
from .realign import realign_faces

log = logging.getLogger(__name__)

# Softens both distributions in the distillation loss, so the teacher's ranking of the wrong classes counts.
DISTILL_TEMPERATURE = 2.0


@dataclass
class TrainConfig:
    epochs: int = 70
    batch_size: int = 128
    peak_lr: float = 0.05
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    ema_decay: float = 0.998
    seed: int = 0
    threads: int = 2
    precision: str = "auto"  # "bf16" (autocast), "fp32", or "auto": bf16 where the hardware has it
    device: str = "auto"  # "cpu", "cuda", or "auto": cuda when available
    equalize: bool = False  # histogram-equalise every crop (stored in the weights, applied at inference)
    realign: bool = False  # re-frame the train faces from MTCNN's landmarks, as the photo pipeline does (realign.py)
    balanced: bool = True  # calibrate for equal class priors rather than FER2013's (see metrics.balanced_bias)
    init: str | None = None  # warm start from this weights file (its network shape replaces ``model``)
    swa: bool = False  # constant learning rate; ship the average of the weights at each epoch's end, not the EMA
    balance_classes: bool = False  # weight each emotion's loss by the inverse of its share of the train faces
    teacher: str | None = None  # distil from this weights file (its test-time logits on the clean train faces)
    distill_weight: float = 0.5  # share of the loss that matches the teacher; the rest is cross-entropy with labels
    limit_train: int | None = None  # use only the first N (shuffled) train images, for quick runs
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def _tensors(faces: FaceSet) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(faces.images).unsqueeze(1), torch.from_numpy(faces.labels)


def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: assume emulation
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_device_and_precision(config: TrainConfig) -> tuple[torch.device, bool, str]:
    """The device, whether to use bf16 autocast, and the hardware's name, resolving the "auto" settings."""
    if config.device not in ("auto", "cpu", "cuda") or config.precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"unknown device {config.device!r} or precision {config.precision!r}")
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    if config.precision != "auto":
        bfloat16 = config.precision == "bf16"
    else:
        bfloat16 = torch.cuda.is_bf16_supported() if cuda else _cpu_has_native_bf16()
    where = torch.cuda.get_device_name() if cuda else cpu_model()
    log.info("training on %s in %s (--precision %s)", where, "bf16 autocast" if bfloat16 else "fp32", config.precision)
    return device, bfloat16, where


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it, else the platform's processor, with the vector instructions
    torch uses and whether bf16 is native, e.g. "AMD EPYC (AVX2)": one model name covers CPUs 3x apart."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or platform.machine()
    bf16 = ", native bf16" if _cpu_has_native_bf16() else ""
    return f"{name} ({torch.backends.cpu.get_cpu_capability()}{bf16})"


def class_weights(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Loss weights (classes,) inversely proportional to each class's count: every class weighs the same in all,
    and the weights average 1 over the faces when every class has some (a class with none gets 0)."""
    counts = torch.bincount(labels, minlength=classes).float()
    return torch.where(counts > 0, len(labels) / (classes * counts.clamp(min=1)), 0.0)


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL divergence from the teacher's softened distribution to the student's, scaled by T^2 so that its
    gradients keep the size of a cross-entropy's (Hinton et al. 2015); 0 when the logits agree."""
    t = DISTILL_TEMPERATURE
    target = F.softmax(teacher_logits / t, dim=1)
    return F.kl_div(F.log_softmax(logits / t, dim=1), target, reduction="batchmean") * t * t


def teacher_logits(path: str | Path, images: torch.Tensor) -> torch.Tensor:
    """The teacher's test-time logits (flip-averaged, uncalibrated) for uint8 (N, 1, 48, 48) faces, with its
    own preprocessing."""
    teacher = EmotionClassifier.load(path)
    started = time.perf_counter()
    logits = teacher.logits(teacher.to_input(images))
    log.info("teacher %s: logits for %d faces in %.0f s", path, len(images), time.perf_counter() - started)
    return logits


def train_one_epoch(
    classifier,
    ema,
    optimizer,
    scheduler,
    images,
    labels,
    soft_targets,
    config: TrainConfig,
    generator,
    bfloat16,
    epoch: int,
):
    """One pass over the uint8 (N, 1, 48, 48) ``images``, preprocessed by ``classifier`` as at inference;
    ``ema`` (None with SWA) averages the weights after every step. ``soft_targets``: the teacher's logits
    (N, C) for distillation, or None."""
    model = classifier.model
    device = next(model.parameters()).device
    model.train()
    order = torch.randperm(len(labels), generator=generator)
    total_loss, correct, seen = 0.0, 0, 0
    weights = class_weights(labels, model.config.num_classes).to(device) if config.balance_classes else None
    batches = order.split(config.batch_size)
    progress = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", leave=False, mininterval=2.0, disable=None)
    for index in progress:
        if len(index) < 2:  # batch norm needs two samples
            continue
        augmented = augment_batch(images[index].float() / 255.0, config.augment, generator)
        batch = classifier.to_input((augmented * 255).round().to(torch.uint8))  # the inference preprocessing
        batch = batch.to(device).contiguous(memory_format=torch.channels_last)
        target = labels[index].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
            logits = model(batch)
        loss = F.cross_entropy(logits.float(), target, weight=weights, label_smoothing=config.label_smoothing)
        if soft_targets is not None:
            distilled = distillation_loss(logits.float(), soft_targets[index].to(device))
            loss = (1 - config.distill_weight) * loss + config.distill_weight * distilled
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.update_parameters(model)
        total_loss += loss.item() * len(index)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(index)
        progress.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
    return total_loss / seen, correct / seen, seen


def validation_logits(classifier: EmotionClassifier, images: torch.Tensor) -> torch.Tensor:
    """Logits of the test-time procedure (flip averaging) for uint8 images, on the CPU."""
    return classifier.logits(classifier.to_input(images).to(next(classifier.model.parameters()).device)).cpu()


def train(data: str | Path, out: str | Path, config: TrainConfig, resume: bool = False) -> Path:
    """Train, checkpointing into ``out`` every epoch; returns the path of the shipped weights."""
    if not 0.0 <= config.distill_weight <= 1.0:
        raise ValueError(f"the distillation weight must be between 0 and 1, not {config.distill_weight}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    device, bfloat16, hardware = choose_device_and_precision(config)

    train_faces = load_faces(data, "train")
    if config.realign:
        train_faces = replace(train_faces, images=realign_faces(train_faces.images)[0])
    train_images, train_labels = _tensors(train_faces)
    if config.limit_train:
        keep = torch.randperm(len(train_labels), generator=torch.Generator().manual_seed(config.seed))
        keep = keep[: config.limit_train]
        train_images, train_labels = train_images[keep], train_labels[keep]
    val_images, val_labels = _tensors(load_faces(data, "test"))
    soft_targets = teacher_logits(config.teacher, train_images) if config.teacher else None

    if config.init:
        model, _ = load_weights(config.init)
        log.info("warm start from %s", config.init)
    else:
        model = EmotionNet(config.model)
    model = model.to(device, memory_format=torch.channels_last)
    meta = ModelMeta(equalize=config.equalize, config=asdict(model.config))
    classifier = EmotionClassifier(model, meta)  # its preprocessing is the one training uses
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.peak_lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
    )
    # SWA: an equal average (multi_avg_fn None). Batch-norm statistics are averaged too (use_buffers): no pass
    # over the data to recompute them.
    multi_avg_fn = None if config.swa else get_ema_multi_avg_fn(config.ema_decay)
    average = AveragedModel(model, multi_avg_fn=multi_avg_fn, use_buffers=True)
    if config.swa:
        scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    else:
        steps_per_epoch = len(train_labels) // config.batch_size + 1
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.peak_lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch, pct_start=0.2
        )
    checkpoint_path, metrics_path = out / "checkpoint.pt", out / "metrics.jsonl"
    start_epoch, train_seconds = 1, 0.0
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        average.load_state_dict(state["average"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())  # dropout draws from the global generator
        start_epoch, train_seconds = state["epoch"] + 1, state["train_seconds"]
        log.info("resumed from %s at epoch %d", checkpoint_path, start_epoch)
    elif metrics_path.exists():
        metrics_path.unlink()

    ema = None if config.swa else average  # the average train_one_epoch updates after every step
    for epoch in range(start_epoch, config.epochs + 1):
        started = time.perf_counter()
        loss, accuracy, seen = train_one_epoch(
            classifier,
            ema,
            optimizer,
            scheduler,
            train_images,
            train_labels,
            soft_targets,
            config,
            generator,
            bfloat16,
            epoch,
        )
        if config.swa:
            average.update_parameters(model)
        seconds = time.perf_counter() - started
        train_seconds += seconds
        val_logits = validation_logits(EmotionClassifier(average.module, meta), val_images)
        val_accuracy = (val_logits.argmax(1) == val_labels).float().mean().item()
        val_loss = F.cross_entropy(val_logits, val_labels).item()
        row = {
            "epoch": epoch,
            "train_loss": round(loss, 4),
            "train_accuracy": round(accuracy, 4),
            "val_loss": round(val_loss, 4),
            "val_accuracy": round(val_accuracy, 4),
            "lr": scheduler.get_last_lr()[0],
            "images_per_second": round(seen / seconds, 1),
            "epoch_seconds": round(seconds, 1),
        }
        with metrics_path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        log.info("%s", row)
        torch.save(
            {
                "model": model.state_dict(),
                "average": average.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "epoch": epoch,
                "train_seconds": train_seconds,
                "config": asdict(config),
            },
            checkpoint_path.with_suffix(".tmp"),
        )
        checkpoint_path.with_suffix(".tmp").replace(checkpoint_path)

    final = average.module.eval().to("cpu", memory_format=torch.contiguous_format)
    val_logits = validation_logits(EmotionClassifier(final, meta), val_images)
    logit_scale, logit_bias = fit_logit_scaling(val_logits, val_labels)
    if config.balanced:
        logit_bias = balanced_bias(logit_bias, val_labels)
    meta = replace(
        meta,
        logit_scale=logit_scale,
        logit_bias=logit_bias,
        training={
            **asdict(config),
            "train_images": len(train_labels),
            "train_minutes": round(train_seconds / 60, 1),
            "hardware": hardware,
            "bfloat16": bfloat16,
            "validation": "FER2013 PublicTest (calibration fitted here)",
        },
    )
    weights_path = out / "emotion_cnn.safetensors"
    save_weights(final, meta, weights_path)
    log.info("calibration scale %s, bias %s; weights written to %s", logit_scale, logit_bias, weights_path)
    return weights_path
