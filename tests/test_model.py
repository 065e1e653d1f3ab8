import numpy as np
import torch

from fer_model import DEFAULT_WEIGHTS, EmotionClassifier
from fer_model.model import EmotionNet, ModelConfig, ModelMeta, load_weights, save_weights


def test_logits_shape_and_calibrated_probabilities_sum_to_one():
    model = EmotionNet(ModelConfig(widths=(8, 16, 16, 32))).eval()
    assert model(torch.zeros(5, 1, 48, 48)).shape == (5, 7)
    meta = ModelMeta(logit_scale=(0.6,) * 7, logit_bias=(0.1, -0.2, 0.0, 0.3, 0.0, 0.0, -0.1))
    classifier = EmotionClassifier(model, meta)
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    for tta in (True, False):
        probabilities = classifier.probabilities(faces, tta=tta)
        assert probabilities.shape == (4, 7)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
        assert np.all(probabilities >= 0)
    logits = model(classifier.to_input(faces)).detach()
    expected = torch.softmax(logits * 0.6 + torch.tensor(classifier.meta.logit_bias), 1).numpy()
    np.testing.assert_allclose(classifier.probabilities(faces, tta=False), expected, rtol=1e-5)


def test_flip_averaging_is_mirror_invariant():
    classifier = EmotionClassifier(EmotionNet(ModelConfig(widths=(8, 16, 16, 32))), ModelMeta())
    faces = np.random.default_rng(1).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    np.testing.assert_allclose(
        classifier.probabilities(faces), classifier.probabilities(faces[:, :, ::-1].copy()), atol=1e-5
    )


def test_weights_round_trip_keeps_metadata(tmp_path):
    config = ModelConfig(widths=(8, 16, 16, 32), dropout=0.2)
    model = EmotionNet(config).eval()
    meta = ModelMeta(
        logit_scale=(0.8,) * 7,
        logit_bias=(0.5,) + (0.0,) * 6,
        config={"widths": [8, 16, 16, 32], "convs_per_stage": 2, "dropout": 0.2, "num_classes": 7},
        training={"epochs": 3},
    )
    save_weights(model, meta, tmp_path / "w.safetensors")
    loaded, loaded_meta = load_weights(tmp_path / "w.safetensors")
    assert loaded_meta == ModelMeta(**{**meta.__dict__, "emotions": tuple(meta.emotions)})
    assert not loaded.training
    x = torch.randn(2, 1, 48, 48)
    torch.testing.assert_close(loaded(x), model(x))


def test_shipped_weights_carry_their_metadata_and_fit_the_budget():
    model, meta = load_weights(DEFAULT_WEIGHTS)
    assert meta.emotions == ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    assert meta.image_size == 48 and len(meta.logit_scale) == len(meta.logit_bias) == 7
    assert all(scale > 0 for scale in meta.logit_scale)
    assert isinstance(meta.equalize, bool)
    assert DEFAULT_WEIGHTS.stat().st_size <= 20 * 1024 * 1024


def test_equalisation_named_in_the_metadata_is_applied_at_inference():
    """Histogram equalisation ignores a monotone change of contrast; without it the model sees the change."""
    model = EmotionNet(ModelConfig(widths=(8, 16, 16, 32))).eval()
    faces = np.random.default_rng(2).integers(0, 128, (3, 48, 48), dtype=np.uint8)
    stretched = faces * 2  # the same grey levels in the same order, twice the contrast
    equalising = EmotionClassifier(model, ModelMeta(equalize=True))
    np.testing.assert_allclose(equalising.probabilities(faces), equalising.probabilities(stretched), atol=1e-6)
    torch.testing.assert_close(equalising.to_input(faces), equalising.to_input(stretched))
    plain = EmotionClassifier(model, ModelMeta(equalize=False))
    assert (plain.to_input(faces) - plain.to_input(stretched)).abs().max() > 0.5


def test_weights_without_a_metadata_field_are_refused(tmp_path):
    import json

    import pytest
    from safetensors.torch import save_file

    from fer_model.model import WeightsError

    model = EmotionNet(ModelConfig(widths=(8, 16, 16, 32)))
    meta = ModelMeta(config={"widths": [8, 16, 16, 32], "convs_per_stage": 2, "dropout": 0.4, "num_classes": 7})
    fields = {**meta.__dict__}
    del fields["equalize"]
    save_file(model.state_dict(), str(tmp_path / "old.safetensors"), metadata={"fer_model": json.dumps(fields)})
    with pytest.raises(WeightsError, match="lacks equalize"):
        load_weights(tmp_path / "old.safetensors")
