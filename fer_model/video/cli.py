"""Command line: ``python -m fer_model video IN [--out annotated.mp4] [--csv frames.csv] [--json summary.json]``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from ..explain import CAM_METHODS, DEFAULT_CAM_METHOD
from ..model import DEFAULT_WEIGHTS
from .analyzer import VideoSettings
from .reader import VideoError, VideoLimits
from .writer import FORMATS, check_output_path, check_video_path, write_text_atomically


def add_video_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``video`` sub-command on the main parser's sub-commands."""
    settings, limits = VideoSettings(), VideoLimits()
    video = commands.add_parser(
        "video",
        help="track the faces in a video file and classify their emotions over time",
        description="Analyse a video file: per frame and person, calibrated emotion probabilities. Bad input "
        "gives one 'error:' line, exit code 2 and no output files.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    video.add_argument("input", metavar="IN", help="video file: MP4, MOV, WebM, MKV or AVI")
    video.add_argument("--out", help=f"write the annotated video here ({' or '.join(FORMATS)})")
    video.add_argument("--csv", help="write the per-frame table (one row per face and frame) here")
    video.add_argument("--json", help="write the per-person summary here")
    video.add_argument(
        "--every",
        type=int,
        default=settings.every,
        help="run the face detector every K-th frame (and when one is lost)",
    )
    video.add_argument(
        "--smoothing", type=float, default=settings.smoothing_s, help="time constant of the moving average, seconds"
    )
    video.add_argument("--no-cam", action="store_true", help="skip the Grad-CAM heat maps")
    video.add_argument(
        "--cam", choices=list(CAM_METHODS), default=DEFAULT_CAM_METHOD, help="class activation map method"
    )
    video.add_argument("--no-tta", action="store_true", help="skip the flip averaging")
    video.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="safetensors weights file")
    video.add_argument(
        "--min-face-size", type=int, default=settings.detection.min_face_size, help="smallest face, in pixels"
    )
    video.add_argument("--max-seconds", type=float, default=limits.max_seconds, help="longest video accepted")
    video.add_argument("--threads", type=int, help="torch CPU threads (default: torch's, one per core)")
    video.add_argument("--no-progress", action="store_true", help="no progress bar")
    video.set_defaults(run=run_video)


def run_video(args: argparse.Namespace) -> int:
    """Analyse ``args.input`` and write the outputs asked for; 2 with one ``error:`` line for bad input."""
    import torch
    from tqdm import tqdm

    from .. import load_classifier
    from .pipeline import analyze_video
    from .tables import format_tracks, frames_csv, summary

    try:
        settings = VideoSettings(
            every=args.every,
            smoothing_s=args.smoothing,
            explain=not args.no_cam,
            cam_method=args.cam,
            tta=not args.no_tta,
            detection=dataclasses.replace(VideoSettings().detection, min_face_size=args.min_face_size),
        )
        _check_outputs(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    classifier = load_classifier(args.weights)
    bars = []  # made at the first frame: a file refused on opening prints its error line alone

    def progress(done: int, expected: int | None) -> None:
        if not bars:
            name = Path(args.input).name
            bars.append(tqdm(total=expected, unit="frame", desc=name, disable=args.no_progress, dynamic_ncols=True))
        bars[0].update(done - bars[0].n)

    try:
        result = analyze_video(
            args.input,
            classifier,
            settings,
            limits=VideoLimits(max_seconds=args.max_seconds),
            annotated=args.out,
            progress=progress,
        )
    except VideoError as error:
        for bar in bars:
            bar.close()
        print(f"error: {args.input}: {error}", file=sys.stderr)
        return 2
    for bar in bars:
        bar.close()
    if args.csv:
        write_text_atomically(args.csv, frames_csv(result))
    if args.json:
        write_text_atomically(args.json, json.dumps(summary(result), indent=2) + "\n")
    info = result.info
    print(
        f"{args.input}: {info.width}x{info.height}, {result.frame_count} frames, {result.duration_s:.1f} s, "
        f"{len(result.tracks)} track(s); analysed at {result.frames_per_second:.1f} frames/s"
    )
    print(format_tracks(result))
    written = [path for path in (args.out, args.csv, args.json) if path]
    if written:
        print(f"wrote {', '.join(written)}")
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse unusable output paths before any work (ValueError with a sentence)."""
    if args.out:
        check_video_path(args.out)
    for path in (args.csv, args.json):
        if path:
            check_output_path(path)
    source = Path(args.input).resolve()
    for path in (args.out, args.csv, args.json):
        if path and Path(path).resolve() == source:
            raise ValueError(f"{path} is the input video; choose another output name")
