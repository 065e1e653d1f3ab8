"""analyze() end to end on real photos, explain_face, and the reports made from a result."""

import csv
import dataclasses
import io
import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model import (
    FaceResult,
    PhotoResult,
    analyze,
    annotate_photo,
    explain_face,
    overlay_heatmap,
    result_to_dict,
    results_to_csv,
)

ASTRONAUT = skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut(classifier) -> PhotoResult:
    return analyze(ASTRONAUT, classifier)


def test_astronaut_is_one_happy_face(astronaut, classifier):
    assert (astronaut.width, astronaut.height) == (512, 512)
    (face,) = astronaut.faces
    assert isinstance(face, FaceResult) and face.index == 1
    assert face.top_emotion == "happy"
    assert tuple(face.probabilities) == classifier.emotions
    assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert face.crop.shape == (48, 48) and face.crop.dtype == np.uint8
    assert face.heatmap.shape == (48, 48) and 0 <= face.heatmap.min() and face.heatmap.max() <= 1
    assert face.heatmap_emotion == "happy"
    assert sum(face.region_shares.values()) == pytest.approx(1)
    assert set(astronaut.timings_ms) == {"load", "detect", "classify", "explain", "total"}


def test_all_faces_go_through_the_model_once_in_one_batch(photos, classifier, monkeypatch):
    """One pass through the convolutions for all faces; the heat maps reuse its feature maps."""
    calls = []
    classify = classifier.classify

    def counting(inputs, *args, **options):
        calls.append(len(inputs))
        return classify(inputs, *args, **options)

    monkeypatch.setattr(classifier, "classify", counting)
    result = analyze(photos / "multiface.jpg", classifier)
    assert calls == [6]
    assert [face.index for face in result.faces] == [1, 2, 3, 4, 5, 6]
    assert all(face.heatmap is not None and face.heatmap_emotion == face.top_emotion for face in result.faces)


def test_multiface_is_mostly_happy(photos, classifier):
    faces = analyze(photos / "multiface.jpg", classifier, explain=False).faces
    assert [face.top_emotion for face in faces].count("happy") >= 4  # faces 1, 3, 4 and 5 smile broadly


def test_explain_face_for_another_emotion(astronaut, classifier):
    face = astronaut.faces[0]
    other = next(emotion for emotion in ("sad", "angry") if emotion != face.top_emotion)
    explained = explain_face(classifier, face, other)
    assert explained.heatmap_emotion == other and face.heatmap_emotion == face.top_emotion
    assert explained.probabilities == face.probabilities and explained.crop is face.crop
    assert not np.allclose(explained.heatmap, face.heatmap)


def test_without_explanations_and_without_faces(classifier):
    result = analyze(ASTRONAUT, classifier, explain=False, tta=False)
    assert result.faces[0].heatmap is None and result.faces[0].region_shares is None
    empty = analyze(np.full((100, 120, 3), 200, np.uint8), classifier)
    assert empty.faces == [] and (empty.width, empty.height) == (120, 100)
    assert result_to_dict(empty)["faces"] == []
    assert results_to_csv([("blank", empty)]).splitlines()[0].startswith("image,face,x1,y1,x2,y2")


def test_result_to_dict_is_json(astronaut, classifier):
    document = json.loads(json.dumps(result_to_dict(astronaut)))
    assert (document["width"], document["height"]) == (512, 512)
    (face,) = document["faces"]
    assert {"index", "box", "detector_confidence", "probabilities", "top_emotion", "region_shares", "landmarks"} <= set(
        face
    )
    assert list(face["probabilities"]) == list(classifier.emotions) and len(face["landmarks"]) == 5


def test_csv_has_a_row_per_face(astronaut, classifier):
    rows = list(csv.DictReader(io.StringIO(results_to_csv([("a.png", astronaut), ("b.png", astronaut)]))))
    assert [(row["image"], row["face"]) for row in rows] == [("a.png", "1"), ("b.png", "1")]
    assert rows[0]["top_emotion"] == astronaut.faces[0].top_emotion
    assert sum(float(rows[0][f"p_{emotion}"]) for emotion in classifier.emotions) == pytest.approx(1, abs=1e-3)
    assert {"share_eyes_brows", "share_nose", "share_mouth", "share_rest"} <= set(rows[0])


def test_annotated_photo_keeps_the_size(astronaut):
    assert astronaut.photo.size == (512, 512) and astronaut.photo.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(astronaut.photo), ASTRONAUT)  # the result carries the photo
    plain, with_heat = annotate_photo(astronaut), annotate_photo(astronaut, heatmap_opacity=0.5)
    assert plain.size == with_heat.size == (512, 512) and plain.mode == "RGB"
    x1, y1, x2, y2 = (round(v) for v in astronaut.faces[0].box)
    inside = (slice(y1 + 10, y2 - 10), slice(x1 + 10, x2 - 10))
    assert not np.array_equal(np.asarray(plain)[inside], np.asarray(with_heat)[inside])
    np.testing.assert_array_equal(np.asarray(plain)[400:, 400:], ASTRONAUT[400:, 400:])  # far from the face
    np.testing.assert_array_equal(np.asarray(astronaut.photo), ASTRONAUT)  # drawn on a copy


def test_annotating_a_smaller_copy_scales_boxes_and_heat_maps(astronaut):
    """The app keeps a display-size copy of the photo in the result; annotation scales to it."""
    small = dataclasses.replace(astronaut, photo=astronaut.photo.resize((256, 256)))
    full = np.asarray(annotate_photo(astronaut, heatmap_opacity=0.5).resize((256, 256), Image.Resampling.BOX))
    half = np.asarray(annotate_photo(small, heatmap_opacity=0.5))
    assert half.shape == (256, 256, 3)
    x1, y1, x2, y2 = (round(v / 2) for v in astronaut.faces[0].box)
    inside = (slice(y1 + 5, y2 - 5), slice(x1 + 5, x2 - 5))  # the heat map, at the same place at both sizes
    assert np.abs(full[inside].astype(int) - half[inside]).mean() < 12
    np.testing.assert_array_equal(half[200:, 200:], np.asarray(small.photo)[200:, 200:])  # far from the face


def test_overlay_heatmap():
    grey = np.full((48, 48), 100, np.uint8)
    heat = np.zeros((48, 48), np.float32)
    heat[:24] = 1
    overlaid = np.asarray(overlay_heatmap(grey, heat, opacity=0.6))
    assert overlaid.shape == (48, 48, 3)
    np.testing.assert_array_equal(overlaid[24:], 100)  # no heat: the image unchanged
    assert not np.array_equal(overlaid[:24], np.full((24, 48, 3), 100))
    assert overlay_heatmap(Image.fromarray(grey).resize((96, 96)), heat, 0.5).size == (96, 96)
    np.testing.assert_array_equal(np.asarray(overlay_heatmap(grey, heat, opacity=0)), 100)
