"""Fuzzing the input boundary: mutated image files and random arrays give a photo or an ImageError, nothing else.

Mutations of real files (truncations, flipped and inserted bytes, another format's header, huge sizes declared
in a PNG's IHDR) go through ``load_image`` and, fewer of them, through ``analyze(..., explain=False)``. The
number of examples tried is printed (``pytest -s``) and recorded as a test property.
"""

import struct
import zlib

import numpy as np
import pytest
import skimage.data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from fer_model import ImageError, analyze, load_image
from fer_model.image_io import MAX_PIXELS
from tests.image_fixtures import encode

# Pillow warns about the broken metadata it skips (corrupt EXIF, TIFF tags): expected here, and not failures.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

_FACE = skimage.data.astronaut()[40:200:2, 150:310:2]  # 80x80, the astronaut's face
SEEDS = {
    "png": encode(_FACE),
    "jpeg": encode(_FACE, "JPEG", quality=80),
    "gif": encode(Image.fromarray(_FACE).convert("P")),
    "webp": encode(_FACE, "WEBP"),
    "bmp": encode(_FACE, "BMP"),
    "tiff": encode(_FACE, "TIFF"),
    "heic": encode(_FACE, "HEIF"),
    "avif": encode(_FACE, "AVIF"),
}
SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"BM", b"II*\0", b"MM\0*"]
SIGNATURES += [b"\0\0\0\x1cftypheic", b"\0\0\0\x1cftypavif", b"<svg", b"%PDF-1.4"]
FUZZ = settings(max_examples=2500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_ANALYZE = settings(FUZZ, max_examples=300)
ARRAYS = settings(FUZZ, max_examples=500)


def _with_ihdr_size(png: bytes, width: int, height: int, fix_crc: bool) -> bytes:
    """The PNG declaring another size in its IHDR (the chunk at byte 8), with a valid CRC or the old one."""
    ihdr = png[16:33]
    ihdr = struct.pack(">II", width, height) + ihdr[8:]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) if fix_crc else png[29:33]
    return png[:16] + ihdr + crc + png[33:]


@st.composite
def mutated_files(draw) -> bytes:
    """A real file with one to three mutations."""
    kind = draw(st.sampled_from(sorted(SEEDS)))
    data = SEEDS[kind]
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["truncate", "flip", "insert", "header", "ihdr"]))
        if mutation == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif mutation == "flip" and data:
            flipped = bytearray(data)
            for index in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
                flipped[index] ^= draw(st.integers(1, 255))
            data = bytes(flipped)
        elif mutation == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
        elif mutation == "header":
            signature = draw(st.sampled_from(SIGNATURES))
            data = signature + data[len(signature) :]
        elif mutation == "ihdr" and data.startswith(b"\x89PNG") and len(data) >= 33:
            sizes = st.one_of(st.integers(0, 20_000), st.integers(0, 2**31 - 1))
            data = _with_ihdr_size(data, draw(sizes), draw(sizes), draw(st.booleans()))
    return data


def _load(data) -> Image.Image | ImageError:
    try:
        photo = load_image(data)
    except ImageError as error:  # anything else fails the test
        return error
    assert photo.mode == "RGB" and 0 < photo.width * photo.height <= MAX_PIXELS
    return photo


def test_seeds_are_valid_images():
    for kind, data in SEEDS.items():
        assert load_image(data).size == (80, 80), kind


def test_load_image_on_mutated_files(record_property):
    tried = []

    @FUZZ
    @given(mutated_files())
    def check(data):
        tried.append(_load(data))

    check()
    _report(record_property, "load_image, mutated files", tried)


def test_load_image_on_random_bytes(record_property):
    tried = []

    @settings(FUZZ, max_examples=500)
    @given(st.binary(max_size=2048))
    def check(data):
        tried.append(_load(data))

    check()
    _report(record_property, "load_image, random bytes", tried)


def test_load_image_on_random_arrays(record_property):
    tried = []
    dtypes = st.sampled_from([np.uint8, np.uint16, np.int64, np.float32, np.float64, np.bool_])
    shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12)

    @ARRAYS
    @given(hnp.arrays(dtypes, shapes))
    def check(array):
        tried.append(_load(array))

    check()
    _report(record_property, "load_image, random arrays", tried)


def test_analyze_on_mutated_files_and_random_arrays(classifier, record_property):
    tried = []
    arrays = hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=64))

    @FUZZ_ANALYZE
    @given(st.one_of(mutated_files(), arrays))
    def check(source):
        try:
            result = analyze(source, classifier, explain=False, tta=False)
        except ImageError as error:
            tried.append(error)
            return
        tried.append(result)
        for face in result.faces:
            assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-4)

    check()
    _report(record_property, "analyze", tried)


def _report(record_property, what: str, outcomes: list) -> None:
    errors = sum(isinstance(outcome, ImageError) for outcome in outcomes)
    print(f"\n{what}: {len(outcomes)} examples, {len(outcomes) - errors} results, {errors} ImageErrors")
    record_property("examples", len(outcomes))
    assert outcomes
