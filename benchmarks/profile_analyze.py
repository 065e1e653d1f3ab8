"""Where the time of ``analyze`` goes: cProfile over repeated runs on one photo, the top functions by own time.

    python -m benchmarks.profile_analyze [--photo PHOTO] [--threads 2] [--repeats 10] [--top 12]

Prints the median stage timings (detect includes alignment) and the functions that took the most time
themselves, per call of ``analyze`` (total over the runs divided by ``--repeats``). Default photo:
../shared/photos/multiface.jpg.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics

import torch

import fer_model
from benchmarks.harness import PHOTOS_DIR, cpu_model
from fer_model.pipeline import default_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", default=str(PHOTOS_DIR / "multiface.jpg"))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--top", type=int, default=12, help="functions to list")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    photo, classifier = fer_model.load_image(args.photo), default_classifier()
    for _ in range(3):  # warm up: detectors built, first-call costs paid
        fer_model.analyze(photo, classifier)
    profile, timings = cProfile.Profile(), []
    for _ in range(args.repeats):
        profile.enable()
        result = fer_model.analyze(photo, classifier)
        profile.disable()
        timings.append(result.timings_ms)
    stages = {stage: round(statistics.median(t[stage] for t in timings), 1) for stage in timings[0]}
    print(f"{args.photo}: {len(result.faces)} faces; CPU {cpu_model()}, torch threads {args.threads}")
    print(f"median ms per analyze (profiled): {stages}")
    print(f"\nfunctions by own time, ms per analyze:\n{'ms':>8}{'calls':>8}  function")
    stats = pstats.Stats(profile).stats
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[: args.top]
    for (file, line, name), (_, calls, own, _, _) in rows:
        where = name if file == "~" else f"{file.split('site-packages/')[-1]}:{line} {name}"
        print(f"{own / args.repeats * 1000:>8.1f}{calls // args.repeats:>8}  {where}")


if __name__ == "__main__":
    main()
