"""The web server's memory under concurrent visitors who upload large photos.

    python -m benchmarks.app_memory [--sessions 10] [--photos 4] [--size 6000x6500] [--settle 30] [--ttl 120]
                                    [--json OUT] [--log FILE]

Starts ``streamlit run app.py`` headless on a free loopback port and samples the resident memory of its
process (psutil, or /proc/PID/status) every 0.2 s. One visit with the sample photo loads the models: the
server's size ``--settle`` seconds after it is the *warm* size. Then ``--sessions`` browser sessions
(headless Debian Chromium through Playwright, each in its own browser context) open the page at once, and
each uploads ``--photos`` large JPEGs in one go and waits for every face card. The *peak* is the largest
sample while they run. All sessions then close: *closed* is the size ``--settle`` seconds later, while
Streamlit still keeps the closed sessions (and their uploads) in case they reconnect; *after* is the size
once that window (``--ttl``, server.disconnectedSessionTTL) has passed and one more short visit has made
Streamlit forget them. The photos are kate.jpg from ../shared (skimage's astronaut where it is absent)
upscaled to ``--size`` with noise added, so that they compress like camera photos (about 9 MB each at
6000x6500); each photo differs from the others."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.harness import PHOTOS_DIR, streamlit_server

CHROMIUM = Path("/usr/bin/chromium")
FACE_CARDS = "div[class*='st-key-face-card-']"
# True once the script has finished and `count` face cards are on the page, or an error is shown.
RESULTS_READY = """count => !document.querySelector("[data-testid='stStatusWidget']") && (
    document.querySelectorAll("div[class*='st-key-face-card-']").length >= count
    || document.querySelector("[data-testid='stAlertContentError']") !== null)"""


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """``count`` different JPEGs of ``size`` (width, height), each holding one face."""
    source = PHOTOS_DIR / "kate.jpg"
    if source.exists():
        base = Image.open(source).convert("RGB")
    else:
        import skimage.data

        base = Image.fromarray(skimage.data.astronaut())
    base = np.asarray(base.resize(size, Image.Resampling.BICUBIC))
    paths = []
    for index in range(count):
        noise = np.random.default_rng(index).integers(-12, 13, base.shape, dtype=np.int16)
        path = folder / f"large-{index + 1}.jpg"
        Image.fromarray((base + noise).clip(0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


class MemorySampler(threading.Thread):
    """Samples a process's resident memory (MB) every ``interval_s`` until stopped."""

    def __init__(self, pid: int, interval_s: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop_event = threading.Event()

    def rss_mb(self) -> float:
        try:
            import psutil

            return psutil.Process(self.pid).memory_info().rss / 2**20
        except ImportError:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            raise RuntimeError(f"no VmRSS for process {self.pid}") from None

    def run(self) -> None:
        started = time.monotonic()
        while not self._stop_event.wait(self.interval_s):
            self.samples.append((time.monotonic() - started, self.rss_mb()))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peak_since(self, since_s: float) -> float:
        return max((mb for t, mb in self.samples if t >= since_s), default=self.rss_mb())

    def elapsed(self) -> float:
        return self.samples[-1][0] if self.samples else 0.0


async def _open(browser, url: str):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_selector("input[type=file]", state="attached", timeout=120_000)
    return context, page


async def _wait_for_results(page, count: int, timeout_s: float) -> None:
    await page.wait_for_function(RESULTS_READY, arg=count, timeout=timeout_s * 1000)
    errors = await page.locator("[data-testid='stAlertContentError']").all_inner_texts()
    if errors:
        raise RuntimeError(f"the page showed an error: {errors[0]}")


async def _warm_up(browser, url: str, timeout_s: float) -> None:
    """One visit with the sample photo: loads the model and the face detector."""
    context, page = await _open(browser, url)
    await page.get_by_role("button", name="Try a sample photo").click()
    await _wait_for_results(page, 1, timeout_s)
    await context.close()


async def _visit(browser, url: str, photos: list[Path], timeout_s: float):
    """A session that uploads every photo at once and waits for all their faces; returns its context and
    the seconds from the upload to the last result."""
    context, page = await _open(browser, url)
    started = time.monotonic()
    await page.set_input_files("input[type=file]", [str(path) for path in photos])
    await _wait_for_results(page, len(photos), timeout_s)
    return context, time.monotonic() - started


async def _drive(url: str, sampler: MemorySampler, args: argparse.Namespace, photos: list[Path]) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        await _warm_up(browser, url, args.timeout)
        await asyncio.sleep(args.settle)
        warm = sampler.rss_mb()

        started_s, started = sampler.elapsed(), time.monotonic()
        visits = await asyncio.gather(*(_visit(browser, url, photos, args.timeout) for _ in range(args.sessions)))
        seconds = time.monotonic() - started
        contexts = [context for context, _ in visits]
        slowest = max(visit_seconds for _, visit_seconds in visits)
        peak = sampler.peak_since(started_s)

        await asyncio.gather(*(context.close() for context in contexts))
        await asyncio.sleep(args.settle)
        closed = sampler.rss_mb()

        # Streamlit keeps a closed session (its state, uploads included) for server.disconnectedSessionTTL
        # seconds in case it reconnects, and forgets it when a later session disconnects: one short visit.
        await asyncio.sleep(max(0.0, args.ttl - args.settle) + 5)
        context, _ = await _open(browser, url)
        await context.close()
        await asyncio.sleep(args.settle)
        after = sampler.rss_mb()
        await browser.close()
    return {
        "warm_mb": warm,
        "peak_mb": peak,
        "closed_mb": closed,
        "after_mb": after,
        "sessions_seconds": seconds,
        "slowest_session_seconds": slowest,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10, help="concurrent browser sessions")
    parser.add_argument("--photos", type=int, default=4, help="photos each session uploads")
    parser.add_argument("--size", default="6000x6500", help="photo size, WIDTHxHEIGHT")
    parser.add_argument("--photo", type=Path, help="upload this file (e.g. multiface.jpg) instead of large photos")
    parser.add_argument("--settle", type=float, default=30, help="seconds to wait before each size after a visit")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a session may take for its results")
    parser.add_argument(
        "--ttl", type=int, default=120, help="the server's server.disconnectedSessionTTL (Streamlit's default)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--log", type=Path, help="keep the server's log in this file")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    size = tuple(int(side) for side in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory() as folder:
        photos = [args.photo] * args.photos if args.photo else make_photos(Path(folder), args.photos, size)
        megabytes = sum(path.stat().st_size for path in photos) / 2**20
        options = ("--server.disconnectedSessionTTL", str(args.ttl))
        with streamlit_server(args.log or Path(folder) / "streamlit.log", options) as (url, pid):
            sampler = MemorySampler(pid)
            sampler.start()
            try:
                figures = asyncio.run(_drive(url, sampler, args, photos))
            finally:
                sampler.stop()

    record = {
        "sessions": args.sessions,
        "photos_per_session": args.photos,
        "photo": str(args.photo) if args.photo else f"generated {args.size}",
        "upload_mb_per_session": round(megabytes, 1),
        "settle_s": args.settle,
        "disconnected_session_ttl_s": args.ttl,
        **{key: round(value, 1) for key, value in figures.items()},
        "rss_mb_every_0.2_s": [round(mb) for _, mb in sampler.samples],
    }
    what = args.photo.name if args.photo else args.size
    print(f"{args.sessions} sessions x {args.photos} photos of {what} ({megabytes:.0f} MB per session)")
    print(f"warm: {record['warm_mb']:.0f} MB, peak: {record['peak_mb']:.0f} MB")
    print(f"{args.settle:.0f} s after the sessions closed: {record['closed_mb']:.0f} MB")
    print(f"after Streamlit forgot them ({args.ttl} s later): {record['after_mb']:.0f} MB")
    print(f"all sessions had their results after {record['sessions_seconds']:.0f} s")
    print(f"the slowest session waited {record['slowest_session_seconds']:.1f} s from its upload to its results")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
