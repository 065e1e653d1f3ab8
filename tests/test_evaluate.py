import json

import numpy as np
import pytest

from fer_model.cli import main
from fer_model.evaluate import evaluate
from fer_model.metrics import expected_calibration_error, fit_temperature
from fer_model.model import EmotionNet, ModelConfig, ModelMeta, save_weights
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


def test_cli_writes_the_json_contract(tmp_path, tiny_weights, capsys):
    write_kaggle_zip(tmp_path / "fer.zip", count=21)
    out = tmp_path / "report.json"
    assert (
        main(["evaluate", "--data", str(tmp_path / "fer.zip"), "--weights", str(tiny_weights), "--json", str(out)]) == 0
    )
    _check_contract(json.loads(out.read_text()), n=21)
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "macro-F1" in printed and "confusion" in printed


def test_csv_usage_selects_the_scored_rows(tmp_path, tiny_weights):
    write_csv(tmp_path / "fer2013.csv", per_usage=7)
    _check_contract(evaluate(tmp_path / "fer2013.csv", tiny_weights, usage="PrivateTest"), n=7)
    _check_contract(evaluate(tmp_path / "fer2013.csv", tiny_weights), n=14)


def test_ece_of_hand_made_predictions():
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    # bin 0.9: confidence 0.9, accuracy 0.5; bin 0.6: confidence 0.6, accuracy 1.0
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)


def test_temperature_undoes_overconfidence():
    import torch

    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 7, generator=generator) * 2
    labels = torch.multinomial(torch.softmax(true_logits, 1), 1, generator=generator).squeeze(1)
    assert fit_temperature(true_logits * 3, labels) == pytest.approx(3.0, rel=0.1)


@pytest.mark.shared
def test_shipped_weights_on_public_test(fer2013_zip):
    report = evaluate(fer2013_zip)
    _check_contract(report, n=3589)
    assert report["accuracy"] >= 0.68
    # A regression guard, not the 3% target: the shipped model measures 3.6% (see weights/MODEL_CARD.md).
    assert report["ece"] <= 0.05
