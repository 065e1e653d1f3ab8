import pytest
import torch

from fer_model.cli import main
from fer_model.model import EmotionNet, ModelConfig, ModelMeta, load_weights, save_weights
from tests.fer_fixtures import write_kaggle_zip


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_MODEL_CACHE", str(tmp_path / "cache"))


def _tiny(path, widths=(8, 16, 16, 32), seed=0):
    torch.manual_seed(seed)
    config = ModelConfig(widths=widths)
    model = EmotionNet(config)
    for module in model.modules():  # batch-norm statistics that differ between the two networks
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    save_weights(model.eval(), ModelMeta(config=config.__dict__ | {"widths": list(widths)}), path)
    return path


def _interpolate(tmp_path, start, end, alpha):
    out = tmp_path / f"mix_{alpha}.safetensors"
    code = main(
        [
            "interpolate",
            str(start),
            str(end),
            "--alpha",
            str(alpha),
            "--data",
            str(tmp_path / "fer.zip"),
            "--out",
            str(out),
        ]
    )
    return code, out


def test_interpolation_mixes_every_tensor_and_calibrates(tmp_path):
    write_kaggle_zip(tmp_path / "fer.zip", count=70)
    start, end = _tiny(tmp_path / "a.safetensors", seed=0), _tiny(tmp_path / "b.safetensors", seed=1)
    code, out = _interpolate(tmp_path, start, end, 0.25)
    assert code == 0
    (a, _), (b, _), (mixed, meta) = load_weights(start), load_weights(end), load_weights(out)
    for name, tensor in mixed.state_dict().items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, 0.75 * a.state_dict()[name] + 0.25 * b.state_dict()[name])
    assert meta.logit_bias != ModelMeta().logit_bias  # fitted on the test split, not left at zero
    assert meta.training["interpolation"] == {"start": str(start), "end": str(end), "alpha": 0.25}

    code, out = _interpolate(tmp_path, start, end, 0.0)
    for name, tensor in load_weights(out)[0].state_dict().items():
        torch.testing.assert_close(tensor, a.state_dict()[name])


def test_networks_of_different_shapes_or_a_bad_alpha_are_refused(tmp_path, capsys):
    write_kaggle_zip(tmp_path / "fer.zip", count=7)
    start = _tiny(tmp_path / "a.safetensors")
    wider = _tiny(tmp_path / "b.safetensors", widths=(8, 16, 16, 64))
    code, out = _interpolate(tmp_path, start, wider, 0.5)
    assert code == 2 and not out.exists()
    assert "differ in config: only fine-tunes of one network mix" in capsys.readouterr().err
    code, out = _interpolate(tmp_path, start, start, 1.5)
    assert code == 2 and not out.exists()
    assert "alpha must be in [0, 1], got 1.5" in capsys.readouterr().err
