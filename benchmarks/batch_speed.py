"""Batch job throughput: photos/s for the local path at 1 and 2 workers and for ``--ray local``, heat maps off and
on, against ``predict`` (the sequential path) over the same photos, each a whole command timed end to end.

    python -m benchmarks.batch_speed [--data DIR] [--limit N] [--json OUT]

DIR: a folder of photos, searched recursively (default ../shared/realphotos/taiwan-dev, 598 photos). Each run
writes to a fresh temporary results file, so nothing is skipped as done. Per-core figures divide photos/s by
the cores a run keeps busy (its workers for the local path and Ray, torch's threads for ``predict``), to
size a cluster by. Start-up (loading torch and the model, starting Ray) is included, as a user meets it.
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

from benchmarks.harness import ROOT, SHARED, cpu_model
from fer_model.batch.sources import find_sources


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
        for cam in (False, True):
            cam_flag = [] if cam else ["--no-cam"]
            configs = [("predict", python + ["predict", *map(str, sorted(listing.iterdir())), *cam_flag], cores)]
            for workers in (1, 2):
                configs.append((f"batch --workers {workers}", ["--workers", str(workers)], workers))
            configs.append(("batch --ray local --workers 2", ["--ray", "local", "--workers", "2"], 2))
            for index, (name, command, busy) in enumerate(configs):
                if name != "predict":
                    out = Path(folder) / f"run{cam}{index}.parquet"
                    command = python + ["batch", str(listing), "--out", str(out), "--no-progress", *cam_flag, *command]
                seconds = _time(command)
                runs.append(
                    {
                        "command": name,
                        "heat_maps": cam,
                        "photos": len(photos),
                        "seconds": round(seconds, 1),
                        "photos_per_s": round(len(photos) / seconds, 2),
                        "cores": busy,
                        "photos_per_s_per_core": round(len(photos) / seconds / busy, 2),
                    }
                )
                print(json.dumps(runs[-1]), flush=True)
    result = {"cpu": cpu_model(), "cores": cores, "runs": runs}
    print(f"\n{cpu_model()}, {cores} cores, {len(photos)} photos from {args.data}")
    print(f"{'command':<32}{'heat maps':>10}{'seconds':>10}{'photos/s':>10}{'per core':>10}")
    for run in runs:
        print(
            f"{run['command']:<32}{'on' if run['heat_maps'] else 'off':>10}{run['seconds']:>10}"
            f"{run['photos_per_s']:>10}{run['photos_per_s_per_core']:>10}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
