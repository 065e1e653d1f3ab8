"""The real-photo benchmark: its scoring on hand-made answers, its intervals and comparisons, and a tiny folder of
real photos."""

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from benchmarks.realphotos import (
    GROUP_CANVAS,
    intervals,
    labelled_photos,
    main,
    on_group_canvas,
    ours,
    paired_difference,
    score,
)
from fer_model import DEFAULT_WEIGHTS
from fer_model.constants import EMOTIONS
from fer_model.faces import detect_faces


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


def test_group_photo_pastes_each_photo_at_half_size_in_the_middle(tmp_path):
    astronaut = Image.fromarray(skimage.data.astronaut())
    astronaut.save(tmp_path / "astronaut.png")
    ((pasted, label),) = on_group_canvas([(tmp_path / "astronaut.png", 3)], tmp_path)
    canvas = Image.open(pasted)
    assert canvas.size == GROUP_CANVAS and label == 3
    (face,) = detect_faces(canvas)
    (original,) = detect_faces(astronaut)
    offset = np.array([(1200 - 256) // 2, (630 - 256) // 2] * 2)
    np.testing.assert_allclose(face.box, np.array(original.box) / 2 + offset, atol=6)


def test_group_photo_reports_a_broken_file_and_scores_the_rest(tmp_path, capsys):
    data = tmp_path / "photos"
    (data / "happy").mkdir(parents=True)
    (data / "sad").mkdir()
    Image.fromarray(skimage.data.astronaut()).save(data / "happy" / "astronaut.jpg")
    (data / "sad" / "broken.jpg").write_bytes(b"not an image")
    main(["--data", str(data), "--no-peer", "--group-photo", "--json", str(tmp_path / "out.json")])
    assert "broken.jpg" in capsys.readouterr().err
    assert json.loads((tmp_path / "out.json").read_text())["results"]["ours"]["predicted"] == [3, 7]


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


def test_intervals_are_tight_for_all_right_and_wide_for_half_right():
    labels = np.arange(200) % 7
    assert intervals(labels, labels, list(range(7))) == {"accuracy_95": [1.0, 1.0], "macro_f1_95": [1.0, 1.0]}
    half_right = np.where(np.arange(200) < 100, labels, (labels + 1) % 7)
    low, high = intervals(labels, half_right, list(range(7)))["accuracy_95"]
    assert 0.4 < low < 0.5 < high < 0.6
    surprise_read_as_sad = np.where(labels == 6, 5, labels)  # macro-F1 (5 + 2/3 + 0) / 7 = 0.810
    low, high = intervals(labels, surprise_read_as_sad, list(range(7)))["macro_f1_95"]
    assert low < 0.81 < high and high - low < 0.1


def test_paired_difference_counts_the_photos_that_changed():
    labels = np.zeros(100, dtype=int)
    baseline = np.where(np.arange(100) < 60, 0, 1)  # 60 right
    predicted = np.where((np.arange(100) < 55) | (np.arange(100) >= 90), 0, 1)  # 5 lost, 10 gained: 65 right
    result = paired_difference(labels, predicted, baseline)
    assert result["accuracy_difference"] == pytest.approx(0.05)
    assert result["right_only_here"] == 10 and result["right_only_in_baseline"] == 5
    low, high = result["difference_95"]
    assert low < 0.05 < high
    same = paired_difference(labels, baseline, baseline)
    assert same["accuracy_difference"] == 0 and same["difference_95"] == [0.0, 0.0]


def test_the_benchmark_compares_with_an_earlier_run_photo_by_photo(tmp_path, capsys):
    data = tmp_path / "photos"
    (data / "happy").mkdir(parents=True)
    (data / "sad").mkdir()
    Image.fromarray(skimage.data.astronaut()).save(data / "happy" / "astronaut.jpg")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(data / "sad" / "grey.png")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    main(["--data", str(data), "--no-peer", "--json", str(first)])
    record = json.loads(first.read_text())
    assert record["photos"] == ["happy/astronaut.jpg", "sad/grey.png"]
    assert record["results"]["ours"]["predicted"] == [3, 7]  # happy, and no face
    main(["--data", str(data), "--no-peer", "--json", str(second), "--baseline", str(first)])
    assert "accuracy +0.0%" in capsys.readouterr().out
    assert json.loads(second.read_text())["baseline"]["accuracy_difference"] == 0

    (data / "sad" / "grey.png").unlink()
    with pytest.raises(SystemExit, match="not the same photos"):
        main(["--data", str(data), "--no-peer", "--baseline", str(first)])
    with pytest.raises(SystemExit, match="no such file"):
        main(["--data", str(data), "--no-peer", "--baseline", str(tmp_path / "missing.json")])
