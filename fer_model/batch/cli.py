"""The ``batch`` command: ``python -m fer_model batch SRC... --out RESULTS.parquet``."""

from __future__ import annotations

import argparse
import sys

from ..model import DEFAULT_WEIGHTS
from .job import DEFAULT_CHUNK_SIZE


def add_batch_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``batch`` sub-command on the main parser's sub-commands."""
    batch = commands.add_parser(
        "batch",
        help="analyse folders and zip archives of photos and videos into one Parquet table (resumable)",
        description="One row per face per photo or analysed video frame, written in parts as they finish; "
        "a rerun with the same --out skips the files already done. Unreadable files go to the errors table "
        "beside RESULTS (RESULTS.errors.parquet) and do not stop the job. Exit code 1 when there are errors.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    batch.add_argument("sources", nargs="+", metavar="SRC", help="photo or video files, folders, zip archives")
    batch.add_argument("--out", required=True, metavar="RESULTS", help="the results table, a .parquet file")
    batch.add_argument("--workers", type=int, help="model processes (default: one per CPU core)")
    batch.add_argument(
        "--ray", metavar="ADDRESS", help="run on Ray: 'local' starts it here, else a cluster address (needs ray)"
    )
    batch.add_argument("--no-cam", action="store_true", help="skip the heat maps and their region shares")
    batch.add_argument("--every", type=int, default=1, help="analyse every K-th frame of a video")
    batch.add_argument("--no-tta", action="store_true", help="skip the flip averaging")
    batch.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="safetensors weights file")
    batch.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="photos per written part")
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")
    batch.set_defaults(run=run_batch)


def run_batch(args: argparse.Namespace) -> int:
    from .analysis import BatchOptions
    from .job import run

    options = BatchOptions(weights=args.weights, explain=not args.no_cam, every=args.every, tta=not args.no_tta)
    if args.ray:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("error: --ray needs Ray: pip install -r requirements-ray.txt", file=sys.stderr)
            return 2
    try:
        summary = run(
            args.sources,
            args.out,
            options,
            workers=args.workers,
            ray=args.ray,
            chunk_size=args.chunk_size,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print("interrupted: the finished parts are kept; run the same command again to resume", file=sys.stderr)
        return 130
    print(
        f"{summary.sources} files: {summary.analysed} analysed now, {summary.skipped} done before; "
        f"{summary.rows} face rows in {summary.results}; {summary.errors} errors in {summary.errors_table}"
    )
    return 1 if summary.errors else 0
