"""The Streamlit page driven by streamlit.testing (no browser): inputs, results, errors, the class selector."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data
from streamlit.testing.v1 import AppTest

from fer_model import ImageError, PhotoResult, load_image

APP = Path(__file__).resolve().parents[1] / "app.py"
NOT_AN_IMAGE = b"Dear diary, today I renamed a text file to .jpg.\n"


def _encode(pixels: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


def _run_app() -> AppTest:
    # Loading the model and the face detector the first time takes longer than AppTest's 3 s.
    return AppTest.from_file(APP, default_timeout=120).run()


def _face_titles(at: AppTest) -> list[str]:
    return [markdown.value for markdown in at.markdown if markdown.value.startswith("**Face ")]


def _photo_results(at: AppTest) -> list[PhotoResult]:
    """The PhotoResults the page keeps in its session, one per photo that could be analysed."""
    return [analysis for _, analysis in at.session_state["analyses"].values() if not isinstance(analysis, str)]


def _widget_key(at: AppTest, name: str) -> str:
    """The key of a per-photo widget: the page prefixes it with the (only) photo's content hash."""
    (key,) = at.session_state["analyses"]
    return f"{key[0]}-{name}"


def _assert_valid_faces(at: AppTest, count: int) -> None:
    (result,) = _photo_results(at)
    assert len(result.faces) == count
    assert len(_face_titles(at)) == count
    for face in result.faces:
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert face.top_emotion == max(face.probabilities, key=face.probabilities.get)


def test_page_starts_with_inputs_and_no_results():
    at = _run_app()
    assert not at.exception
    assert at.file_uploader[0].accept_multiple_files
    # Every file reaches the page, which names what is wrong with it: the uploader's own refusals only
    # show when the mouse is over the file.
    assert at.file_uploader[0].allowed_type == []
    assert any("HEIC" in caption.value and "MB each" in caption.value for caption in at.caption)
    assert not _face_titles(at)


def test_how_it_works_quotes_the_shipped_test_scores():
    at = _run_app()
    metrics = json.loads((APP.parent / "weights" / "publictest_metrics.json").read_text())
    text = " ".join(markdown.value for markdown in at.expander[0].markdown)
    assert f"accuracy {metrics['accuracy']:.1%}" in text and f"({metrics['n']:,} faces)" in text


def test_sample_button_shows_one_smiling_face():
    at = _run_app()
    at.button(key="sample-button").click().run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 1)
    # Behaviour of the shipped model: the astronaut smiles.
    assert _photo_results(at)[0].faces[0].top_emotion == "happy"
    assert len(at.download_button) == 3


def test_moving_a_display_slider_reuses_the_analysis():
    at = _run_app()
    at.button(key="sample-button").click().run()
    (before,) = _photo_results(at)
    at.slider(key=_widget_key(at, "opacity")).set_value(0.8).run()
    assert not at.exception
    assert _photo_results(at)[0] is before


def test_uploaded_png_and_camera_snapshot():
    astronaut = skimage_data.astronaut()
    at = _run_app()
    at.file_uploader[0].upload("astronaut.png", _encode(astronaut, "PNG"), "image/png").run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 1)

    at.file_uploader[0].clear()
    at.toggle(key="use-camera").set_value(True).run()
    at.camera_input[0].upload("snapshot.jpg", _encode(astronaut, "JPEG")).run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 1)


@pytest.mark.shared
def test_uploaded_real_photo(photos):
    at = _run_app()
    at.file_uploader[0].upload("kate.jpg", (photos / "kate.jpg").read_bytes(), "image/jpeg").run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 1)


def test_bad_file_shows_its_message_and_the_page_keeps_working():
    with pytest.raises(ImageError) as expected:
        load_image(NOT_AN_IMAGE)
    at = _run_app()
    at.file_uploader[0].upload("x.jpg", NOT_AN_IMAGE, "image/jpeg").run()
    assert not at.exception
    assert len(at.error) == 1 and str(expected.value) in at.error[0].value
    assert "Traceback" not in at.error[0].value

    at.file_uploader[0].set_value(("astronaut.png", _encode(skimage_data.astronaut(), "PNG"), "image/png")).run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 1)


def test_photo_without_a_face_gets_tips():
    gradient = np.repeat(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], 240, axis=0).repeat(3, axis=2)
    at = _run_app()
    at.file_uploader[0].upload("sky.png", _encode(gradient, "PNG"), "image/png").run()
    assert not at.exception and not at.error
    assert len(at.info) == 1 and "No face found" in at.info[0].value
    assert not _face_titles(at)


def test_class_selector_explains_the_chosen_emotion():
    at = _run_app()
    at.button(key="sample-button").click().run()
    (face,) = _photo_results(at)[0].faces
    assert face.heatmap_emotion == face.top_emotion
    selector = at.selectbox(key=_widget_key(at, "explain-1"))
    other = next(emotion for emotion in selector.options if emotion != face.top_emotion)

    selector.set_value(other).run()
    assert not at.exception and not at.error
    assert f"Heat map for {other}" in [caption for image in at.get("image") for caption in image.captions]
    assert _photo_results(at)[0].faces[0].heatmap_emotion == face.top_emotion  # the stored result is unchanged


def test_heat_maps_off_and_other_cam_methods():
    at = _run_app()
    at.button(key="sample-button").click().run()
    for method in at.selectbox(key="cam-method").options:
        at.selectbox(key="cam-method").set_value(method).run()
        assert not at.exception and not at.error
        assert _photo_results(at)[0].faces[0].region_shares is not None
    at.toggle(key="heat-maps").set_value(False).run()
    assert not at.exception and not at.error
    assert _photo_results(at)[0].faces[0].heatmap is None
    assert "Heat maps are off (see the sidebar)." in [caption.value for caption in at.caption]


def test_twenty_faces_render():
    tiles = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((200, 200)))
    grid = np.concatenate([np.concatenate([tiles] * 5, axis=1)] * 4, axis=0)  # 4 rows of 5 astronauts
    at = _run_app()
    at.file_uploader[0].upload("crowd.png", _encode(grid, "PNG"), "image/png").run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 20)
    assert any(markdown.value.startswith("**20 faces:**") for markdown in at.markdown)


def _unescaped(markdown: str) -> str:
    """What Streamlit's Markdown shows for backslash-escaped text."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_file_names_are_shown_as_they_are_not_as_markdown():
    name = "**bold** _x_ [a](b) `c` #1.png"
    at = _run_app()
    at.file_uploader[0].upload(name, _encode(skimage_data.astronaut(), "PNG"), "image/png").run()
    assert not at.exception and not at.error
    (heading,) = at.subheader
    assert _unescaped(heading.value) == name
    assert not re.search(r"(?<!\\)[*_\[\]`#]", heading.value)  # every Markdown character escaped

    at.file_uploader[0].set_value(("*not* [an](image).jpg", NOT_AN_IMAGE, "image/jpeg")).run()
    assert not at.exception
    assert _unescaped(at.error[0].value).startswith("Cannot use *not* [an](image).jpg: ")


@pytest.mark.parametrize("size", [(1, 1), (20_000, 10), (19, 19)], ids=["1x1", "20000x10", "19x19"])
def test_picture_smaller_than_the_minimum_face_size_gets_tips_and_a_hint(size):
    at = _run_app()
    at.file_uploader[0].upload("tiny.png", _encode(np.full((size[1], size[0], 3), 128, np.uint8), "PNG")).run()
    assert not at.exception and not at.error
    (info,) = at.info
    assert "No face found" in info.value
    assert f"only {size[0]}x{size[1]} pixels: smaller than the minimum face size (20 pixels)" in info.value


def test_large_photo_is_kept_at_display_size():
    """The session keeps a display-size copy of the photo (not the full-resolution one) with the result."""
    big = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((3000, 3000)))
    at = _run_app()
    at.file_uploader[0].upload("big.jpg", _encode(big, "JPEG"), "image/jpeg").run()
    assert not at.exception and not at.error
    (result,) = _photo_results(at)
    assert (result.width, result.height) == (3000, 3000) and len(result.faces) == 1
    assert result.photo.size == (1600, 1600)


def test_too_large_file_and_too_many_files_are_refused_visibly():
    at = _run_app()
    at.file_uploader[0].upload("huge.jpg", b"\xff" * (26 * 2**20), "image/jpeg").run()
    assert not at.exception
    (error,) = at.error
    assert error.value == "Cannot use huge\\.jpg: the file is 26.0 MB; the limit is 25 MB."

    colours = [np.full((8, 8, 3), level, np.uint8) for level in range(0, 240, 20)]  # 12 different tiny photos
    at.file_uploader[0].set_value([(f"p{i}.png", _encode(c, "PNG"), "image/png") for i, c in enumerate(colours)])
    at.run()
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert warning.value.startswith("12 photos given: only the first 10 are analysed")
    assert len(at.session_state["analyses"]) == 10


@pytest.mark.parametrize(("name", "format"), [("IMG_0001.HEIC", "HEIF"), ("astronaut.avif", "AVIF")])
def test_heic_and_avif_uploads(name, format):
    at = _run_app()
    at.file_uploader[0].upload(name, _encode(skimage_data.astronaut(), format), "application/octet-stream").run()
    assert not at.exception and not at.error
    _assert_valid_faces(at, 1)
