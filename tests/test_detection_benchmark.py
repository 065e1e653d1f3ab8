import skimage.data

from benchmarks.detection import FACE_SIZES, _sized_faces, size_recall
from fer_model import load_image
from fer_model.faces import DetectionSettings, detect_faces


def test_recall_by_face_size_finds_pasted_faces_and_misses_those_below_the_minimum():
    astronaut = load_image(skimage.data.astronaut())
    scenes = _sized_faces([astronaut], detect_faces(astronaut), count=1)
    assert [size for size, _, _ in scenes] == FACE_SIZES
    assert all(scene.size == (640, 480) for _, scene, _ in scenes)

    assert size_recall(scenes, DetectionSettings()) == dict.fromkeys(FACE_SIZES, 1.0)
    # A detector told to look only for faces of 100 px or more (on the box's longer side, which is its
    # height: sizes here are widths) cannot find the smaller ones.
    blind = size_recall(scenes, DetectionSettings(min_face_size=100, min_face_fraction=0.0))
    assert {size: found for size, found in blind.items() if size < 70} == {s: 0.0 for s in FACE_SIZES if s < 70}
    assert {size: found for size, found in blind.items() if size > 130} == {s: 1.0 for s in FACE_SIZES if s > 130}
