"""Run chunks of sources on a Ray cluster with Ray Data (an optional dependency: requirements-ray.txt).

The chunk list is the dataset; ``map_batches`` sends each chunk to one of ``workers`` model actors (each
loads the model once and has ``threads`` CPUs), which analyses it and writes its Parquet part straight into
the parts folder, so the results must be on storage every node sees (a shared file system). The driver only
streams back each chunk's manifest, for the progress bar. ``address``: "local" starts Ray on this machine;
anything else is passed to ``ray.init`` (e.g. "ray://head:10001", or "auto" on a cluster node).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from .analysis import BatchOptions, Worker
from .sources import Source
from .store import PartStore


class _ChunkActor:
    """One model on one Ray worker: a chunk in, its part written, its manifest out."""

    def __init__(self, options: dict, out: str, threads: int):
        self.worker = Worker(BatchOptions(**options), threads)
        self.store = PartStore(out, self.worker.schema)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        manifests = []
        for chunk in batch["chunk"]:
            rows, manifest = self.worker.process([Source(**source) for source in json.loads(chunk)])
            self.store.write(rows, manifest)
            manifests.append(json.dumps(manifest))
        return {"manifest": np.array(manifests, dtype=object)}


def check_address(address: str) -> None:
    """Raise ValueError unless ``address`` is "local", "auto" or a host:port that accepts a connection: Ray
    itself retries an address where nothing answers for minutes."""
    if address in ("local", "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--ray {address}: expected local, auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise ValueError(f"--ray {address}: no Ray cluster answers there ({error})") from error


def run_on_ray(
    chunks: list[list[Source]], options: BatchOptions, workers: int, threads: int, store: PartStore, address: str
) -> Iterator[list[dict]]:
    """Analyse and commit every chunk on Ray; yields each chunk's manifest rows as it finishes."""
    if not chunks:  # all done before: no need to start Ray
        return
    import ray

    ray.init(
        address=None if address == "local" else address,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the job's own bar counts files
    context.print_on_execution_start = False
    try:
        items = [{"chunk": json.dumps([asdict(source) for source in chunk])} for chunk in chunks]
        analysed = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(  # a block per chunk
            _ChunkActor,
            fn_constructor_kwargs={"options": asdict(options), "out": str(store.out), "threads": threads},
            batch_size=1,
            batch_format="numpy",
            concurrency=workers,
            num_cpus=threads,
        )
        for batch in analysed.iter_batches(batch_size=1, batch_format="numpy"):
            for manifest in batch["manifest"]:
                yield json.loads(manifest)
    finally:
        ray.shutdown()
