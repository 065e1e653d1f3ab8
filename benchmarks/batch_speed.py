"""Batch job throughput: photos/s for the local path at 1 and 2 workers and for ``--ray local``, heat maps off and
on, against ``predict`` (the sequential path) over the same photos, each a whole command timed end to end.

    python -m benchmarks.batch_speed [--data DIR] [--limit N] [--json OUT]

DIR: a folder of photos, searched recursively (default ../shared/realphotos/taiwan-dev, 598 photos). Each run
writes to a fresh temporary results file, so nothing is skipped as done. photos/s is over the whole
command, as a user meets it: start-up (loading torch and the model in each worker, starting Ray) included.
To size a cluster, the batch runs also give each worker's steady rate: photos per second of its own analysis
time (the ``seconds`` its parts' manifests record), which is per core where a worker has one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.harness import ROOT, SHARED, cpu_model
from fer_model.batch.sources import find_sources


def _worker_rate(out: Path) -> float:
    """Photos per second of analysis time in one worker, from the job's part manifests."""
    manifests = pa.concat_tables([pq.read_table(p) for p in out.with_name(out.name + ".parts").glob("*.done.parquet")])
    return manifests.num_rows / sum(manifests.column("seconds").to_pylist())


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "realphotos" / "taiwan-dev")
    parser.add_argument("--limit", type=int, help="use only the first N photos")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    photos = [source.path for source in find_sources([args.data])[0] if source.kind == "photo"][: args.limit]
    cores = os.cpu_count() or 1
    python = [sys.executable, "-m", "fer_model"]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "photos"
        listing.mkdir()
        for i, photo in enumerate(photos):  # the same files for every command, in one folder
            (listing / f"{i:05d}{Path(photo).suffix}").symlink_to(photo)
            Path(photo).read_bytes()  # in the page cache before the first command, as for the others
        for cam in (False, True):
            cam_flag = [] if cam else ["--no-cam"]
            # (name, arguments, worker threads): the local path gives each worker cores // workers threads
            configs = [("predict", ["predict", *map(str, sorted(listing.iterdir())), *cam_flag], cores)]
            for workers in (1, 2):
                configs.append((f"batch --workers {workers}", ["--workers", str(workers)], cores // workers))
            configs.append(("batch --ray local --workers 2", ["--ray", "local", "--workers", "2"], 1))
            for index, (name, arguments, threads) in enumerate(configs):
                out = Path(folder) / f"run{cam}{index}.parquet"
                if name != "predict":
                    arguments = ["batch", str(listing), "--out", str(out), "--no-progress", *cam_flag, *arguments]
                seconds = _time(python + arguments)
                run = {
                    "command": name,
                    "heat_maps": cam,
                    "photos": len(photos),
                    "seconds": round(seconds, 1),
                    "photos_per_s": round(len(photos) / seconds, 2),
                    "worker_threads": threads,
                }
                if name != "predict":
                    run["worker_photos_per_s"] = round(_worker_rate(out), 2)
                runs.append(run)
                print(json.dumps(runs[-1]), flush=True)
    result = {"cpu": cpu_model(), "cores": cores, "runs": runs}
    print(f"\n{cpu_model()}, {cores} cores, {len(photos)} photos from {args.data}")
    print(f"{'command':<32}{'heat maps':>10}{'seconds':>10}{'photos/s':>10}{'threads':>8}{'one worker':>12}")
    for run in runs:
        print(
            f"{run['command']:<32}{'on' if run['heat_maps'] else 'off':>10}{run['seconds']:>10}"
            f"{run['photos_per_s']:>10}{run['worker_threads']:>8}{run.get('worker_photos_per_s', ''):>12}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
