"""What the benchmarks share: where ../shared is, the machine's CPU, and timing."""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTOS_DIR = SHARED / "photos"


def cpu_model() -> str:
    """The CPU's model name as lscpu reports it (e.g. "AMD EPYC"), else the platform's processor."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_ms(run, repeats: int) -> dict[str, float]:
    """Median, min and max wall time in ms of ``repeats`` calls of ``run``, after one warm-up call."""
    run()  # warm-up: lazy initialisation, allocator, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def photos(folder: Path = PHOTOS_DIR) -> dict:
    """The benchmark photos, decoded: kate.jpg and multiface.jpg where ``folder`` has them, and skimage's astronaut."""
    import skimage.data

    from fer_model import load_image

    found = {name: load_image(folder / name) for name in ("kate.jpg", "multiface.jpg") if (folder / name).exists()}
    return {**found, "astronaut": load_image(skimage.data.astronaut())}
