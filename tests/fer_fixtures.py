"""Tiny FER2013-shaped data sets made on the fly, in each layout the loader accepts."""

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from fer_model.constants import EMOTIONS


def random_faces(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (count, 48, 48) noise images and labels cycling through the 7 emotions."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 48, 48), dtype=np.uint8), np.arange(count) % len(EMOTIONS)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_kaggle_zip(path: Path, splits=("train", "test"), count: int = 14) -> dict[str, tuple]:
    """A Kaggle-layout zip; returns {split: (images, labels)} in the loader's (sorted name) order."""
    written = {}
    with zipfile.ZipFile(path, "w") as archive:
        for offset, split in enumerate(splits):
            images, labels = random_faces(count, seed=offset)
            for i, (image, label) in enumerate(zip(images, labels, strict=True)):
                archive.writestr(f"{split}/{EMOTIONS[label]}/img_{i:04d}.png", png_bytes(image))
            order = sorted(range(count), key=lambda i: (EMOTIONS[labels[i]], i))
            written[split] = (images[order], labels[order])
    return written


def write_csv(path: Path, usages=("Training", "PublicTest", "PrivateTest"), per_usage: int = 7) -> dict[str, tuple]:
    """An original-format fer2013.csv; returns {usage: (images, labels)} in file order."""
    written, rows = {}, ["emotion,pixels,Usage"]
    for offset, usage in enumerate(usages):
        images, labels = random_faces(per_usage, seed=10 + offset)
        written[usage] = (images, labels)
        rows += [
            f"{label},{' '.join(map(str, image.ravel()))},{usage}" for image, label in zip(images, labels, strict=True)
        ]
    path.write_text("\n".join(rows) + "\n")
    return written
