import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fer_model import EmotionClassifier
from fer_model.cli import main
from fer_model.metrics import expected_calibration_error, fit_logit_scaling
from fer_model.model import EmotionNet, ModelConfig, ModelMeta, load_weights, save_weights
from fer_model.training.dataset import load_faces
from fer_model.training.evaluate import calibrate, evaluate
from tests.fer_fixtures import write_csv, write_kaggle_zip


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_MODEL_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tiny_weights(tmp_path):
    config = ModelConfig(widths=(8, 16, 16, 32))
    path = tmp_path / "tiny.safetensors"
    save_weights(EmotionNet(config).eval(), ModelMeta(config=config.__dict__ | {"widths": list(config.widths)}), path)
    return path


def _check_contract(report: dict, n: int):
    assert set(report) >= {"n", "accuracy", "macro_f1", "ece", "per_class", "confusion"}
    assert report["n"] == n and 0 <= report["accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1
    assert 0 <= report["ece"] <= 1
    assert list(report["per_class"]) == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    for scores in report["per_class"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
    confusion = np.array(report["confusion"])
    assert confusion.shape == (7, 7) and confusion.sum() == n
    assert [scores["support"] for scores in report["per_class"].values()] == confusion.sum(axis=1).tolist()
    assert np.trace(confusion) / n == pytest.approx(report["accuracy"])
    bins = report["reliability"]
    assert sum(row["count"] for row in bins) == n
    gaps = sum(row["count"] * abs(row["accuracy"] - row["confidence"]) for row in bins)
    assert gaps / n == pytest.approx(report["ece"])


def test_cli_writes_the_json_contract(tmp_path, tiny_weights, capsys):
    write_kaggle_zip(tmp_path / "fer.zip", count=21)
    out = tmp_path / "report.json"
    assert (
        main(["evaluate", "--data", str(tmp_path / "fer.zip"), "--weights", str(tiny_weights), "--json", str(out)]) == 0
    )
    _check_contract(json.loads(out.read_text()), n=21)
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "macro-F1" in printed and "confusion" in printed


def test_calibrate_fits_the_calibration_and_keeps_the_network(tmp_path, tiny_weights):
    write_kaggle_zip(tmp_path / "fer.zip", count=70)
    before = tiny_weights.read_bytes()
    out = tmp_path / "calibrated.safetensors"
    assert (
        main(["calibrate", "--data", str(tmp_path / "fer.zip"), "--weights", str(tiny_weights), "--out", str(out)]) == 0
    )
    assert tiny_weights.read_bytes() == before
    (old_model, old_meta), (new_model, new_meta) = load_weights(tiny_weights), load_weights(out)
    for name, tensor in old_model.state_dict().items():
        torch.testing.assert_close(new_model.state_dict()[name], tensor)
    assert new_meta.config == old_meta.config and new_meta.logit_bias != old_meta.logit_bias

    faces = load_faces(tmp_path / "fer.zip", "test")
    labels = torch.from_numpy(faces.labels)

    def nll(meta):
        probabilities = EmotionClassifier(new_model, meta).probabilities(faces.images)
        return F.nll_loss(torch.from_numpy(probabilities).log(), labels).item()

    assert nll(new_meta) < nll(old_meta)


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
def test_cli_names_a_missing_data_or_weights_file(tmp_path, tiny_weights, capsys, command):
    write_kaggle_zip(tmp_path / "fer.zip", count=7)
    missing = tmp_path / "missing.zip"
    assert main([command, "--data", str(missing), "--weights", str(tiny_weights)]) == 2
    assert f"error: {missing}: no such file or folder" in capsys.readouterr().err
    no_weights = tmp_path / "none.safetensors"
    assert main([command, "--data", str(tmp_path / "fer.zip"), "--weights", str(no_weights)]) == 2
    assert f"weights file not found: {no_weights}" in capsys.readouterr().err
    assert not no_weights.exists()


def test_csv_usage_selects_the_scored_rows(tmp_path, tiny_weights):
    write_csv(tmp_path / "fer2013.csv", per_usage=7)
    _check_contract(evaluate(tmp_path / "fer2013.csv", tiny_weights, usage="PrivateTest"), n=7)
    _check_contract(evaluate(tmp_path / "fer2013.csv", tiny_weights), n=14)


def test_ece_of_hand_made_predictions():
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    # bin 0.9: confidence 0.9, accuracy 0.5; bin 0.6: confidence 0.6, accuracy 1.0
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)


def _sample_labels(true_logits, generator):
    return torch.multinomial(torch.softmax(true_logits, 1), 1, generator=generator).squeeze(1)


def test_temperature_scaling_undoes_overconfidence():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 7, generator=generator) * 2
    labels = _sample_labels(true_logits, generator)
    scale, bias = fit_logit_scaling(true_logits * 3, labels, per_class=False)
    assert scale == pytest.approx((1 / 3,) * 7, rel=0.1) and bias == (0.0,) * 7


def test_vector_scaling_undoes_per_class_distortion():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(8000, 7, generator=generator) * 2
    labels = _sample_labels(true_logits, generator)
    distortion = torch.tensor([2.0, 1.0, 0.5, 1.5, 1.0, 3.0, 1.0])
    distorted = true_logits * distortion + torch.arange(7.0)
    scale, bias = fit_logit_scaling(distorted, labels)
    assert np.array(scale) == pytest.approx(1 / distortion.numpy(), rel=0.15)
    calibrated = torch.softmax(distorted * torch.tensor(scale) + torch.tensor(bias), 1).numpy()
    assert expected_calibration_error(calibrated, labels.numpy()) < 0.02
    assert expected_calibration_error(torch.softmax(distorted, 1).numpy(), labels.numpy()) > 0.05


@pytest.mark.shared
def test_shipped_weights_on_public_test(fer2013_zip):
    report = evaluate(fer2013_zip)
    _check_contract(report, n=3589)
    assert report["accuracy"] >= 0.68
    assert report["ece"] <= 0.03


def test_balanced_bias_removes_the_split_priors():
    from fer_model.metrics import balanced_bias, calibrated_probabilities

    bias = balanced_bias((0.0, 0.5), np.array([0, 0, 0, 1]))
    np.testing.assert_allclose(bias, (-np.log(0.75), 0.5 - np.log(0.25)))
    # Probabilities calibrated for priors (0.75, 0.25) become p / prior, renormalised.
    logits = torch.tensor([[0.3, -0.2], [1.0, 1.0]])
    skewed = calibrated_probabilities(logits, (1.0, 1.0), (0.0, 0.5))
    balanced = calibrated_probabilities(logits, (1.0, 1.0), bias)
    expected = skewed / np.array([0.75, 0.25])
    np.testing.assert_allclose(balanced, expected / expected.sum(1, keepdims=True), rtol=1e-5)


def test_calibrate_for_equal_priors_or_the_splits(tmp_path, tiny_weights):
    data = tmp_path / "fer.zip"
    write_kaggle_zip(data, count=21)
    split = calibrate(tiny_weights, data, out=tmp_path / "split.safetensors", balanced=False)
    equal = calibrate(tiny_weights, data, out=tmp_path / "equal.safetensors")
    assert split.logit_scale == equal.logit_scale
    labels = load_faces(data, "test").labels
    expected = np.asarray(split.logit_bias) - np.log(np.bincount(labels, minlength=7) / len(labels))
    np.testing.assert_allclose(equal.logit_bias, expected, rtol=1e-6)
