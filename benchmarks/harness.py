"""What the benchmarks share: where ../shared is, the machine's CPU, and timing."""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from fer_model.training.train import cpu_model  # noqa: F401 (re-exported for the benchmarks)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PHOTOS_DIR = SHARED / "photos"


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


@contextlib.contextmanager
def streamlit_server(log: Path, options: tuple[str, ...] = (), timeout_s: float = 180) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py [options]`` headless on a free loopback port, its output in ``log``: yields
    (url, pid) once it answers its health check, and stops it on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", *options]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while not _answers(f"{url}/_stcore/health"):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start within {timeout_s} s; its log: {log}")
                time.sleep(0.5)
            yield url, server.pid
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
