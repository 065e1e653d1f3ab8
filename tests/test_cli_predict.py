"""python -m fer_model predict: tables, JSON, annotated copies; bad files reported and skipped."""

import json

import skimage.data
from PIL import Image

from fer_model.cli import main


def test_predict_reports_bad_files_and_runs_the_rest(tmp_path, capsys):
    good = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(good)
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo\n")
    out, annotated = tmp_path / "results.json", tmp_path / "annotated"

    code = main(["predict", str(bad), str(good), "--json", str(out), "--annotate", str(annotated)])

    assert code == 1
    printed = capsys.readouterr()
    assert f"{bad}: file is not an image" in printed.err
    assert "astronaut.png: 512x512, 1 face(s)" in printed.out and "top" in printed.out
    records = json.loads(out.read_text())
    assert [record["path"] for record in records] == [str(bad), str(good)]
    assert records[0]["error"] == "file is not an image"
    (face,) = records[1]["faces"]
    assert face["top_emotion"] in face["probabilities"] and face["region_shares"] is not None
    with Image.open(annotated / "astronaut.png") as image:
        assert image.size == (512, 512)


def test_predict_exits_zero_when_every_file_works(tmp_path, capsys):
    good = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage.data.astronaut()).save(good)
    assert main(["predict", str(good), "--no-cam", "--no-tta", "--threshold", "0.95", "--min-face-size", "40"]) == 0
    assert "1 face(s)" in capsys.readouterr().out
