"""Shared fixtures: paths to ../shared data (skipping cleanly without it) and the shipped model."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
FER2013_ZIP = SHARED / "fer2013" / "fer2013.zip"
PHOTOS = SHARED / "photos"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not on this machine (it comes from ../shared)")
    return path


@pytest.fixture(scope="session")
def fer2013_zip() -> Path:
    return _require(FER2013_ZIP)


@pytest.fixture(scope="session")
def photos() -> Path:
    return _require(PHOTOS)


@pytest.fixture(scope="session")
def classifier():
    from fer_model import load_classifier

    return load_classifier()
