"""Run chunks of sources on this machine: in this process for one worker, else one process per worker.

Each worker process loads the model once and runs torch on ``threads`` threads, chosen by the caller so
that workers times threads is the core count and workers do not fight over cores. Results come back to
this process, which writes each chunk as it finishes (see :class:`PartStore`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from .analysis import BatchOptions, Worker
from .sources import Source
from .store import PartStore

_worker: Worker | None = None  # the model of this worker process


def run_local(
    chunks: list[list[Source]], options: BatchOptions, workers: int, threads: int, store: PartStore
) -> Iterator[list[dict]]:
    """Analyse and commit every chunk; yields each chunk's manifest rows as it finishes."""
    if workers == 1:
        worker = Worker(options, threads)
        for chunk in chunks:
            rows, manifest = worker.process(chunk)
            store.write(rows, manifest)
            yield manifest
        return
    # spawn, not fork: a forked copy of a process that has started torch's thread pool can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(options, threads)) as pool:
        futures = [pool.submit(_process, chunk) for chunk in chunks]
        try:
            for future in as_completed(futures):
                rows, manifest = future.result()
                store.write(rows, manifest)
                yield manifest
        finally:  # on an interrupt or error, drop the chunks not started
            pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(options: BatchOptions, threads: int) -> None:
    global _worker
    _worker = Worker(options, threads)


def _process(chunk: list[Source]) -> tuple[list[dict], list[dict]]:
    return _worker.process(chunk)
