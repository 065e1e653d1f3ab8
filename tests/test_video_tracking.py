"""Tracking mechanics with hand-checkable answers: IoU, the one-to-one assignment, following a moving picture,
the detection schedule, and smoothing over time."""

import dataclasses

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model.video import VideoAnalyzer, VideoSettings
from fer_model.video import analyzer as analyzer_module
from fer_model.video.follow import estimate_shift, phase_correlation
from fer_model.video.tracker import assign, iou_matrix

ASTRONAUT = Image.fromarray(skimage.data.astronaut())
HEAD = ASTRONAUT.crop((144, 37, 304, 197))  # 160x160, the face in the middle


def _canvas(x: float, y: float, head: Image.Image | None = HEAD, size=(320, 240)) -> Image.Image:
    canvas = Image.new("RGB", size, (128, 128, 128))
    if head is not None:
        canvas.paste(head, (round(x), round(y)))
    return canvas


def test_iou_by_hand():
    overlap = iou_matrix([(0, 0, 2, 2), (10, 10, 11, 11)], [(1, 0, 3, 2), (0, 0, 2, 2), (5, 5, 6, 6)])
    assert overlap == pytest.approx(np.array([[1 / 3, 1, 0], [0, 0, 0]]))
    assert iou_matrix([], [(0, 0, 1, 1)]).shape == (0, 1)
    assert iou_matrix([(0, 0, 0, 0)], [(0, 0, 0, 0)]) == pytest.approx(
        np.zeros((1, 1))
    )  # empty boxes: no overlap, no NaN


def _strip(x1: float, x2: float) -> tuple[float, float, float, float]:
    return (x1, 0.0, x2, 1.0)  # unit height: IoU is the overlap of the intervals over their union


def test_assignment_maximises_total_overlap_not_the_best_pair():
    """Greedy would pair track 1 with detection 0 (IoU 0.67) and leave track 0 with 0.11; the assignment pairs
    0-0 and 1-1 (0.54 each)."""
    tracks = [_strip(0, 10), _strip(5, 15)]
    detections = [_strip(3, 13), _strip(8, 18)]
    assert iou_matrix(tracks, detections) == pytest.approx(np.array([[7 / 13, 2 / 18], [8 / 12, 7 / 13]]))
    result = assign(tracks, detections, min_iou=0.3)
    assert result.pairs == [(0, 0), (1, 1)] and result.lost_tracks == [] and result.new_detections == []


def test_assignment_leaves_weak_overlaps_apart():
    result = assign([_strip(0, 10), _strip(20, 30)], [_strip(21, 31), _strip(8, 18), _strip(50, 60)], min_iou=0.3)
    assert result.pairs == [(1, 0)]  # track 0 and detection 1 overlap by 2 / 18
    assert result.lost_tracks == [0] and result.new_detections == [1, 2]
    empty = assign([], [_strip(0, 1)])
    assert empty.pairs == [] and empty.new_detections == [0]


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (7, -3), (20, 12), (-30, 5)])
def test_following_finds_how_far_the_face_moved(dx, dy):
    before, after = _canvas(80, 40).convert("L"), _canvas(80 + dx, 40 + dy).convert("L")
    shift = estimate_shift(before, after, (120, 70, 200, 170))  # about the face's box
    assert (shift.dx, shift.dy) == pytest.approx((dx, dy), abs=1.0)
    assert shift.score > 0.9


def test_following_reports_a_lost_picture():
    before = _canvas(80, 40).convert("L")
    box = (120, 70, 200, 170)
    assert estimate_shift(before, _canvas(0, 0, head=None).convert("L"), box).score == 0  # gone: flat grey
    coffee = Image.fromarray(skimage.data.coffee()).resize((160, 160))
    assert estimate_shift(before, _canvas(80, 40, head=coffee).convert("L"), box).score < 0.5  # a cut


def test_phase_correlation_of_a_pattern_by_hand():
    rng = np.random.default_rng(0)
    pattern = rng.normal(size=(96, 96)).astype(np.float32)
    assert phase_correlation(pattern, np.roll(pattern, (3, -5), axis=(0, 1))) == pytest.approx((3, -5), abs=0.1)


def _counting_detector(monkeypatch) -> list[int]:
    """Record the frame number of each detection (the analyzer's frame count at the time)."""
    calls, real = [], analyzer_module.detect_faces

    def counting(image, settings):
        calls.append(image.info["frame"])
        return real(image, settings)

    monkeypatch.setattr(analyzer_module, "detect_faces", counting)
    return calls


def _numbered(image: Image.Image, frame: int) -> Image.Image:
    image.info["frame"] = frame
    return image


def test_detector_runs_on_schedule_and_when_a_track_is_lost(classifier, monkeypatch):
    """Frames 0-11: the face moving; 12-17: empty. Detections at 0, 5, 10 (every 5th), 12 (the track is lost
    there) and 17 (five frames on); between them the face is followed, keeping its track id."""
    calls = _counting_detector(monkeypatch)
    analyzer = VideoAnalyzer(classifier, VideoSettings(every=5, explain=False))
    results = []
    for frame in range(18):
        image = _canvas(60 + 4 * frame, 40 + 2 * frame) if frame < 12 else _canvas(0, 0, head=None)
        results.append(analyzer.process(_numbered(image, frame), time_s=frame / 15))
    assert calls == [0, 5, 10, 12, 17]
    assert [result.detected for result in results] == [frame in calls for frame in range(18)]
    assert [[face.track for face in result.faces] for result in results] == [[1]] * 12 + [[]] * 6
    for frame, result in enumerate(results[:12]):
        (face,) = result.faces
        assert face.detected == (frame in calls)
        x1, y1, x2, y2 = face.box  # the box follows the face between detections: centre near the head's
        assert ((x1 + x2) / 2, (y1 + y2) / 2) == pytest.approx((60 + 4 * frame + 80, 40 + 2 * frame + 85), abs=8)
        assert face.top_emotion == "happy"


def test_a_face_that_appears_starts_a_new_track_at_the_next_detection(classifier, monkeypatch):
    calls = _counting_detector(monkeypatch)
    analyzer = VideoAnalyzer(classifier, VideoSettings(every=3, explain=False))
    tracks = []
    for frame in range(8):
        image = _canvas(0, 0, head=None) if frame < 4 else _canvas(80, 40)
        tracks.append([face.track for face in analyzer.process(_numbered(image, frame), frame / 15).faces])
    assert calls == [0, 3, 6]
    assert tracks == [[], [], [], [], [], [], [1], [1]]


def test_smoothing_follows_time_not_frames(classifier):
    """An exponential moving average with a time constant: after one time constant the smoothed value has
    moved 1 - 1/e of the way to a new steady reading, whatever the frame rate."""
    upside_down = HEAD.transpose(Image.Transpose.FLIP_TOP_BOTTOM)  # reads differently from the upright face
    # No detection after the first frame, and following never gives up: the track keeps the first frame's
    # place, so from frame 1 on its crop, and reading, is the same upside-down face.
    settings = VideoSettings(every=10_000, smoothing_s=0.5, explain=False, min_follow_score=-1)
    for fps in (10, 40):
        analyzer = VideoAnalyzer(classifier, settings)
        first = analyzer.process(_canvas(80, 40), 0.0).faces[0]
        assert first.smoothed == first.probabilities  # a new track starts at its first reading
        readings = [analyzer.process(_canvas(80, 40, upside_down), i / fps).faces[0] for i in range(1, fps // 2 + 1)]
        steady = readings[0].probabilities
        assert all(face.probabilities == pytest.approx(steady, abs=1e-6) for face in readings)
        assert abs(steady["happy"] - first.probabilities["happy"]) > 0.2
        moved = (readings[-1].smoothed["happy"] - first.probabilities["happy"]) / (
            steady["happy"] - first.probabilities["happy"]
        )
        assert moved == pytest.approx(1 - np.exp(-1), abs=1e-3)
    off = VideoAnalyzer(classifier, dataclasses.replace(settings, smoothing_s=0))
    for frame in range(3):
        face = off.process(_canvas(80, 40, HEAD if frame == 0 else upside_down), frame / 15).faces[0]
        assert face.smoothed == face.probabilities


def test_settings_are_checked():
    with pytest.raises(ValueError, match="every must be at least 1"):
        VideoSettings(every=0)
    with pytest.raises(ValueError, match="smoothing_s must be 0 or more"):
        VideoSettings(smoothing_s=-1)
