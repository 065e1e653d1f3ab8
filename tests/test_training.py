import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from fer_model.classifier import EmotionClassifier
from fer_model.model import EmotionNet, ModelConfig, ModelMeta, load_weights, save_weights
from fer_model.training import train as training
from fer_model.training.augment import AugmentConfig
from fer_model.training.dataset import load_faces
from fer_model.training.train import TrainConfig, train
from tests.fer_fixtures import write_kaggle_zip

TINY = ModelConfig(widths=(8, 16, 16, 32))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_MODEL_CACHE", str(tmp_path / "cache"))


def _weights(path):
    return load_weights(path)[0].state_dict()


def test_resume_continues_where_training_stopped(tmp_path, monkeypatch):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=40)
    config = TrainConfig(epochs=3, batch_size=16, model=TINY, ema_decay=0.9)
    uninterrupted = train(data, tmp_path / "a", config)

    real_epoch = training.train_one_epoch

    def stop_in_epoch_3(*args):
        if args[-1] == 3:
            raise KeyboardInterrupt
        return real_epoch(*args)

    monkeypatch.setattr(training, "train_one_epoch", stop_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train(data, tmp_path / "b", config)
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["epoch"] == 2
    monkeypatch.setattr(training, "train_one_epoch", real_epoch)
    resumed = train(data, tmp_path / "b", config, resume=True)

    for name, tensor in _weights(uninterrupted).items():
        torch.testing.assert_close(_weights(resumed)[name], tensor, msg=name)
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2, 3]


def test_swa_ships_the_mean_of_the_weights_at_each_epochs_end(tmp_path, monkeypatch):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=40)
    epoch_ends = []
    real_epoch = training.train_one_epoch

    def recording_epoch(classifier, *args):
        result = real_epoch(classifier, *args)
        epoch_ends.append({name: value.clone() for name, value in classifier.model.state_dict().items()})
        return result

    monkeypatch.setattr(training, "train_one_epoch", recording_epoch)
    config = TrainConfig(epochs=3, batch_size=16, model=TINY, swa=True, peak_lr=0.05, precision="fp32")
    shipped = _weights(train(data, tmp_path / "run", config))

    assert len(epoch_ends) == 3
    for name, tensor in shipped.items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, torch.stack([end[name] for end in epoch_ends]).mean(0), msg=name)
    assert not torch.equal(shipped["features.stage1.0.weight"], epoch_ends[-1]["features.stage1.0.weight"])
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["lr"] for row in rows] == [0.05] * 3


@pytest.mark.shared
def test_short_real_run_beats_chance(fer2013_zip, tmp_path):
    """4 epochs on 6,000 real train images; the most frequent class alone scores 24.9% on PublicTest."""
    config = TrainConfig(
        epochs=4,
        limit_train=6000,
        batch_size=64,
        peak_lr=0.1,
        ema_decay=0.9,
        model=ModelConfig(widths=(16, 32, 64, 128)),
        augment=AugmentConfig(max_rotation_deg=5, erase_prob=0.0, sharpen_prob=0.0),
    )
    weights = train(fer2013_zip, tmp_path / "run", config)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(np.isfinite(row["train_loss"]) for row in rows)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert rows[-1]["val_accuracy"] > 0.32
    meta = load_weights(weights)[1]
    assert meta.training["train_images"] == 6000 and all(0.2 < scale < 5 for scale in meta.logit_scale)


@pytest.mark.parametrize("equalize", [True, False])
def test_training_writes_its_preprocessing_into_the_weights(tmp_path, equalize):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=40)
    config = TrainConfig(epochs=1, batch_size=16, model=TINY, equalize=equalize, precision="fp32")
    meta = load_weights(train(data, tmp_path / "run", config))[1]
    assert meta.equalize is equalize and meta.training["bfloat16"] is False and meta.training["hardware"]


def test_warm_start_begins_from_the_given_weights(tmp_path):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=40)
    first = train(data, tmp_path / "a", TrainConfig(epochs=1, batch_size=16, model=TINY))
    rows = []
    for name, init in (("cold", None), ("warm", str(first))):
        config = TrainConfig(epochs=1, batch_size=16, model=ModelConfig(widths=(8, 8, 8, 8)), init=init, peak_lr=1e-9)
        weights = train(data, tmp_path / name, config)
        rows.append(load_weights(weights)[0])
    # A warm start keeps the initial network's shape and (at a negligible learning rate) its weights.
    assert rows[0].config.widths == (8, 8, 8, 8) and rows[1].config.widths == TINY.widths
    torch.testing.assert_close(rows[1].features.stage1[0].weight, load_weights(first)[0].features.stage1[0].weight)


def test_precision_auto_uses_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(training, "_cpu_has_native_bf16", lambda: False)
    assert training.choose_device_and_precision(TrainConfig(device="cpu"))[1] is False
    monkeypatch.setattr(training, "_cpu_has_native_bf16", lambda: True)
    assert training.choose_device_and_precision(TrainConfig(device="cpu"))[1] is True
    assert training.choose_device_and_precision(TrainConfig(device="cpu", precision="fp32"))[1] is False
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            training.choose_device_and_precision(TrainConfig(device="cuda"))


def test_cpu_model_names_the_vector_instructions_torch_uses(monkeypatch):
    monkeypatch.setattr(training, "_cpu_has_native_bf16", lambda: True)
    assert training.cpu_model().endswith(f" ({torch.backends.cpu.get_cpu_capability()}, native bf16)")
    monkeypatch.setattr(training, "_cpu_has_native_bf16", lambda: False)
    assert training.cpu_model().endswith(f" ({torch.backends.cpu.get_cpu_capability()})")


def test_distillation_loss_is_zero_when_the_student_agrees_and_pulls_towards_the_teacher():
    teacher = torch.tensor([[4.0, 1.0, 0.0, 0.0, 0.0, 0.0, -2.0]])
    assert training.distillation_loss(teacher.clone(), teacher).item() == pytest.approx(0.0, abs=1e-6)
    student = torch.zeros(1, 7, requires_grad=True)
    loss = training.distillation_loss(student, teacher)
    loss.backward()
    assert loss.item() > 0
    assert student.grad[0, 0] < 0 < student.grad[0, 6]  # descent raises the teacher's top class, lowers its last


def test_distillation_makes_the_student_follow_the_teacher_rather_than_the_labels(tmp_path):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=40)
    # A teacher sure that every face shows surprise, whatever the label says.
    teacher_net = EmotionNet(TINY).eval()
    with torch.no_grad():
        teacher_net.head[-1].weight.zero_()
        teacher_net.head[-1].bias.copy_(torch.tensor([0.0, 0, 0, 0, 0, 0, 8]))
    teacher = tmp_path / "teacher.safetensors"
    save_weights(teacher_net, ModelMeta(config=asdict(TINY)), teacher)

    images, labels = torch.from_numpy(load_faces(data, "train").images).unsqueeze(1), load_faces(data, "train").labels
    config = TrainConfig(epochs=12, batch_size=8, model=TINY, peak_lr=0.05, ema_decay=0.5, precision="fp32")
    said_surprise = {}
    for name, weight in (("labels", 0.0), ("teacher", 1.0)):
        student = EmotionClassifier.load(
            train(data, tmp_path / name, replace(config, teacher=str(teacher), distill_weight=weight))
        )
        said_surprise[name] = (student.logits(student.to_input(images)).argmax(1) == 6).float().mean().item()
    assert (labels == 6).mean() < 0.3
    assert said_surprise["teacher"] > 0.9 and said_surprise["labels"] < 0.5
    assert load_weights(tmp_path / "teacher" / "emotion_cnn.safetensors")[1].training["teacher"] == str(teacher)


def test_a_distillation_weight_outside_0_to_1_is_refused(tmp_path):
    with pytest.raises(ValueError, match="between 0 and 1"):
        train(tmp_path / "unused.zip", tmp_path / "run", TrainConfig(distill_weight=1.5))


def test_class_weights_make_every_emotion_count_alike():
    labels = torch.tensor([3] * 25 + [1] * 2 + [0] * 13)  # happy common, disgust rare, no fear at all
    weights = training.class_weights(labels, 7)
    assert weights[1] > weights[0] > weights[3] and weights[2] == 0
    per_class_total = torch.zeros(7).index_add_(0, labels, weights[labels])
    assert torch.allclose(per_class_total[[0, 1, 3]], per_class_total[0].expand(3))
    every_class = torch.cat([labels, torch.arange(7)])
    assert training.class_weights(every_class, 7)[every_class].mean().item() == pytest.approx(1.0)


def test_balanced_training_is_recorded_in_the_weights(tmp_path):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=40)
    config = TrainConfig(epochs=1, batch_size=16, model=TINY, precision="fp32", balance_classes=True)
    meta = load_weights(train(data, tmp_path / "run", config))[1]
    assert meta.training["balance_classes"] is True
