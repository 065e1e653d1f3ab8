"""The real-photo benchmark: its scoring on hand-made answers and on a tiny folder of real photos."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

from benchmarks.realphotos import labelled_photos, ours, score
from fer_model import DEFAULT_WEIGHTS
from fer_model.constants import EMOTIONS


def test_score_counts_a_photo_without_a_face_as_wrong():
    labels = np.array([3, 3, 0, 6])
    probabilities = np.array(
        [
            [0.0, 0.0, 0.0, 0.9, 0.1, 0.0, 0.0],  # happy, right, confident
            [0.0, 0.0, 0.0, 0.4, 0.6, 0.0, 0.0],  # neutral, wrong
            [0.7, 0.0, 0.0, 0.0, 0.3, 0.0, 0.0],  # angry, right
            [np.nan] * 7,  # no face
        ],
        dtype=np.float32,
    )
    result = score(labels, probabilities, EMOTIONS)
    assert result["n"] == 4 and result["no_face"] == 1
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["recall"]["happy"] == pytest.approx(0.5)
    assert result["recall"]["angry"] == 1 and result["recall"]["surprise"] == 0
    assert result["confusion"][6][7] == 1  # surprise -> "no face" column
    assert result["confusion"][3][3] == 1 and result["confusion"][3][4] == 1
    # ECE over the three faces: bins 0.9 (right), 0.6 (wrong), 0.7 (right): (0.1 + 0.6 + 0.3) / 3
    assert result["ece"] == pytest.approx(1 / 3, abs=1e-6)


def test_the_pipeline_on_a_tiny_folder_of_real_photos(tmp_path):
    happy, neutral = tmp_path / "happy", tmp_path / "neutral"
    happy.mkdir()
    neutral.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(happy / "astronaut.jpg")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(neutral / "grey.png")  # no face in it
    photos = labelled_photos(tmp_path, EMOTIONS)
    assert [(path.name, label) for path, label in photos] == [("astronaut.jpg", 3), ("grey.png", 4)]
    probabilities = ours(photos, DEFAULT_WEIGHTS)
    assert np.isnan(probabilities[1]).all()
    result = score(np.array([3, 4]), probabilities, EMOTIONS)
    assert result["accuracy"] == 0.5 and result["no_face"] == 1 and result["recall"]["happy"] == 1


def test_unknown_emotion_folders_are_refused(tmp_path):
    (tmp_path / "smug").mkdir()
    with pytest.raises(SystemExit, match="unknown emotion folder"):
        labelled_photos(tmp_path, EMOTIONS)


@pytest.mark.shared
def test_shipped_weights_on_the_real_photo_development_set():
    from benchmarks.realphotos import DEFAULT_DATA

    if not DEFAULT_DATA.is_dir():
        pytest.skip(f"{DEFAULT_DATA} is not on this machine (it comes from ../shared)")
    photos = labelled_photos(DEFAULT_DATA, EMOTIONS)
    result = score(np.array([label for _, label in photos]), ours(photos, DEFAULT_WEIGHTS), EMOTIONS)
    assert result["n"] == 598 and result["no_face"] == 0
    assert result["accuracy"] >= 0.60
