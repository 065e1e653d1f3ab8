"""Ours against the `fer` package, end to end on the same photos, measured in the same run.

    python -m benchmarks.vs_fer [--repeats 10] [--rounds 3] [--threads 2] [--json OUT]

For kate.jpg, multiface.jpg (../shared/photos) and skimage's astronaut: the median time of ``analyze``
(default settings, heat maps on) from the decoded photo, and of `fer`'s ``FER(mtcnn=True).detect_emotions``
on the same decoded photo (no heat maps), in its own virtualenv as a subprocess (../shared/peers/fer).
The two sides alternate: each round times ours ``--repeats`` times, then the peer ``--repeats`` times,
each side warmed up first; the medians are over all rounds. The ratio ours / fer is what to compare
across machines: the absolute times depend on the CPU, which is printed with them. Our time is also split
into its stages (``analyze``'s own timings, medians of the same runs): detection with alignment,
classification, heat maps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

import torch

from benchmarks.harness import PHOTOS_DIR, cpu_model, photos, time_ms
from benchmarks.realphotos import PEER_DIR, peer_python
from fer_model import analyze, load_classifier

_STAGES = ("detect", "classify", "explain")


def _peer_medians(python: str, paths: dict[str, Path], repeats: int) -> dict[str, dict]:
    output = subprocess.run(
        [python, str(PEER_DIR / "fer_peer.py"), "time", str(repeats), *map(str, paths.values())],
        capture_output=True,
        text=True,
        check=True,
    )
    by_path = json.loads(output.stdout.strip().splitlines()[-1])
    return {name: by_path[str(path)] for name, path in paths.items()}


def benchmark(repeats: int, rounds: int) -> list[dict]:
    classifier = load_classifier()
    decoded = photos()
    python = peer_python()
    with tempfile.TemporaryDirectory() as folder:
        paths = {name: PHOTOS_DIR / name for name in decoded if name != "astronaut"}
        paths["astronaut"] = Path(folder) / "astronaut.png"
        decoded["astronaut"].save(paths["astronaut"])
        ours = {name: [] for name in decoded}
        stages = {name: {stage: [] for stage in _STAGES} for name in decoded}
        peer = {name: [] for name in decoded}
        faces = {}

        def run(name, photo):
            result = analyze(photo, classifier)
            faces[name] = len(result.faces)
            for stage in _STAGES:
                stages[name][stage].append(result.timings_ms[stage])

        for _ in range(rounds):
            for name, photo in decoded.items():
                ours[name].append(time_ms(lambda name=name, photo=photo: run(name, photo), repeats)["median"])
            for name, record in _peer_medians(python, paths, repeats).items():
                peer[name].append(record["median_ms"])
                faces[f"{name} (fer)"] = record["faces"]
    return [
        {
            "photo": name,
            "faces_ours": faces[name],
            "faces_fer": faces[f"{name} (fer)"],
            "ours_ms": statistics.median(ours[name]),
            "ours_stages_ms": {stage: statistics.median(times) for stage, times in stages[name].items()},
            "fer_ms": statistics.median(peer[name]),
            "ratio": statistics.median(ours[name]) / statistics.median(peer[name]),
        }
        for name in decoded
    ]


def to_markdown(records: list[dict]) -> str:
    lines = [
        "| photo | faces (ours / fer) | ours with heat maps, ms | of which detect / classify / heat maps | fer, ms "
        "| ours / fer |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        split = " / ".join(f"{r['ours_stages_ms'][stage]:.0f}" for stage in _STAGES)
        lines.append(
            f"| {r['photo']} | {r['faces_ours']} / {r['faces_fer']} | {r['ours_ms']:.0f} | {split} "
            f"| {r['fer_ms']:.0f} | {r['ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per side, photo and round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads for ours (default 2; fer uses 2)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        records = benchmark(args.repeats, args.rounds)
    except RuntimeError as error:
        raise SystemExit(f"the `fer` package could not be run: {error}") from None
    print(f"CPU {cpu_model()}, torch threads {args.threads}\n")
    print(to_markdown(records))
    if args.json:
        record = {"cpu": cpu_model(), "threads": args.threads, "repeats": args.repeats, "rounds": args.rounds}
        args.json.write_text(json.dumps({**record, "records": records}, indent=2) + "\n")


if __name__ == "__main__":
    main()
