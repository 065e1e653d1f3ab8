"""Annotated photos: label placement on crowded photos (labels never cover each other)."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model import analyze, annotate_photo
from fer_model.report import place_labels


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _overlapping_pairs(rectangles) -> int:
    return sum(_overlap(a, b) for i, a in enumerate(rectangles) for b in rectangles[i + 1 :])


@pytest.fixture(scope="module")
def crowd(classifier):
    """24 astronaut faces, 6 columns x 4 rows, 95 pixels apart on a 1600x900 photo: a label ("12 happy 93%",
    about 190 pixels wide at this photo's font size) is twice as wide as the gap between two faces."""
    face = Image.fromarray(skimage.data.astronaut()).crop((156, 37, 293, 197)).resize((80, 100))
    photo = Image.new("RGB", (1600, 900), (200, 200, 200))
    for row in range(4):
        for column in range(6):
            photo.paste(face, (500 + 95 * column, 230 + 115 * row))
    return analyze(photo, classifier, explain=False)


def test_two_wide_labels_side_by_side_go_above_and_below():
    boxes = [(10.0, 50.0, 60.0, 110.0), (70.0, 50.0, 120.0, 110.0)]
    sizes = [(100.0, 20.0)] * 2
    assert place_labels(boxes, sizes, (200, 200)) == [(10.0, 30.0, 110.0, 50.0), (70.0, 110.0, 170.0, 130.0)]


def test_labels_stay_inside_the_image():
    (label,) = place_labels([(150.0, 0.0, 200.0, 40.0)], [(100.0, 20.0)], (200, 100))
    assert label == (100.0, 0.0, 200.0, 20.0)  # no room above the box: at the top edge, moved left to fit


def test_labels_of_24_faces_do_not_overlap(crowd):
    assert len(crowd.faces) == 24
    boxes = [face.box for face in crowd.faces]
    sizes = [(190.0, 40.0)] * len(boxes)
    above = [(x1, y1 - height, x1 + width, y1) for (x1, y1, _, _), (width, height) in zip(boxes, sizes, strict=True)]
    assert _overlapping_pairs(above) > 10  # where every label went before: above its box

    labels = place_labels(boxes, sizes, crowd.photo.size)
    assert _overlapping_pairs(labels) == 0
    for (x1, y1, x2, y2), (width, height) in zip(labels, sizes, strict=True):
        assert (x2 - x1, y2 - y1) == (width, height)
        assert 0 <= x1 and x2 <= crowd.photo.width and 0 <= y1 and y2 <= crowd.photo.height

    annotated = annotate_photo(crowd)
    assert annotated.size == crowd.photo.size
    assert not np.array_equal(np.asarray(annotated), np.asarray(crowd.photo))
