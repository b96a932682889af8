"""Time the web dashboard's runs, scoreboard and Pareto pages over 100,000 stored runs, fully
rendered in headless Chromium (Debian's ``chromium`` through Playwright).

The server's database is filled with ``generate_runs.py``'s records (the same ``--seed``
gives the same runs), then a real ``reef server`` (no rate limit) serves it on a free port of
127.0.0.1. Each page is opened ``--repeat`` times in turn, after one untimed visit of each;
a page's time is from the navigation's start to its ``load`` event (the HTML read, its style
sheet and script loaded, the page laid out), as the browser's Navigation Timing records it,
with the server's share (until the response's first byte) beside it. Prints the median and
the slowest of each page, the first visit (caches cold), and its size.

    python benchmarks/server_pages.py [--runs 100000] [--home DIR] [--repeat 7]

Without ``--home`` the runs go to a new temporary REEF_HOME; with it, a home this script
filled before is used as it is (its server database already holds the runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_runs import records

TARGET_MS = 1000.0
PAGES = {
    "runs (newest first)": "/runs",
    "runs, next page": None,  # the first page's next link
    "runs by -p90, 100 a page": "/runs?sort=-p90&limit=100",
    "runs of one model, valid": "/runs?model=resnet50&status=valid",
    "runs, text search": "/runs?text=ocr",
    "scoreboard": "/board",
    "scoreboard of a solution": "/board?tag=ocr-pipeline",
    "Pareto p90 / throughput": "/pareto",
    "Pareto p50 / accuracy, one model": (
        "/pareto?objective=latency_p50:min&objective=accuracy:max&model=resnet50"
    ),
}


def fill(home: Path, count: int, seed: int) -> float:
    """Store ``count`` generated runs in the server's database under ``home``; seconds."""
    os.environ["REEF_HOME"] = str(home)
    from reef import api

    started = time.perf_counter()
    with api.server_open() as db:
        if db.store.count() >= count:
            return 0.0
        pending = []
        for record in records(count, seed, datetime.now(UTC)):
            pending.append(record)
            if len(pending) == 5000:
                db.store.add_many(pending)
                pending.clear()
        db.store.add_many(pending)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reef", "server", "--host", "127.0.0.1", "--port", str(port),
             "--rate-limit", "0", "--log-level", "warning"],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"reef server exited {proc.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/api/v1/health", timeout=5):
                return proc, url
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"reef server not ready: {log.read_text()}") from None
            time.sleep(0.1)


TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {load: n.loadEventEnd - n.startTime, first_byte: n.responseStart - n.startTime,
          bytes: n.transferSize, ready: document.documentElement.dataset.ready === "yes"};
}"""


def measure(url: str, repeat: int) -> tuple[dict[str, list[dict[str, float]]], dict[str, float]]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium) and playwright")
    times: dict[str, list[dict[str, float]]] = {name: [] for name in PAGES}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "/runs", wait_until="load")
            following = page.locator("a[rel=next]").first.get_attribute("href")
            paths = {name: path or str(following) for name, path in PAGES.items()}
            first: dict[str, float] = {}
            for name, path in paths.items():  # a first visit: caches cold, first imports
                page.goto(url + path, wait_until="load")
                first[name] = page.evaluate(TIMING)["load"]
            for _ in range(repeat):
                for name, path in paths.items():
                    response = page.goto(url + path, wait_until="load")
                    if response is None or response.status != 200:
                        raise SystemExit(f"{path}: {response and response.status}")
                    found = page.evaluate(TIMING)
                    if not found["ready"]:
                        raise SystemExit(f"{path}: the page script did not run")
                    times[name].append(found)
            if errors:
                raise SystemExit("console errors: " + "; ".join(errors[:5]))
        finally:
            browser.close()
    return times, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--home", type=Path, help="REEF_HOME to use (default: a new temp folder)")
    ap.add_argument("--repeat", type=int, default=7, help="timed visits of each page")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="reef-pages-"))
    took = fill(home, args.runs, args.seed)
    if took:
        print(f"{args.runs:,} runs written to {home / 'server'} in {took:.1f} s")
    proc, url = start_server(home, home / "server-bench.log")
    try:
        times, first = measure(url, args.repeat)
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"\n{args.runs:,} runs; Chromium, navigation start to load event, {args.repeat} visits")
    print(f"{'page':36} {'median':>8} {'slowest':>8} {'server':>8} {'first':>8} {'size':>9}")
    worst = 0.0
    for name, found in times.items():
        loads = [t["load"] for t in found]
        median, slowest = statistics.median(loads), max(loads)
        server = statistics.median(t["first_byte"] for t in found)
        size = statistics.median(t["bytes"] for t in found)
        worst = max(worst, median)
        print(
            f"{name:36} {median:6.0f}ms {slowest:6.0f}ms {server:6.0f}ms "
            f"{first[name]:6.0f}ms {size / 1024:7.0f}KiB"
        )
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"\nslowest median {worst:.0f} ms: {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
