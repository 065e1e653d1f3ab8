"""Video file analysis speed, ours against the `fer` package, on the same clip in the same run.

    python -m benchmarks.video_speed [--seconds 10] [--people 1] [--rounds 2] [--threads 2] [--clip CLIP] [--json OUT]

The clip (unless ``--clip`` gives one): 640x480 at 15 frames/s, ``--seconds`` long, made by
:func:`fer_model.video.clips.make_clip` from photos with known expressions (performers of
../shared/realphotos/taiwan-dev, else skimage's astronaut), each person moving over a grey canvas.

Ours: :func:`fer_model.video.analyze_video` with the default settings but heat maps off (every frame
classified, the detector every ``--every`` frames and when a track is lost), from the file, decoding
included, once without output and once writing the annotated H.264 video. `fer`:
``../shared/peers/fer/fer_peer.py video CLIP`` in its own virtualenv, which times ``detect_emotions`` on
every frame OpenCV decodes (what ``fer.Video.analyze`` does per frame, without its file output). The sides
alternate for ``--rounds`` rounds after a warm-up each; the medians over rounds are reported. Compare the
ratio across machines, not the frames/s: a busy or slower CPU slows both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

import torch
from PIL import Image

from benchmarks.harness import SHARED, cpu_model
from benchmarks.realphotos import PEER_DIR, peer_python
from fer_model import load_classifier
from fer_model.video import VideoSettings, analyze_video
from fer_model.video.clips import Segment, make_clip

TAIWAN = SHARED / "realphotos" / "taiwan-dev"
# Performers 08 and 10: photos the shipped model reads right (see tests/test_video.py).
EXPRESSIONS = {
    "08": ["neutral/0801a05.jpg", "happy/0821b10.jpg", "surprise/0821g01.jpg"],
    "10": ["happy/1021b06.jpg", "surprise/1021g01.jpg", "neutral/1001a03.jpg"],
}
SIZE, FPS = (640, 480), 15.0


def make_benchmark_clip(path: Path, seconds: float, people: int) -> None:
    """``seconds`` of 640x480 video at 15 frames/s; each person changes expression every 2 seconds."""
    if TAIWAN.exists():
        photos = [[Image.open(TAIWAN / name).convert("RGB") for name in names] for names in EXPRESSIONS.values()]
    else:
        import skimage.data

        head = Image.fromarray(skimage.data.astronaut()).crop((144, 37, 304, 197))
        photos = [[head], [head.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]]
    photos = photos[:people]
    steps = max(1, round(seconds / 2))
    segments = [Segment(seconds / steps, [faces[step % len(faces)] for faces in photos]) for step in range(steps)]
    make_clip(path, segments, SIZE, FPS)


def peer_video(python: str, clip: Path) -> dict:
    """fer's frames, seconds, frames/s and frames with a face on ``clip``."""
    output = subprocess.run(
        [python, str(PEER_DIR / "fer_peer.py"), "video", str(clip)], capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])[str(clip)]


def ours(clip: Path, classifier, settings: VideoSettings, annotated: Path | None) -> dict:
    result = analyze_video(clip, classifier, settings, annotated=annotated)
    with_face = len({int(frame) for series in result.tracks for frame in series.frames})
    return {
        "frames": result.frame_count,
        "seconds": result.seconds,
        "fps": result.frames_per_second,
        "frames_with_face": with_face,
        "tracks": len(result.tracks),
    }


def benchmark(clip: Path, rounds: int, every: int) -> dict:
    classifier = load_classifier()
    settings = VideoSettings(every=every, explain=False)
    python = peer_python()
    runs = {"ours": [], "ours_annotated": [], "fer": []}
    with tempfile.TemporaryDirectory() as folder:
        annotated = Path(folder) / "annotated.mp4"
        ours(clip, classifier, settings, annotated)  # warm-up: detector and encoder set up, caches filled
        peer_video(python, clip)  # warm-up: its imports and models, and the clip in the page cache
        for _ in range(rounds):
            runs["ours"].append(ours(clip, classifier, settings, None))
            runs["ours_annotated"].append(ours(clip, classifier, settings, annotated))
            runs["fer"].append(peer_video(python, clip))
    medians = {side: statistics.median(run["fps"] for run in side_runs) for side, side_runs in runs.items()}
    return {
        "clip": str(clip),
        "frames": runs["ours"][0]["frames"],
        "play_fps": FPS,
        "every": every,
        "frames_with_face": {side: side_runs[-1]["frames_with_face"] for side, side_runs in runs.items()},
        "tracks": runs["ours"][-1]["tracks"],
        "fps": medians,
        "ratio_ours_to_fer": medians["ours"] / medians["fer"],
        "ratio_annotated_to_fer": medians["ours_annotated"] / medians["fer"],
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the made clip (default 10)")
    parser.add_argument("--people", type=int, choices=(1, 2), default=1, help="faces in the made clip (default 1)")
    parser.add_argument("--clip", type=Path, help="measure on this video instead of making one")
    parser.add_argument("--every", type=int, default=VideoSettings().every, help="detector every K frames")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads for ours (default 2; fer uses 2)")
    parser.add_argument("--json", type=Path, help="also write the record to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        clip = args.clip
        if clip is None:
            clip = Path(folder) / "clip.mp4"
            make_benchmark_clip(clip, args.seconds, args.people)
        try:
            record = benchmark(clip, args.rounds, args.every)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            raise SystemExit(f"the `fer` package could not be run: {error}") from None
    fps = record["fps"]
    print(f"CPU {cpu_model()}, torch threads {args.threads}; clip {record['frames']} frames, 640x480 at 15 frames/s")
    print(f"ours, heat maps off, detector every {args.every}: {fps['ours']:.1f} frames/s")
    print(f"ours, also writing the annotated H.264 video:    {fps['ours_annotated']:.1f} frames/s")
    print(f"fer (MTCNN + mini-Xception, every frame):       {fps['fer']:.1f} frames/s")
    ratio, annotated_ratio = record["ratio_ours_to_fer"], record["ratio_annotated_to_fer"]
    print(f"ours / fer: {ratio:.2f} (with the annotated video {annotated_ratio:.2f})")
    print(f"faster than real time: {fps['ours'] / FPS:.2f}x; frames with a face {record['frames_with_face']}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "threads": args.threads, **record}, indent=2) + "\n")


if __name__ == "__main__":
    main()
