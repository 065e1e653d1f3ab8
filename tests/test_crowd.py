"""The crowd benchmark: photos laid out side by side, each scored by the face found in its own cell."""

import json

import numpy as np
import skimage.data
from PIL import Image

from benchmarks.crowd import canvases, main, probabilities_per_cell
from benchmarks.realphotos import GROUP_CANVAS
from fer_model import analyze
from fer_model.constants import EMOTIONS

ASTRONAUT = Image.fromarray(skimage.data.astronaut())


def test_each_photo_is_scored_by_the_face_in_its_cell(tmp_path, classifier, capsys):
    ASTRONAUT.save(tmp_path / "face.png")
    Image.new("RGB", (512, 512), "lightgrey").save(tmp_path / "blank.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    paths = [tmp_path / name for name in ("face.png", "blank.png", "face.png", "broken.png", "face.png")]
    ((canvas, cells),) = canvases(paths, (3, 2), 300)
    assert canvas.size == GROUP_CANVAS and len(cells) == 5  # the sixth cell stays empty
    rows = probabilities_per_cell(analyze(canvas, classifier, explain=False), cells, EMOTIONS)
    found = ~np.isnan(rows).any(axis=1)
    assert found.tolist() == [True, False, True, False, True]
    assert "broken.png" in capsys.readouterr().err
    np.testing.assert_allclose(rows[found].sum(axis=1), 1, atol=1e-5)


def test_the_benchmark_compares_proposal_limits_on_the_same_canvases(tmp_path, capsys):
    for emotion in ("happy", "neutral"):
        (tmp_path / emotion).mkdir()
        ASTRONAUT.save(tmp_path / emotion / "astronaut.png")
    main(
        [
            "--data",
            str(tmp_path),
            "--photo-size",
            "300",
            "--max-proposals",
            "none",
            "8",
            "--json",
            str(tmp_path / "out.json"),
        ]
    )
    results = json.loads((tmp_path / "out.json").read_text())["results"]
    assert set(results) == {"None", "8"}
    for result in results.values():
        assert result["no_face"] == 0 and len(result["predicted"]) == 2
        assert result["accuracy"] == 0.5  # the same face, filed under two emotions
    assert "| 8 |" in capsys.readouterr().out
