"""Read FER2013 into uint8 arrays, from any of the layouts people have it in.

Accepted sources:
- a folder or ``.zip`` in the Kaggle layout: ``train/<emotion>/*.jpg`` and ``test/<emotion>/*.jpg``
  (the test folder may hold PublicTest, PrivateTest or both);
- a folder of ``<emotion>/`` subfolders (one split);
- the original ``fer2013.csv`` (``emotion,pixels,Usage``), rows selected by Usage.

Bad data is an error, never a silent skip: a missing split, an unknown emotion folder, a corrupt
image or one that is not 48x48 raises :class:`DatasetError` naming the file. Hidden files
(``.DS_Store``, ``._*``) are ignored. Decoded arrays are cached as ``.npz`` keyed by the
source's path, size and mtime, so a second load takes well under a second.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from ..constants import EMOTIONS, IMAGE_SIZE

CSV_USAGES = ("Training", "PublicTest", "PrivateTest")
KAGGLE_SPLITS = ("train", "test")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class DatasetError(ValueError):
    """The data set is missing, malformed or holds an unreadable image."""


@dataclass(frozen=True)
class FaceSet:
    """A split of FER2013: ``images`` uint8 (N, 48, 48), ``labels`` int64 (N,) indexing EMOTIONS."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def cache_dir() -> Path:
    return Path(os.environ.get("FER_MODEL_CACHE", Path.home() / ".cache" / "fer_model"))


def load_faces(source: str | os.PathLike, split: str = "train", usage: str | None = None) -> FaceSet:
    """Load one split of FER2013 from ``source``.

    ``split`` is ``"train"`` or ``"test"`` for the Kaggle layout and ignored for a folder of
    emotion subfolders. For a CSV, ``usage`` (Training, PublicTest or PrivateTest) picks the rows;
    without it, ``split="train"`` means Training and ``"test"`` means both test halves.
    """
    path = Path(source)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{split}|{usage}"
    cache_file = cache_dir() / f"faces-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    if cache_file.exists():
        with np.load(cache_file) as cached:
            return FaceSet(cached["images"], cached["labels"])
    faces = _read(path, split, usage)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez(tmp, images=faces.images, labels=faces.labels)
    tmp.replace(cache_file)
    return faces


def _read(path: Path, split: str, usage: str | None) -> FaceSet:
    if path.suffix.lower() == ".csv":
        return _read_csv(path, split, usage)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = {PurePosixPath(n): n for n in archive.namelist() if not n.endswith("/")}
            files = _select_split(path, list(members), split)
            return _decode_all((f"{path}:{members[p]}", p.parent.name, archive.read(members[p])) for p in files)
    if path.is_dir():
        relative = [PurePosixPath(p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file()]
        files = _select_split(path, relative, split)
        return _decode_all((str(path / p), p.parent.name, (path / p).read_bytes()) for p in files)
    raise DatasetError(f"{path}: expected a folder, a .zip or a fer2013.csv")


def _select_split(source: Path, files: list[PurePosixPath], split: str) -> list[PurePosixPath]:
    """Image files of ``split`` in a Kaggle layout, or all of them in an emotion-folder layout."""
    files = [p for p in files if not any(part.startswith((".", "__MACOSX")) for part in p.parts)]
    tops = {p.parts[0] for p in files if len(p.parts) > 1}
    if tops & set(KAGGLE_SPLITS):
        if split not in KAGGLE_SPLITS:
            raise DatasetError(f"unknown split {split!r}; expected one of {KAGGLE_SPLITS}")
        if split not in tops:
            raise DatasetError(f"{source}: has no '{split}/' folder (found: {', '.join(sorted(tops))})")
        files = [p for p in files if p.parts[0] == split]
        depth = 3
    else:
        depth = 2
    selected = []
    for p in sorted(files):
        if len(p.parts) != depth:
            raise DatasetError(f"{source}: {p} is not inside an emotion folder")
        if p.parent.name not in EMOTIONS:
            raise DatasetError(f"{source}: unknown emotion folder '{p.parent.name}' (expected {', '.join(EMOTIONS)})")
        if p.suffix.lower() not in _IMAGE_SUFFIXES:
            raise DatasetError(f"{source}: {p} is not an image file")
        selected.append(p)
    if not selected:
        raise DatasetError(f"{source}: no images found")
    return selected


def _decode_all(entries) -> FaceSet:
    images, labels = [], []
    for name, emotion, data in entries:
        images.append(_decode(name, data))
        labels.append(EMOTIONS.index(emotion))
    return FaceSet(np.stack(images), np.asarray(labels, dtype=np.int64))


def _decode(name: str, data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("L"))
    except Exception as error:  # PIL raises many types for broken files
        raise DatasetError(f"{name}: corrupt or unreadable image ({error})") from error
    if pixels.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise DatasetError(f"{name}: image is {pixels.shape[1]}x{pixels.shape[0]}, expected 48x48")
    return pixels


def _read_csv(path: Path, split: str, usage: str | None) -> FaceSet:
    if usage is not None and usage not in CSV_USAGES:
        raise DatasetError(f"unknown usage {usage!r}; expected one of {CSV_USAGES}")
    wanted = {usage} if usage else ({"Training"} if split == "train" else {"PublicTest", "PrivateTest"})
    images, labels = [], []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row in reader:
            if row["Usage"] not in wanted:
                continue
            where = f"{path}:{reader.line_num}"
            try:
                label = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
            except ValueError as error:
                raise DatasetError(f"{where}: unreadable row ({error})") from error
            if not 0 <= label < len(EMOTIONS):
                raise DatasetError(f"{where}: emotion {label} is outside 0-{len(EMOTIONS) - 1}")
            if pixels.size != IMAGE_SIZE * IMAGE_SIZE or pixels.min() < 0 or pixels.max() > 255:
                raise DatasetError(f"{where}: expected 2304 pixel values in 0-255, got {pixels.size}")
            images.append(pixels.reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.uint8))
            labels.append(label)
    if not images:
        raise DatasetError(f"{path}: no rows with Usage {' or '.join(sorted(wanted))}")
    return FaceSet(np.stack(images), np.asarray(labels, dtype=np.int64))
