"""Heat maps: shape and range, class-specific, no side effects on the shared model; region shares; photo view."""

import threading

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from fer_model import CAM_METHODS, heatmap_on_photo
from fer_model.explain import REGIONS, heatmaps, region_shares
from fer_model.faces import align_face, detect_faces, transform_points

ASTRONAUT = Image.fromarray(skimage.data.astronaut())


@pytest.fixture(scope="module")
def aligned():
    """The astronaut's crop uint8 (48, 48), its photo_to_crop and its landmarks in crop pixels."""
    (face,) = detect_faces(ASTRONAUT)
    crop, photo_to_crop = align_face(ASTRONAUT, face.landmarks)
    return crop, photo_to_crop, transform_points(photo_to_crop, face.landmarks)


def _hooks(model: torch.nn.Module) -> int:
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return sum(len(getattr(module, kind)) for module in model.modules() for kind in kinds)


@pytest.mark.parametrize("method", list(CAM_METHODS))
def test_heatmaps_are_class_specific_maps_in_unit_range(classifier, aligned, method):
    crop = aligned[0]
    maps = heatmaps(classifier, np.stack([crop, crop]), ["happy", "sad"], method)
    assert maps.shape == (2, 48, 48) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert np.abs(maps[0] - maps[1]).mean() > 0.01


def test_explaining_leaves_the_model_as_it_was(classifier, aligned):
    crop = aligned[0]
    before = classifier.probabilities(crop[None])
    with torch.no_grad():  # a caller's no_grad must not silence the gradients CAM needs
        maps = heatmaps(classifier, crop[None], ["happy"])
    assert maps.max() > 0
    model = classifier.model
    assert not model.training and not any(module.training for module in model.modules())
    assert _hooks(model) == 0
    assert all(parameter.grad is None for parameter in model.parameters())
    np.testing.assert_array_equal(classifier.probabilities(crop[None]), before)


def test_concurrent_explanations_match_serial_ones(classifier, aligned):
    crop = aligned[0]
    expected = {emotion: heatmaps(classifier, crop[None], [emotion]) for emotion in ("happy", "angry", "fear")}
    results, errors = {}, []

    def explain(emotion):
        try:
            results[emotion] = heatmaps(classifier, crop[None], [emotion])
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=explain, args=(emotion,)) for emotion in expected]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for emotion, heatmap in expected.items():
        np.testing.assert_allclose(results[emotion], heatmap, atol=1e-5)
    assert _hooks(classifier.model) == 0


def test_bad_requests_are_refused(classifier, aligned):
    crop = aligned[0][None]
    with pytest.raises(ValueError, match="unknown emotion"):
        heatmaps(classifier, crop, ["smug"])
    with pytest.raises(ValueError, match="unknown CAM method"):
        heatmaps(classifier, crop, ["happy"], method="eigencam")
    with pytest.raises(ValueError, match="1 crops but 2 emotions"):
        heatmaps(classifier, crop, ["happy", "sad"])
    assert _hooks(classifier.model) == 0


def test_region_shares_of_a_real_map_sum_to_one(classifier, aligned):
    crop, _, landmarks = aligned
    shares = region_shares(heatmaps(classifier, crop[None], ["happy"])[0], landmarks)
    assert tuple(shares) == REGIONS
    assert sum(shares.values()) == pytest.approx(1)
    assert all(0 <= share <= 1 for share in shares.values())


def test_region_shares_put_heat_where_the_landmarks_are(aligned):
    landmarks = aligned[2]
    for point, region in ((landmarks[0], "eyes_brows"), (landmarks[2], "nose"), (landmarks[3:].mean(0), "mouth")):
        heat = np.zeros((48, 48), np.float32)
        heat[int(point[1]), int(point[0])] = 1
        assert region_shares(heat, landmarks)[region] == 1
    corner = np.zeros((48, 48), np.float32)
    corner[47, 0] = 0.5
    assert region_shares(corner, landmarks)["rest"] == 1
    flat = region_shares(np.zeros((48, 48)), landmarks)  # no heat at all: shares of the area
    assert sum(flat.values()) == pytest.approx(1) and min(flat.values()) > 0


def test_heatmap_on_photo_follows_the_alignment(aligned):
    heat = np.random.default_rng(0).random((48, 48)).astype(np.float32)
    # Hand-checkable: the identity transform puts the crop in the photo's top-left corner.
    on_photo = heatmap_on_photo(heat, np.array([[1.0, 0, 0], [0, 1.0, 0]]), (100, 60))
    assert on_photo.shape == (60, 100) and on_photo.dtype == np.float32
    np.testing.assert_allclose(on_photo[:47, :47], heat[:47, :47], atol=1e-6)
    assert not on_photo[:, 49:].any() and not on_photo[49:].any()
    # The real alignment: heat lands inside the face box and nowhere far from it.
    _, photo_to_crop, _ = aligned
    (face,) = detect_faces(ASTRONAUT)
    on_photo = heatmap_on_photo(np.ones((48, 48), np.float32), photo_to_crop, ASTRONAUT.size)
    assert on_photo.shape == (512, 512) and 0 <= on_photo.min() and on_photo.max() <= 1
    x1, y1, x2, y2 = face.box
    assert on_photo[round((y1 + y2) / 2), round((x1 + x2) / 2)] == pytest.approx(1)
    assert on_photo[:, : round(x1) - 40].max() == 0 and on_photo[:, round(x2) + 40 :].max() == 0


@pytest.mark.parametrize("method", list(CAM_METHODS))
def test_maps_equal_pytorch_grad_cam_hooked_inside_the_whole_network(classifier, aligned, method):
    from benchmarks.cam_equivalence import reference_maps

    crop = aligned[0]
    crops = np.stack([crop, crop[:, ::-1], np.rot90(crop).copy()])
    targets = [3, 5, 0]
    ours = heatmaps(classifier, crops, [classifier.emotions[t] for t in targets], method)
    np.testing.assert_allclose(ours, reference_maps(classifier, crops, targets, method), atol=1e-4)
