"""Any user input -> an upright RGB photo, or an :class:`ImageError` with a sentence the user understands.

Accepts a path, the bytes of an image file, a PIL image or a numpy array. Files are checked in the
order the failures can occur: empty, not an image, too many pixels (read from the header, before any
pixel is decoded, which also stops decompression bombs), then corrupt or truncated (a full decode).
The EXIF orientation of phone photos is applied, and animated images give their first frame.
Formats: what Pillow reads (JPEG, PNG, WebP, AVIF, GIF, BMP, TIFF ...) and, through pillow-heif,
the HEIC/HEIF photos of iPhones.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000

pillow_heif.register_heif_opener()
# warnings.catch_warnings swaps process-wide filters: one thread at a time, or two could interleave.
_WARNINGS_LOCK = threading.Lock()


class ImageError(ValueError):
    """An input that cannot be used as a photo; ``str(error)`` is a sentence for the user."""


class EmptyFileError(ImageError):
    """The file has no bytes."""


class NotAnImageError(ImageError):
    """The data is not in any image format Pillow reads (or the array has no image shape)."""


class CorruptImageError(ImageError):
    """The header is readable but the pixel data is truncated or broken."""


class ImageTooLargeError(ImageError):
    """More pixels than :data:`MAX_PIXELS`."""


def load_image(source: str | os.PathLike | bytes | Image.Image | np.ndarray) -> Image.Image:
    """An RGB PIL image, upright, from a path, encoded bytes, a PIL image or an array.

    Arrays are (H, W), (H, W, 3) or (H, W, 4), uint8 or float in [0, 1]. Transparent pixels are
    composited on white. Raises a subclass of :class:`ImageError` for unusable input.
    """
    if isinstance(source, np.ndarray):
        return _to_rgb(_from_array(source))
    if isinstance(source, Image.Image):
        return _upright_rgb(source, owned=False)
    if isinstance(source, bytes | bytearray | memoryview):
        return _decode(bytes(source))
    if isinstance(source, str | os.PathLike):
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise ImageError(f"cannot read the file: {(error.strerror or str(error)).lower()}") from error
        return _decode(data)
    raise TypeError(f"expected a path, bytes, a PIL image or a numpy array, got {type(source).__name__}")


def _decode(data: bytes) -> Image.Image:
    if not data:
        raise EmptyFileError("file is empty")
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            # Pillow warns above 89 megapixels; our own limit is lower, so _check_size refuses those
            # files with its own sentence and the warning would only print a second, worse one.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        if b"<svg" in data[:4096]:
            raise NotAnImageError("file is an SVG drawing, not a photo; use JPEG, PNG, WebP, HEIC or AVIF") from error
        raise NotAnImageError("file is not an image") from error
    except Image.DecompressionBombError as error:
        # Pillow refuses above 2 x MAX_IMAGE_PIXELS (179 MP) before we see the size; below that it
        # only warns (above 89 MP), and our own header check refuses those right after.
        raise ImageTooLargeError(
            f"image is over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.3g} megapixels; the limit is {MAX_PIXELS / 1e6:.3g}"
        ) from error
    except Exception as error:  # a format recognised, then a header its plugin cannot parse
        raise CorruptImageError("image file is truncated or corrupt") from error
    return _upright_rgb(image, owned=True)


def _upright_rgb(image: Image.Image, owned: bool) -> Image.Image:
    """``owned``: the image was decoded here, so it may be turned in place instead of copied (Pillow holds a
    40-megapixel photo in 160 MB); a caller's image is copied and left as it was."""
    _check_size(*image.size)
    try:
        image.load()  # Image.open reads only the header; this decodes every pixel (of the first frame)
        if owned:
            ImageOps.exif_transpose(image, in_place=True)
        else:
            image = ImageOps.exif_transpose(image)
        return _to_rgb(image)
    except Exception as error:  # Pillow's decoders raise many types (OSError, SyntaxError, ValueError, ...)
        raise CorruptImageError("image file is truncated or corrupt") from error


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"image is {width * height / 1e6:.3g} megapixels ({width}x{height}); the limit is {MAX_PIXELS / 1e6:.3g}"
        )


def _from_array(array: np.ndarray) -> Image.Image:
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) or 0 in array.shape:
        raise NotAnImageError(f"an array of shape {array.shape} is not an image; expected HxW, HxWx3 or HxWx4")
    _check_size(array.shape[1], array.shape[0])
    if np.issubdtype(array.dtype, np.floating):
        if not np.all((array >= 0) & (array <= 1)):  # also catches NaN
            raise ImageError("float pixel values must lie in [0, 1]")
        array = np.round(array * 255)
    elif array.dtype != np.uint8:
        raise ImageError(f"pixel type {array.dtype} is not supported; use uint8, or float in [0, 1]")
    return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for every Pillow mode: alpha composited on white, 16-bit scaled (not clipped) to 8 bits."""
    if image.mode.startswith("I;16"):  # 16-bit samples (I;16, I;16B ...); Pillow's convert would clip at 255
        image = Image.fromarray((np.asarray(image, dtype=np.float32) / 257).clip(0, 255).round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image if image.mode == "RGB" else image.convert("RGB")  # convert("RGB") of RGB is a copy
