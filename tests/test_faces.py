"""Face detection and alignment on real photos: counts, order, settings, rotation and the crop's geometry."""

import dataclasses
import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model import analyze, load_image
from fer_model.faces import FRAMING_ZOOM, DetectionSettings, align_face, detect_faces, mtcnn, transform_points

ASTRONAUT = Image.fromarray(skimage.data.astronaut())


def _centre(box):
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def test_astronaut_has_one_face():
    (face,) = detect_faces(ASTRONAUT)
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512
    assert face.confidence > 0.99
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < nose[0] < right_eye[0] and max(left_eye[1], right_eye[1]) < nose[1]
    assert nose[1] < min(mouth_left[1], mouth_right[1])
    assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in face.landmarks)


def test_multiface_has_six_faces_left_to_right(photos):
    faces = detect_faces(load_image(photos / "multiface.jpg"))
    assert len(faces) == 6
    centres = [_centre(face.box)[0] for face in faces]
    assert centres == sorted(centres)


def test_detection_without_a_proposal_limit_equals_facenet_pytorchs_mtcnn(photos):
    """Our cascade is facenet-pytorch's, step for step: boxes, scores and landmarks as its MTCNN finds them."""
    photo = load_image(photos / "multiface.jpg")
    # No downscaling: both see the same pixels.
    settings = DetectionSettings(max_detect_side=max(photo.size), max_proposals=None)
    faces = detect_faces(photo, settings)
    min_face = int(settings.min_face_fraction * min(photo.size))
    thresholds = (*settings.proposal_thresholds, settings.threshold)
    boxes, scores, landmarks = mtcnn(thresholds, min_face, settings.pyramid_factor).detect(photo, landmarks=True)
    order = np.argsort([box[0] + box[2] for box in boxes])
    assert len(faces) == len(boxes) == 6
    np.testing.assert_array_equal([face.box for face in faces], np.asarray(boxes, dtype=np.float64)[order])
    np.testing.assert_array_equal([face.confidence for face in faces], np.asarray(scores, dtype=np.float64)[order])
    np.testing.assert_array_equal([face.landmarks for face in faces], np.asarray(landmarks, np.float32)[order])


def test_no_face_is_an_empty_list():
    assert detect_faces(Image.new("RGB", (640, 480), "lightgrey")) == []
    assert analyze(Image.new("RGB", (64, 64), "white"), explain=True).faces == []


def test_settings_are_respected(photos):
    multiface = load_image(photos / "multiface.jpg")
    confident = detect_faces(multiface, DetectionSettings(threshold=0.9999))
    assert 0 < len(confident) < 6 and all(face.confidence >= 0.9999 for face in confident)
    (face,) = detect_faces(ASTRONAUT)
    face_size = max(face.box[2] - face.box[0], face.box[3] - face.box[1])
    assert len(detect_faces(ASTRONAUT, DetectionSettings(min_face_size=round(0.8 * face_size)))) == 1
    assert detect_faces(ASTRONAUT, DetectionSettings(min_face_size=round(1.25 * face_size))) == []


def test_a_crowd_at_the_size_limit_is_found_whole():
    """Twenty faces about as large as the first pass's limit: it keeps some and misses the ones just under it,
    so a second pass looks again."""
    tile = ASTRONAUT.resize((200, 200))
    crowd = Image.new("RGB", (1000, 800))
    for row in range(4):
        for column in range(5):
            crowd.paste(tile, (200 * column, 200 * row))
    limit = DetectionSettings(min_face_fraction=0.05)  # 40 px; the faces are 31-43 px
    assert len(detect_faces(crowd, limit)) == 20
    assert len(detect_faces(crowd, dataclasses.replace(limit, rescan_near_limit=False))) < 20  # what video gets


@pytest.fixture
def second_stage_batches():
    """The number of candidates each call of MTCNN's second network gets, while the test runs."""
    sizes = []
    hook = mtcnn().rnet.register_forward_pre_hook(lambda module, inputs: sizes.append(len(inputs[0])))
    yield sizes
    hook.remove()


def test_only_the_most_confident_proposals_go_on_and_the_faces_stay(photos, second_stage_batches):
    multiface = load_image(photos / "multiface.jpg")
    limited = detect_faces(multiface, DetectionSettings(max_proposals=64))
    assert second_stage_batches == [64]
    unlimited = detect_faces(multiface, DetectionSettings(max_proposals=None))
    assert second_stage_batches[1] > 64
    assert len(limited) == len(unlimited) == 6
    for face, reference in zip(limited, unlimited, strict=True):
        eyes = np.linalg.norm(reference.landmarks[1] - reference.landmarks[0])
        assert np.abs(face.landmarks - reference.landmarks).max() < 0.1 * eyes


def test_a_crowd_gets_every_proposal(second_stage_batches):
    """Twenty faces, more than one per eight proposals allowed: the pass looks again at all of them."""
    tile = ASTRONAUT.resize((200, 200))
    crowd = Image.new("RGB", (1000, 800))
    for row in range(4):
        for column in range(5):
            crowd.paste(tile, (200 * column, 200 * row))
    settings = DetectionSettings(min_face_fraction=0, max_proposals=32)  # one pass, down to 20 px
    assert len(detect_faces(crowd, settings)) == 20
    assert second_stage_batches[0] == 32 and second_stage_batches[1] > 32


def test_large_photos_are_downscaled_for_detection_and_mapped_back():
    (face,) = detect_faces(ASTRONAUT)
    large = ASTRONAUT.resize((1536, 1536), Image.Resampling.BICUBIC)
    (large_face,) = detect_faces(large, DetectionSettings(max_detect_side=512))  # detects at 1/3 scale
    np.testing.assert_allclose(large_face.box, np.array(face.box) * 3, atol=12)  # 4% of the face
    np.testing.assert_allclose(large_face.landmarks, face.landmarks * 3, atol=12)


def test_boxes_are_clamped_to_the_photo():
    (face,) = detect_faces(ASTRONAUT)
    x1, y1, _, _ = (round(v) for v in face.box)
    cut = ASTRONAUT.crop((x1 + 10, y1 + 10, 512, 512))  # the face runs off the top-left corner
    faces = detect_faces(cut, DetectionSettings(threshold=0.7))
    assert faces, "the cut face should still be found"
    for found in faces:
        assert 0 <= found.box[0] < found.box[2] <= cut.width and 0 <= found.box[1] < found.box[3] <= cut.height
    assert min(faces[0].box[:2]) == 0


def test_alignment_levels_the_eyes_and_frames_the_face():
    (face,) = detect_faces(ASTRONAUT)
    rotated = ASTRONAUT.rotate(20, resample=Image.Resampling.BICUBIC, center=tuple(_centre(face.box)))
    (tilted,) = detect_faces(rotated)
    for photo, found in ((ASTRONAUT, face), (rotated, tilted)):
        crop, photo_to_crop = align_face(photo, found.landmarks, zoom=1.1)
        assert crop.shape == (48, 48) and crop.dtype == np.uint8 and photo_to_crop.shape == (2, 3)
        left_eye, right_eye, nose, *_ = transform_points(photo_to_crop, found.landmarks)
        assert abs(left_eye[1] - right_eye[1]) < 1e-6  # eye line horizontal
        assert 14 < right_eye[0] - left_eye[0] < 22 and 15 < left_eye[1] < 23 and 20 < nose[0] < 28
        # The default framing draws the face FRAMING_ZOOM / 1.1 times as large about the crop centre.
        default_eyes = transform_points(align_face(photo, found.landmarks)[1], found.landmarks)[:2]
        assert np.ptp(default_eyes[:, 0]) == pytest.approx((right_eye[0] - left_eye[0]) * FRAMING_ZOOM / 1.1)


def test_a_grayscale_photo_gives_the_same_crop():
    (face,) = detect_faces(ASTRONAUT)
    crop, photo_to_crop = align_face(ASTRONAUT, face.landmarks)
    gray_crop, gray_photo_to_crop = align_face(ASTRONAUT.convert("L"), face.landmarks)
    np.testing.assert_array_equal(gray_crop, crop)
    np.testing.assert_array_equal(gray_photo_to_crop, photo_to_crop)


def _rotated_with_exif_tag(photo: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 8  # Orientation: "rotate 90 degrees counter-clockwise to display"
    buffer = io.BytesIO()
    photo.transpose(Image.Transpose.ROTATE_270).save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


def test_exif_rotated_copy_gives_the_same_faces(classifier):
    original = analyze(ASTRONAUT, classifier, explain=False)
    copy = analyze(_rotated_with_exif_tag(ASTRONAUT), classifier, explain=False)
    assert len(copy.faces) == len(original.faces) == 1
    np.testing.assert_allclose(copy.faces[0].box, original.faces[0].box, atol=1e-3)
    assert copy.faces[0].probabilities == pytest.approx(original.faces[0].probabilities, abs=1e-5)


def test_pixel_rotated_copy_gives_nearly_the_same_probabilities(classifier):
    original = analyze(ASTRONAUT, classifier, explain=False)
    centre = tuple(_centre(original.faces[0].box))
    for angle in (-15, 15):
        rotated = ASTRONAUT.rotate(angle, resample=Image.Resampling.BICUBIC, center=centre)
        copy = analyze(rotated, classifier, explain=False)
        assert len(copy.faces) == 1
        np.testing.assert_allclose(_centre(copy.faces[0].box), centre, atol=8)
        probabilities = np.array(list(copy.faces[0].probabilities.values()))
        np.testing.assert_allclose(probabilities, list(original.faces[0].probabilities.values()), atol=0.1)


def test_rotated_group_photo_gives_the_same_faces(photos, classifier):
    photo = load_image(photos / "multiface.jpg")
    original = analyze(photo, classifier, explain=False)
    copy = analyze(_rotated_with_exif_tag(photo), classifier, explain=False)
    assert len(copy.faces) == len(original.faces) == 6
    for a, b in zip(original.faces, copy.faces, strict=True):
        np.testing.assert_allclose(a.box, b.box, atol=1e-3)
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)


@pytest.mark.parametrize("size", [(20000, 10), (20000, 40), (1, 1), (19, 19)])
def test_pictures_too_thin_or_small_for_a_face_give_no_faces(size):
    assert detect_faces(Image.new("RGB", size, (128, 128, 128))) == []
