"""The video path end to end with the shipped model, on clips made from real photos with known expressions:
one track per person, the right majority label on each clear segment, the CSV and summary contracts, the
annotated video, and the command line with good and bad files."""

import csv
import io
import json
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model.cli import main
from fer_model.video import VideoAnalyzer, VideoReader, VideoSettings, analyze_video, csv_columns, frames_csv, summary
from fer_model.video.clips import Segment, make_clip, segment_times
from tests.conftest import SHARED

TAIWAN = SHARED / "realphotos" / "taiwan-dev"
# Two performers (file name characters 1-2: performer, 5: expression), photos the shipped model reads right,
# each with probability >= 0.84 (checked with fer_model.analyze on the photo itself).
PERFORMERS = {
    "08": {"neutral": "neutral/0801a05.jpg", "happy": "happy/0821b10.jpg", "surprise": "surprise/0821g01.jpg"},
    "10": {"neutral": "neutral/1001a03.jpg", "happy": "happy/1021b06.jpg", "surprise": "surprise/1021g01.jpg"},
}
SIZE, FPS, SECONDS = (320, 240), 15, 1.2
RAW_SETTLE_S = 0.2  # a segment's first frames may still be cropped where the last detection put the face
SMOOTH_SETTLE_S = 0.6  # the moving average (time constant 0.5 s) has crossed over by then


def _astronaut_head() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut()).crop((144, 37, 304, 197))


@pytest.fixture(scope="module")
def people() -> list[dict[str, Image.Image]]:
    """Two people, each {expression: photo}: performers 08 and 10 of ../shared/realphotos/taiwan-dev, or where
    that is absent the astronaut (happy) and her mirror image."""
    if TAIWAN.exists():
        return [{e: Image.open(TAIWAN / name).convert("RGB") for e, name in p.items()} for p in PERFORMERS.values()]
    head = _astronaut_head()
    return [{"happy": head}, {"happy": head.transpose(Image.Transpose.FLIP_LEFT_RIGHT)}]


def _majority(labels: list[str]) -> str:
    return Counter(labels).most_common(1)[0][0]


def _check_segments(series, segments, expected: list[str], size) -> None:
    """Per segment: the majority of the raw and of the smoothed top emotions, over its clear frames, is right."""
    raw_tops = [series.emotions[i] for i in np.argmax(series.probabilities, axis=1)]
    for (start, end), emotion in zip(segment_times(segments), expected, strict=True):
        raw = [top for top, t in zip(raw_tops, series.times_s, strict=True) if start + RAW_SETTLE_S <= t < end]
        smooth = [
            top
            for top, t in zip(series.top_emotions, series.times_s, strict=True)
            if start + SMOOTH_SETTLE_S <= t < end
        ]
        assert raw and smooth
        assert _majority(raw) == emotion, (start, Counter(raw))
        assert _majority(smooth) == emotion, (start, Counter(smooth))


@pytest.fixture(scope="module")
def one_person(people, classifier, tmp_path_factory):
    """A clip of person 1 showing each expression in turn, analysed with heat maps and an annotated video."""
    folder = tmp_path_factory.mktemp("one_person")
    expressions = list(people[0])
    segments = [Segment(SECONDS, [people[0][e]]) for e in expressions]
    make_clip(folder / "clip.mp4", segments, SIZE, FPS)
    result = analyze_video(folder / "clip.mp4", classifier, VideoSettings(explain=True), annotated=folder / "out.mp4")
    return folder, segments, expressions, result


def test_one_person_is_one_track_with_the_right_expressions(one_person):
    _, segments, expressions, result = one_person
    frames = round(SECONDS * FPS) * len(segments)
    assert result.frame_count == frames and result.duration_s == pytest.approx(frames / FPS)
    (series,) = result.tracks
    assert series.track == 1 and len(series.frames) == frames  # found on every frame, never a second track
    _check_segments(series, segments, expressions, SIZE)
    assert np.allclose(series.probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(series.smoothed.sum(axis=1), 1, atol=1e-5)
    assert 0 < series.detected.sum() < frames  # detected on schedule, followed between
    assert series.time_on_screen_s == pytest.approx(result.duration_s)


def test_two_people_keep_their_track_ids(people, classifier, tmp_path):
    """Person 1 in the left half, person 2 in the right, both moving and changing expression at the same
    moment (the picture cut that a change of photo makes): ids 1 and 2, each on every frame, never swapped."""
    if len(people[0]) > 1:
        plan = [("neutral", "happy"), ("happy", "surprise")]
    else:
        plan = [("happy", "happy")]
    segments = [Segment(1.5, [people[0][a], people[1][b]]) for a, b in plan]
    make_clip(tmp_path / "two.mp4", segments, SIZE, FPS)
    result = analyze_video(tmp_path / "two.mp4", classifier, VideoSettings(explain=False))
    assert [series.track for series in result.tracks] == [1, 2]
    for series, half in zip(result.tracks, (0, 1), strict=True):
        assert len(series.frames) == result.frame_count
        centres = (series.boxes[:, 0] + series.boxes[:, 2]) / 2
        assert np.all((centres >= SIZE[0] / 2) == bool(half))
        _check_segments(series, segments, [step[half] for step in plan], SIZE)


def test_threaded_file_analysis_equals_frame_by_frame_processing(one_person, classifier):
    """analyze_video locates, scores and classifies on separate threads: the same numbers as process() per frame."""
    folder, _, _, result = one_person
    analyzer = VideoAnalyzer(classifier, VideoSettings(explain=True))
    with VideoReader(folder / "clip.mp4") as reader:
        frames = [analyzer.process(frame.image, frame.time_s, frame.index) for frame in reader.frames()]
    (series,) = result.tracks
    assert [face.track for frame in frames for face in frame.faces] == [1] * len(frames)
    np.testing.assert_allclose(series.boxes, [frame.faces[0].box for frame in frames], atol=1e-4)
    np.testing.assert_array_equal(series.detected, [frame.faces[0].detected for frame in frames])
    emotions = classifier.emotions
    expected = [[frame.faces[0].probabilities[e] for e in emotions] for frame in frames]
    # Within float noise: the threads run torch on fewer threads each, which sums the convolutions in another order.
    np.testing.assert_allclose(series.probabilities, expected, atol=1e-4)
    np.testing.assert_allclose(series.smoothed, [[f.faces[0].smoothed[e] for e in emotions] for f in frames], atol=1e-4)


def test_csv_contract(one_person):
    _, _, _, result = one_person
    text = frames_csv(result)
    rows = list(csv.DictReader(io.StringIO(text)))
    emotions = list(result.emotions)
    assert list(rows[0]) == csv_columns(result.emotions)
    assert {"time_s", "frame", "track", "x1", "y1", "x2", "y2", "top_emotion", *emotions} <= set(rows[0])
    assert len(rows) == result.frame_count  # one face on every frame
    assert [int(row["frame"]) for row in rows] == list(range(result.frame_count))
    times = [float(row["time_s"]) for row in rows]
    assert times == sorted(times) and times[0] == 0 and times[1] == pytest.approx(1 / FPS, abs=1e-3)
    for row in rows:
        raw = np.array([float(row[e]) for e in emotions])
        smooth = np.array([float(row[f"smoothed_{e}"]) for e in emotions])
        assert raw.sum() == pytest.approx(1, abs=1e-3) and smooth.sum() == pytest.approx(1, abs=1e-3)
        assert row["top_emotion"] == emotions[int(np.argmax(raw))]
        assert row["smoothed_top_emotion"] == emotions[int(np.argmax(smooth))]
        x1, y1, x2, y2 = (float(row[k]) for k in ("x1", "y1", "x2", "y2"))
        assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1]
        assert row["track"] == "1" and row["detected"] in ("0", "1")


def test_summary_contract(one_person):
    _, _, expressions, result = one_person
    report = json.loads(json.dumps(summary(result)))  # JSON-serialisable as it is
    assert report["video"]["width"] == SIZE[0] and report["video"]["frames"] == result.frame_count
    assert report["emotions"] == list(result.emotions)
    assert report["settings"]["every"] == VideoSettings().every
    assert report["analysis"]["frames_per_second"] > 0
    (track,) = report["tracks"]
    assert track["track"] == 1 and track["frames"] == result.frame_count
    assert track["time_on_screen_s"] == pytest.approx(result.duration_s, abs=1e-3)
    assert sum(track["time_share"].values()) == pytest.approx(1, abs=1e-3)
    assert sum(track["mean_probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert set(track["time_share"]) == set(result.emotions) == set(track["mean_probabilities"])
    # Each expression shown for a third of the time: each is the top one for roughly that share.
    for emotion in expressions:
        assert track["time_share"][emotion] == pytest.approx(1 / len(expressions), abs=0.15)
    assert track["top_emotion"] == max(track["time_share"], key=track["time_share"].get)


def test_annotated_video_plays_in_browsers_and_shows_the_faces(one_person):
    folder, segments, _, result = one_person
    with av.open(str(folder / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        frames = list(container.decode(stream))
    assert len(frames) == result.frame_count and (frames[0].width, frames[0].height) == SIZE
    assert [f.time for f in frames] == pytest.approx(list(result.frame_times_s), abs=1e-3)
    # The box colour is drawn around the face; the heat map tints it.
    picture = np.asarray(frames[len(frames) // 2].to_image(), dtype=np.int16)
    green = (picture[..., 1] > 180) & (picture[..., 0] < 80) & (picture[..., 2] < 160)
    assert green.sum() > 100
    assert not list(folder.glob(".*partial*"))


def _astronaut_clip(path: Path, seconds: float = 1.0) -> None:
    make_clip(path, [Segment(seconds, [_astronaut_head()])], SIZE, FPS)


def test_command_line_writes_the_three_outputs(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _astronaut_clip(clip)
    out, table, report = tmp_path / "annotated.mp4", tmp_path / "frames.csv", tmp_path / "summary.json"
    code = main(["video", str(clip), "--out", str(out), "--csv", str(table), "--json", str(report), "--no-cam"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"{clip}: 320x240, 15 frames, 1.0 s, 1 track(s)" in printed.out and "happy" in printed.out
    assert "frame/s" in printed.err  # the progress bar's rate
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4", "clip.mp4", "frames.csv", "summary.json"]
    assert len(table.read_text().splitlines()) == 16
    assert json.loads(report.read_text())["tracks"][0]["top_emotion"] == "happy"
    assert json.loads(report.read_text())["settings"]["explain"] is False


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.mp4", b"", "file is empty"),
        ("notes.mp4", b"Dear diary, today I renamed a text file to .mp4.\n", "file is not a video"),
        ("truncated.mp4", None, "video file is truncated or corrupt"),
    ],
)
def test_command_line_bad_input_is_one_error_line_and_no_output(tmp_path, capsys, name, data, message):
    clip = tmp_path / name
    if data is None:
        _astronaut_clip(tmp_path / "whole.mp4")
        data = (tmp_path / "whole.mp4").read_bytes()[:2000]
        (tmp_path / "whole.mp4").unlink()
    clip.write_bytes(data)
    outputs = ["--out", str(tmp_path / "a.mp4"), "--csv", str(tmp_path / "f.csv"), "--json", str(tmp_path / "s.json")]
    code = main(["video", str(clip), *outputs])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.strip().splitlines()  # one line: no traceback, no progress bar
    assert line.startswith(f"error: {clip}: {message}")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # nothing written, not even a partial file


def test_command_line_refuses_a_video_past_the_length_limit_midway(tmp_path, capsys):
    """A limit met part way (the header stating no length) still leaves no partial output."""
    clip = tmp_path / "recording.webm"
    make_clip(clip, [Segment(2.0, [_astronaut_head()])], SIZE, FPS, recorded_live=True)
    code = main(["video", str(clip), "--out", str(tmp_path / "a.mp4"), "--max-seconds", "1", "--no-cam"])
    err = capsys.readouterr().err
    assert code == 2 and "video is at least 1.07 s long; the limit is 1 s" in err
    assert [p.name for p in tmp_path.iterdir()] == ["recording.webm"]


def test_command_line_refuses_bad_output_names_before_any_work(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"never read")
    assert main(["video", str(clip), "--out", str(tmp_path / "annotated.avi")]) == 2
    assert "the annotated video must end in .mp4 or .webm" in capsys.readouterr().err
    assert main(["video", str(clip), "--csv", str(tmp_path / "missing" / "frames.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["video", str(clip), "--every", "0"]) == 2
    assert "every must be at least 1" in capsys.readouterr().err
