"""load_image: every input kind gives an upright RGB photo; every bad input its own error and sentence."""

import io
import warnings

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_model import (
    CorruptImageError,
    EmptyFileError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    load_image,
)
from tests.image_fixtures import encode, png_header

ASTRONAUT = skimage.data.astronaut()


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", EmptyFileError, "file is empty"),
        (b"Dear diary, today I renamed this note to photo.jpg.\n", NotAnImageError, "file is not an image"),
        (encode(Image.fromarray(ASTRONAUT), "JPEG")[:20_000], CorruptImageError, "truncated or corrupt"),
        (
            encode(Image.new("1", (8000, 6000))),
            ImageTooLargeError,
            "image is 48 megapixels (8000x6000); the limit is 40",
        ),
        (png_header(10_000, 10_000), ImageTooLargeError, "image is 100 megapixels"),  # Pillow only warns
        (png_header(20_000, 10_000), ImageTooLargeError, "image is over 179 megapixels; the limit is 40"),
    ],
    ids=["empty", "text-as-jpg", "truncated-jpeg", "48-megapixels", "bomb-warning", "bomb-error"],
)
def test_bad_file_gets_its_own_error_and_sentence(tmp_path, data, error, message):
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    for source in (path, str(path), data):
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_image(source)
    assert issubclass(error, ImageError) and issubclass(error, ValueError)


def test_missing_file_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "absent.jpg")


def test_path_bytes_pil_and_array_give_the_same_photo(tmp_path):
    data = encode(Image.fromarray(ASTRONAUT))
    (tmp_path / "a.png").write_bytes(data)
    sources = [tmp_path / "a.png", str(tmp_path / "a.png"), data, Image.fromarray(ASTRONAUT), ASTRONAUT]
    sources += [ASTRONAUT / 255.0, np.dstack([ASTRONAUT, np.full(ASTRONAUT.shape[:2], 255, np.uint8)])]
    for source in sources:
        photo = load_image(source)
        assert photo.mode == "RGB" and photo.size == (512, 512)
        np.testing.assert_array_equal(np.asarray(photo), ASTRONAUT)


def test_greyscale_array_and_tiny_face():
    face = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    photo = load_image(face)
    assert photo.size == (48, 48)
    np.testing.assert_array_equal(np.asarray(photo), np.repeat(face[..., None], 3, axis=2))
    assert load_image(encode(Image.fromarray(face), "JPEG")).size == (48, 48)


@pytest.mark.parametrize(
    ("array", "error"),
    [
        (np.zeros((4, 4, 2), np.uint8), NotAnImageError),
        (np.zeros(10, np.uint8), NotAnImageError),
        (np.zeros((0, 4), np.uint8), NotAnImageError),
        (np.full((4, 4), 1.5), ImageError),
        (np.full((4, 4), np.nan), ImageError),
        (np.zeros((4, 4), np.uint16), ImageError),
    ],
)
def test_unusable_arrays(array, error):
    with pytest.raises(error):
        load_image(array)


@pytest.mark.parametrize(
    ("mode", "format"),
    [
        ("L", "PNG"),
        ("LA", "PNG"),
        ("P", "PNG"),
        ("RGBA", "PNG"),
        ("CMYK", "JPEG"),
        ("CMYK", "TIFF"),
        ("1", "PNG"),
        ("I", "TIFF"),
    ],
)
def test_every_mode_becomes_rgb(mode, format):
    image = Image.fromarray(ASTRONAUT[:64, :80]).convert(mode)
    for source in (image, encode(image, format)):
        photo = load_image(source)
        assert photo.mode == "RGB" and photo.size == (80, 64)


def test_sixteen_bit_is_scaled_not_clipped():
    grey = np.array([[0, 128, 255]], dtype=np.uint16) * 257
    image = Image.fromarray(grey)
    assert image.mode == "I;16"
    for source in (image, encode(image)):
        np.testing.assert_array_equal(np.asarray(load_image(source))[0, :, 0], [0, 128, 255])


def test_transparency_is_composited_on_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]  # opaque red; the rest fully transparent black
    photo = np.asarray(load_image(encode(Image.fromarray(rgba))))
    np.testing.assert_array_equal(photo[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(photo[1, 1], [255, 255, 255])


def test_exif_orientation_is_applied():
    upright = Image.fromarray(ASTRONAUT[:, :300])
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: "rotate 90 degrees clockwise to display", as phones write it
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    for data in (encode(stored, exif=exif), encode(stored, "JPEG", exif=exif, quality=95)):
        photo = load_image(data)
        assert photo.size == upright.size
    np.testing.assert_array_equal(np.asarray(load_image(encode(stored, exif=exif))), np.asarray(upright))


def test_animated_image_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(np.asarray(load_image(buffer.getvalue()))[0, 0], [255, 0, 0])


def test_a_huge_declared_size_raises_our_error_without_pillows_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageTooLargeError, match="image is 100 megapixels"):
            load_image(png_header(10_000, 10_000))
    assert not [warning for warning in caught if issubclass(warning.category, Image.DecompressionBombWarning)]


@pytest.mark.parametrize("format", ["HEIF", "AVIF"])
def test_iphone_heic_and_avif_photos_are_read(format):
    """HEIC (iPhones) through pillow-heif, AVIF through Pillow; both lossy, so compared loosely."""
    data = encode(Image.fromarray(ASTRONAUT[:200, :300]), format, quality=90)
    photo = load_image(data)
    assert photo.mode == "RGB" and photo.size == (300, 200)
    assert np.abs(np.asarray(photo, dtype=int) - ASTRONAUT[:200, :300]).mean() < 8


def test_an_svg_drawing_is_named():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n'
    with pytest.raises(NotAnImageError, match="SVG drawing, not a photo"):
        load_image(svg)


def test_a_callers_image_is_left_as_it_was():
    """Decoded files are turned in place (no copy of a 40-megapixel photo); a caller's image is copied."""
    exif = Image.Exif()
    exif[0x0112] = 6
    image = Image.open(io.BytesIO(encode(Image.fromarray(ASTRONAUT[:, :300]), exif=exif)))
    photo = load_image(image)
    assert photo is not image and photo.size == (512, 300) and image.size == (300, 512)
    rgb = Image.fromarray(ASTRONAUT)
    assert load_image(rgb) is not rgb
