"""Re-framing FER2013 training faces from MTCNN landmarks (``train --realign``), on a face from skimage."""

import math

import numpy as np
import skimage.data
from PIL import Image

from fer_model.faces import align_face, detect_faces
from fer_model.training.realign import realign_faces

ASTRONAUT = Image.fromarray(skimage.data.astronaut())


def _framed_face() -> np.ndarray:
    """The astronaut's face framed the way FER2013 frames faces (zoom 1.0), uint8 (48, 48)."""
    (face,) = detect_faces(ASTRONAUT)
    return align_face(ASTRONAUT, face.landmarks, zoom=1.0)[0]


def _eye_line_degrees(face: np.ndarray) -> float:
    """The eye line's angle in a 48x48 face, from MTCNN on a 4x copy (as realign_faces finds it)."""
    (found,) = detect_faces(Image.fromarray(face).resize((192, 192), Image.Resampling.BICUBIC).convert("RGB"))
    (left_x, left_y), (right_x, right_y) = found.landmarks[:2]
    return math.degrees(math.atan2(right_y - left_y, right_x - left_x))


def test_tilted_faces_come_out_level_and_faceless_pictures_as_they_were(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_MODEL_CACHE", str(tmp_path))
    picture = Image.fromarray(_framed_face())
    tilted = [np.asarray(picture.rotate(degrees, resample=Image.Resampling.BILINEAR)) for degrees in (12, -10)]
    blank = np.full((48, 48), 128, np.uint8)
    images = np.stack([*tilted, blank])

    realigned, found = realign_faces(images)

    assert found.tolist() == [True, True, False]
    np.testing.assert_array_equal(realigned[2], blank)
    for before, after in zip(images[:2], realigned[:2], strict=True):
        assert abs(_eye_line_degrees(before)) > 8
        assert abs(_eye_line_degrees(after)) < 3
    assert len(list(tmp_path.glob("realigned-*.npz"))) == 1
    cached, cached_found = realign_faces(images)  # the second call reads the cache
    np.testing.assert_array_equal(cached, realigned)
    np.testing.assert_array_equal(cached_found, found)
