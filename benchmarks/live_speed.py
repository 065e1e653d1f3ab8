"""The live view's server-side frame path, without a browser: frames/s that LiveSession.callback (the
streamlit-webrtc video_frame_callback) can return, with labels only and with heat maps.

    python -m benchmarks.live_speed [--seconds 10] [--json OUT]

Frames: a 640x480 clip at 15 frames/s made by :func:`fer_model.video.clips.render` from a performer of
../shared/realphotos/taiwan-dev (else skimage's astronaut), happy then surprised, moving over a grey canvas,
handed in as ``av.VideoFrame`` s one after another, as fast as they come back. This is the ceiling of what the
browser gets: the live page also decodes and encodes VP8 on the same CPU, and streamlit-webrtc drops frames
that arrive while one is being analysed. The browser's own count is printed by tests/test_browser_video.py.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import skimage.data
from PIL import Image

from benchmarks.harness import SHARED, cpu_model
from fer_model import load_classifier
from fer_model.video.clips import Segment, render
from views.live_session import LiveSession

TAIWAN = SHARED / "realphotos" / "taiwan-dev"
FACES = ["happy/0821b10.jpg", "surprise/0821g01.jpg"]  # performer 08 (see tests/test_video.py)
SIZE, FPS = (640, 480), 15


def _segments() -> list[Segment]:
    if TAIWAN.exists():
        return [Segment(2.0, [Image.open(TAIWAN / name).convert("RGB")]) for name in FACES]
    return [Segment(4.0, [Image.fromarray(skimage.data.astronaut()).crop((144, 37, 304, 197))])]


def measure(session: LiveSession, pictures: list[Image.Image]) -> dict:
    """Feed the pictures through the callback; frames/s returned and the last snapshot's readings."""
    started = time.perf_counter()
    for i, picture in enumerate(pictures):
        frame = av.VideoFrame.from_image(picture)
        frame.pts, frame.time_base = i * 6000, Fraction(1, 90000)  # WebRTC's 90 kHz clock
        session.callback(frame)
    seconds = time.perf_counter() - started
    snapshot = session.snapshot()
    return {
        "frames": len(pictures),
        "seconds": round(seconds, 2),
        "frames_per_second": round(len(pictures) / seconds, 2),
        "tracks": sorted({reading.track for reading in snapshot.readings}),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="frames to feed, in clip seconds (default 10)")
    parser.add_argument("--json", type=Path, help="also write the record to this file")
    args = parser.parse_args(argv)
    classifier, segments = load_classifier(), _segments()
    length = sum(segment.seconds for segment in segments)
    pictures = [render(segments, (i / FPS) % length, SIZE) for i in range(round(args.seconds * FPS))]
    record = {"cpu": cpu_model(), "size": list(SIZE)}
    for name, heatmaps in (("labels", False), ("heat_maps", True)):
        session = LiveSession(classifier, threading.Lock())
        session.warm_up()
        session.set_heatmaps(heatmaps)
        record[name] = measure(session, pictures)
        print(f"{name:>9}: {record[name]['frames_per_second']:.1f} frames/s returned ({record[name]['frames']} frames)")
    print(f"CPU {cpu_model()}; 640x480, the detector every 5 frames, no TTA; the page's target is 15 frames/s")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
