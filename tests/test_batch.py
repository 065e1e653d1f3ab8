"""The batch job on a small collection made here (photos of the astronaut, a bad file, a zip holding a photo and
a short video, a file to ignore): rows per face, errors, resume after a crash, the pinned schema, and the
same table on Ray as locally."""

import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skimage.data
from PIL import Image

from fer_model import EmotionClassifier
from fer_model.batch import ERRORS_SCHEMA, BatchOptions, errors_path, results_schema, run
from fer_model.cli import main
from fer_model.video.clips import Segment, make_clip

ROOT = Path(__file__).resolve().parents[1]
FAST = BatchOptions(explain=False)  # as `batch --no-cam`


def _astronaut() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut())


def _pair() -> Image.Image:
    """The astronaut and her mirror image side by side: two faces."""
    one = _astronaut()
    pair = Image.new("RGB", (one.width * 2, one.height))
    pair.paste(one, (0, 0))
    pair.paste(one.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (one.width, 0))
    return pair


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("collection")
    _astronaut().save(folder / "one.jpg", quality=92)
    (folder / "nested").mkdir()
    _pair().save(folder / "nested" / "two.png")
    (folder / "broken.jpg").write_bytes(b"not a photo at all")
    (folder / "notes.txt").write_text("not a photo, and not named on the command line: ignored")
    head = _astronaut().crop((144, 37, 304, 197))
    make_clip(folder / "clip.mp4", [Segment(1.0, [head])], (320, 240), 10)
    with zipfile.ZipFile(folder / "archive.zip", "w") as archive:
        archive.write(folder / "one.jpg", "inside/one.jpg")
        archive.write(folder / "clip.mp4", "inside/clip.mp4")
    (folder / "clip.mp4").unlink()  # the clip is read from the archive only
    return folder


def _rows_per_source(table: pa.Table) -> dict[str, int]:
    sources, counts = np.unique(table.column("source").to_numpy(zero_copy_only=False), return_counts=True)
    return {_short(source): int(count) for source, count in zip(sources, counts, strict=True)}


def _short(source: str) -> str:
    """ "/tmp/.../archive.zip!inside/one.jpg" -> "archive.zip!inside/one.jpg", "/tmp/.../one.jpg" -> "one.jpg"."""
    path, _, member = source.partition("!")
    return Path(path).name + (f"!{member}" if member else "")


def test_schema_is_pinned():
    emotions = EmotionClassifier.load().emotions
    schema = results_schema(emotions)
    assert [(field.name, str(field.type)) for field in schema] == [
        ("source", "string"),
        ("kind", "string"),
        ("frame", "int64"),
        ("time_s", "double"),
        ("face", "int32"),
        ("x1", "float"),
        ("y1", "float"),
        ("x2", "float"),
        ("y2", "float"),
        ("detector_confidence", "float"),
        *((emotion, "float") for emotion in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")),
        ("top_emotion", "string"),
        ("cam_eyes_brows", "float"),
        ("cam_nose", "float"),
        ("cam_mouth", "float"),
        ("cam_rest", "float"),
    ]
    assert [(field.name, str(field.type)) for field in ERRORS_SCHEMA] == [("source", "string"), ("message", "string")]


def test_local_job_rows_errors_and_rerun(collection, tmp_path, capsys):
    out = tmp_path / "results.parquet"
    summary = run([collection, tmp_path / "missing"], out, BatchOptions(every=2), workers=1)
    assert (summary.sources, summary.analysed, summary.skipped) == (5, 5, 0)
    table = pq.read_table(out)
    assert table.schema == results_schema(EmotionClassifier.load().emotions)
    # the astronaut (twice: file and archive member), two faces, and the 10-frame clip every 2nd frame
    assert _rows_per_source(table) == {
        "one.jpg": 1,
        "two.png": 2,
        "archive.zip!inside/one.jpg": 1,
        "archive.zip!inside/clip.mp4": 5,
    }
    probabilities = np.stack([table.column(e).to_numpy() for e in EmotionClassifier.load().emotions], 1)
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)
    assert set(table.column("top_emotion").to_pylist()) == {"happy"}
    video = table.filter(pa.compute.equal(table.column("kind"), "video"))
    assert video.column("frame").to_pylist() == [0, 2, 4, 6, 8]
    assert video.column("time_s").to_pylist() == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert set(video.column("face").to_pylist()) == {1}  # one person, one track
    photos = table.filter(pa.compute.equal(table.column("kind"), "photo"))
    assert photos.column("time_s").null_count == photos.num_rows
    two = photos.filter(pa.compute.match_substring(photos.column("source"), "two.png"))
    assert two.column("face").to_pylist() == [1, 2] and two.column("x1")[0].as_py() < two.column("x1")[1].as_py()
    shares = np.stack([table.column(c).to_numpy() for c in ("cam_eyes_brows", "cam_nose", "cam_mouth", "cam_rest")])
    assert np.allclose(shares.sum(0), 1, atol=1e-4)

    errors = pq.read_table(errors_path(out)).to_pylist()
    assert [(Path(e["source"]).name, e["message"]) for e in errors] == [
        ("broken.jpg", "file is not an image"),
        ("missing", "no such file or folder"),
    ]

    again = run([collection], out, BatchOptions(every=2), workers=1, progress=True)
    assert (again.analysed, again.skipped) == (0, 5)
    assert "5 done before and skipped, 0 to analyse" in capsys.readouterr().out
    assert pq.read_table(out).equals(table)
    (collection / "one.jpg").touch()  # a changed file (new mtime) is analysed anew
    try:
        assert run([collection], out, BatchOptions(every=2), workers=1).analysed == 1
        assert pq.read_table(out).num_rows == table.num_rows
    finally:
        os.utime(collection / "one.jpg", ns=(0, 0))


def test_cli_without_heat_maps_and_with_bad_arguments(collection, tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    assert main(["batch", str(collection), "--out", str(out), "--no-cam", "--workers", "1", "--no-progress"]) == 1
    assert "5 files: 5 analysed now, 0 done before; 14 face rows" in capsys.readouterr().out
    table = pq.read_table(out)
    assert table.column("cam_mouth").null_count == table.num_rows
    assert main(["batch", str(collection), "--out", str(tmp_path / "results.csv")]) == 2
    assert "--out must be a .parquet file" in capsys.readouterr().err
    assert main(["batch", str(collection), "--out", str(out), "--every", "0"]) == 2
    assert "--every must be at least 1" in capsys.readouterr().err
    assert main(["batch", str(collection), "--out", str(out), "--ray", "cluster"]) == 2
    assert "expected local, auto, HOST:PORT or ray://HOST:PORT" in capsys.readouterr().err
    with socket.socket() as unused:  # a port nothing listens on: refused at once, not retried for minutes
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert main(["batch", str(collection), "--out", str(out), "--ray", f"127.0.0.1:{port}"]) == 2
    assert "no Ray cluster answers there" in capsys.readouterr().err


def _copies(folder: Path, count: int) -> Path:
    folder.mkdir()
    photo = _astronaut().resize((256, 256))
    for i in range(count):
        photo.rotate(i * 2).save(folder / f"photo{i:02d}.jpg")
    return folder


def test_a_killed_job_resumes_without_losing_or_repeating_a_row(tmp_path):
    photos = _copies(tmp_path / "photos", 24)
    out = tmp_path / "results.parquet"
    command = [sys.executable, "-m", "fer_model", "batch", str(photos), "--out", str(out)]
    command += ["--workers", "1", "--chunk-size", "1", "--no-cam", "--no-progress"]
    job = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 300
    while len(list(parts.glob("*.done.parquet"))) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    finished = len(list(parts.glob("*.done.parquet")))
    assert 3 <= finished < 24, "the job must be killed half way for this test to mean anything"
    assert not out.exists()

    summary = run([photos], out, FAST, workers=1)
    assert (summary.skipped, summary.analysed) == (finished, 24 - finished)
    resumed = pq.read_table(out)
    reference = run([photos], tmp_path / "reference.parquet", FAST, workers=1)
    assert reference.rows == resumed.num_rows == 24
    assert _rows_per_source(resumed) == {f"photo{i:02d}.jpg": 1 for i in range(24)}
    assert np.allclose(
        resumed.column("happy").to_numpy(), pq.read_table(reference.results).column("happy").to_numpy(), atol=1e-5
    )


def _probabilities(table: pa.Table) -> np.ndarray:
    emotions = EmotionClassifier.load().emotions
    return np.stack([table.column(e).to_numpy() for e in emotions], 1)


def test_ray_gives_the_same_table_as_the_local_path(collection, tmp_path):
    pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt (CI installs it)")
    options = BatchOptions(every=2)
    local = run([collection], tmp_path / "local.parquet", options, workers=2, chunk_size=1)
    on_ray = run([collection], tmp_path / "ray.parquet", options, workers=2, ray="local", chunk_size=1)
    a, b = pq.read_table(local.results), pq.read_table(on_ray.results)
    assert a.num_rows == b.num_rows == 9
    for column in ("source", "kind", "frame", "face", "top_emotion"):
        assert a.column(column).to_pylist() == b.column(column).to_pylist()
    assert np.allclose(_probabilities(a), _probabilities(b), atol=1e-5)
    assert pq.read_table(errors_path(local.results)).equals(pq.read_table(errors_path(on_ray.results)))
    rerun = run([collection], tmp_path / "ray.parquet", options, workers=2, ray="local")
    assert (rerun.skipped, rerun.analysed) == (5, 0) and pq.read_table(rerun.results).equals(b)
