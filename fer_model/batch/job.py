"""A batch job from start to end: list the sources, skip what a previous run finished, analyse the rest in
chunks (here or on Ray), commit each chunk as it finishes, and merge the parts into one table."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..model import read_meta
from .analysis import BatchOptions
from .local import run_local
from .sources import Source, find_sources
from .store import PartStore
from .table import results_schema

DEFAULT_CHUNK_SIZE = 16  # photos per part: a crash loses at most this many per worker


@dataclass(frozen=True)
class BatchSummary:
    """What a job did: the sources found, skipped as done before and analysed now; the merged tables' paths
    (``results``, ``errors_table``) and their row counts (``rows``, ``errors``)."""

    sources: int
    skipped: int
    analysed: int
    rows: int
    errors: int
    results: Path
    errors_table: Path


def run(
    sources: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    options: BatchOptions = BatchOptions(),  # noqa: B008 (frozen: a shared default is safe)
    *,
    workers: int | None = None,
    ray: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = True,
) -> BatchSummary:
    """Analyse every photo and video under ``sources`` into the Parquet file ``out`` (and its errors table).

    ``workers``: model processes (default: one per core), each with cores // workers torch threads; with
    ``ray`` ("local" or a cluster address) they are Ray actors of one CPU each. A rerun with the same ``out``
    skips the sources already done (same path, size and mtime).
    """
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"--out must be a .parquet file, not {out.name!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if chunk_size < 1:
        raise ValueError(f"--chunk-size must be at least 1, got {chunk_size}")
    cores = os.cpu_count() or 1
    workers = workers or cores
    threads = 1 if ray else max(1, cores // workers)

    if ray:
        from .on_ray import check_address  # Ray is optional: the local path never imports it

        check_address(ray)
    found, listing_errors = find_sources(sources)
    store = PartStore(out, results_schema(read_meta(options.weights).emotions))
    store.open()
    done = store.done_keys()
    todo = [source for source in found if source.key not in done]
    chunks = _chunks(todo, chunk_size)
    if progress:
        print(f"{len(found)} files, {len(found) - len(todo)} done before and skipped, {len(todo)} to analyse")
    if ray:
        from .on_ray import run_on_ray

        finished = run_on_ray(chunks, options, workers, threads, store, ray)
    else:
        finished = run_local(chunks, options, workers, threads, store)
    with tqdm(total=len(todo), unit="file", disable=not progress, smoothing=0.1) as bar:
        for manifest in finished:
            bar.update(len(manifest))
    results, errors, rows, error_count = store.merge(found, listing_errors)
    return BatchSummary(len(found), len(found) - len(todo), len(todo), rows, error_count, results, errors)


def _chunks(sources: list[Source], size: int) -> list[list[Source]]:
    """Photos in groups of ``size``; each video alone (one video is already a long task)."""
    photos = [source for source in sources if source.kind == "photo"]
    videos = [[source] for source in sources if source.kind == "video"]
    return [photos[i : i + size] for i in range(0, len(photos), size)] + videos
