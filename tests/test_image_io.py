"""load_image: every input kind gives an upright RGB photo; every bad input its own error and sentence."""

import io
import struct
import zlib

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

ASTRONAUT = skimage.data.astronaut()


def _encode(image: Image.Image, format: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size: signature, IHDR, an empty IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", EmptyFileError, "file is empty"),
        (b"Dear diary, today I renamed this note to photo.jpg.\n", NotAnImageError, "file is not an image"),
        (_encode(Image.fromarray(ASTRONAUT), "JPEG")[:20_000], CorruptImageError, "truncated or corrupt"),
        (
            _encode(Image.new("1", (8000, 6000))),
            ImageTooLargeError,
            "image is 48 megapixels (8000x6000); the limit is 40",
        ),
        (_png_header(10_000, 10_000), ImageTooLargeError, "image is 100 megapixels"),  # Pillow only warns
        (_png_header(20_000, 10_000), ImageTooLargeError, "image is over 179 megapixels; the limit is 40"),
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
    data = _encode(Image.fromarray(ASTRONAUT))
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
    assert load_image(_encode(Image.fromarray(face), "JPEG")).size == (48, 48)


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
    for source in (image, _encode(image, format)):
        photo = load_image(source)
        assert photo.mode == "RGB" and photo.size == (80, 64)


def test_sixteen_bit_is_scaled_not_clipped():
    grey = np.array([[0, 128, 255]], dtype=np.uint16) * 257
    image = Image.fromarray(grey)
    assert image.mode == "I;16"
    for source in (image, _encode(image)):
        np.testing.assert_array_equal(np.asarray(load_image(source))[0, :, 0], [0, 128, 255])


def test_transparency_is_composited_on_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]  # opaque red; the rest fully transparent black
    photo = np.asarray(load_image(_encode(Image.fromarray(rgba))))
    np.testing.assert_array_equal(photo[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(photo[1, 1], [255, 255, 255])


def test_exif_orientation_is_applied():
    upright = Image.fromarray(ASTRONAUT[:, :300])
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: "rotate 90 degrees clockwise to display", as phones write it
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    for data in (_encode(stored, exif=exif), _encode(stored, "JPEG", exif=exif, quality=95)):
        photo = load_image(data)
        assert photo.size == upright.size
    np.testing.assert_array_equal(np.asarray(load_image(_encode(stored, exif=exif))), np.asarray(upright))


def test_animated_image_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(np.asarray(load_image(buffer.getvalue()))[0, 0], [255, 0, 0])
