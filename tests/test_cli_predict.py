"""python -m fer_model predict: tables, JSON, annotated copies; bad files reported and skipped."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from fer_model.cli import main
from tests.image_fixtures import png_header

ROOT = Path(__file__).resolve().parents[1]


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
    assert records[1]["annotated"] == str(annotated / "astronaut.png")
    with Image.open(annotated / "astronaut.png") as image:
        assert image.size == (512, 512)


def test_predict_exits_zero_when_every_file_works(tmp_path, capsys):
    good = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage.data.astronaut()).save(good)
    assert main(["predict", str(good), "--no-cam", "--no-tta", "--threshold", "0.95", "--min-face-size", "40"]) == 0
    assert "1 face(s)" in capsys.readouterr().out


def test_pictures_smaller_than_a_face_give_zero_faces_and_every_file_is_written(tmp_path):
    paths = [tmp_path / "icon.png", tmp_path / "strip.png", tmp_path / "astronaut.png"]
    Image.new("RGB", (1, 1), "red").save(paths[0])
    Image.new("RGB", (20_000, 20), "grey").save(paths[1])
    Image.fromarray(skimage.data.astronaut()).save(paths[2])
    out = tmp_path / "results.json"

    assert main(["predict", *map(str, paths), "--no-cam", "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    assert [record["path"] for record in records] == list(map(str, paths))
    assert [len(record["faces"]) for record in records] == [0, 0, 1]


def test_an_unexpected_failure_is_reported_for_its_file_alone(tmp_path, capsys, monkeypatch):
    import fer_model

    paths = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"]
    for path in paths:
        Image.fromarray(skimage.data.astronaut()).save(path)
    analyze = fer_model.analyze

    def failing_on_b(image, *args, **options):
        if str(image).endswith("b.png"):
            raise RuntimeError("boom\nsecond line")
        return analyze(image, *args, **options)

    monkeypatch.setattr(fer_model, "analyze", failing_on_b)
    out = tmp_path / "results.json"

    assert main(["predict", *map(str, paths), "--no-cam", "--json", str(out)]) == 1
    records = json.loads(out.read_text())
    assert [len(record.get("faces", [])) for record in records] == [1, 0, 1]
    assert records[1] == {"path": str(paths[1]), "error": "analysis failed (RuntimeError: boom second line)"}
    err_lines = capsys.readouterr().err.splitlines()
    assert [line for line in err_lines if "b.png" in line] == [f"{paths[1]}: {records[1]['error']}"]
    assert not any("Traceback" in line for line in err_lines)


def test_annotated_copies_of_files_with_the_same_name_are_all_kept(tmp_path):
    astronaut = skimage.data.astronaut()
    paths = [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", tmp_path / "x.png"]
    for path, pixels in zip(paths, (astronaut, astronaut[:, ::-1], astronaut[:400]), strict=True):
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(path)
    out, annotated = tmp_path / "results.json", tmp_path / "annotated"

    assert main(["predict", *map(str, paths), "--no-cam", "--json", str(out), "--annotate", str(annotated)]) == 0
    records = json.loads(out.read_text())
    written = [record["annotated"] for record in records]
    assert written == [str(annotated / name) for name in ("x.png", "x-2.png", "x-3.png")]
    sizes = []
    for name, record in zip(written, records, strict=True):
        with Image.open(name) as image:
            sizes.append(image.size)
        assert (record["width"], record["height"]) == sizes[-1]
    assert sizes == [(512, 512), (512, 512), (512, 400)]
    first, second = (np.asarray(Image.open(name)) for name in written[:2])
    assert not np.array_equal(first, second)  # the second did not overwrite the first


def test_a_huge_declared_size_prints_only_our_sentence(tmp_path):
    """Pillow's DecompressionBombWarning (with its source line) used to come before our message."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(10_000, 10_000))
    done = subprocess.run(
        [sys.executable, "-m", "fer_model", "predict", str(bomb)], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"{bomb}: image is 100 megapixels (10000x10000); the limit is 40"]
