"""SRC arguments (files, folders, zip archives) -> the photos and videos a batch job analyses.

Each :class:`Source` carries the fingerprint a rerun matches to skip what is done: its name (the absolute
path, ``archive.zip!member`` inside an archive), its size and its modification time (the archive's, for
members). Folders are searched recursively and keep only files with a photo or video suffix (and zip
archives, which are opened in turn); a file named on the command line is always tried.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"})
_ARCHIVE_SEPARATOR = "!"


@dataclass(frozen=True)
class Source:
    """One photo or video. kind: "photo" or "video" (by suffix); member: its name inside the zip at ``path``."""

    name: str
    path: str
    size: int
    mtime_ns: int
    kind: str
    member: str | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        """What a rerun matches: path, size and modification time."""
        return self.name, self.size, self.mtime_ns

    def read(self) -> str | bytes:
        """What the photo or video readers take: the path of a file, the bytes of an archive member."""
        if self.member is None:
            return self.path
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(self.member)


@dataclass(frozen=True)
class SourceError:
    """A source (or a SRC argument) that could not be listed or analysed, and why, in one sentence."""

    source: str
    message: str


def find_sources(arguments: list[str | os.PathLike]) -> tuple[list[Source], list[SourceError]]:
    """Every photo and video under ``arguments``, in argument order (folders sorted), each once."""
    sources: dict[str, Source] = {}
    errors: list[SourceError] = []
    for argument in arguments:
        path = Path(os.path.abspath(argument))
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p.name, default=None))
        elif path.is_file():
            files = [path]
        else:
            errors.append(SourceError(str(path), "no such file or folder"))
            continue
        for file in files:
            found = _archive_members(file, errors) if file.suffix.lower() == ".zip" else [_file_source(file)]
            for source in found:
                sources.setdefault(source.name, source)
    return list(sources.values()), errors


def _kind(name: str, default: str | None = "photo") -> str | None:
    suffix = Path(name).suffix.lower()
    if suffix in PHOTO_SUFFIXES:
        return "photo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "archive" if suffix == ".zip" else default


def _file_source(file: Path) -> Source:
    stat = file.stat()
    return Source(str(file), str(file), stat.st_size, stat.st_mtime_ns, _kind(file.name))


def _archive_members(file: Path, errors: list[SourceError]) -> list[Source]:
    try:
        with zipfile.ZipFile(file) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        errors.append(SourceError(str(file), f"not a readable zip archive ({error})"))
        return []
    mtime_ns = file.stat().st_mtime_ns
    return [
        Source(f"{file}{_ARCHIVE_SEPARATOR}{info.filename}", str(file), info.file_size, mtime_ns, kind, info.filename)
        for info in members
        if (kind := _kind(info.filename, default=None)) in ("photo", "video")
    ]
