"""Search over an index of 10,000 components, and what a refresh costs.

Targets: a search over 10,000 indexed components under 100 ms; a refresh after a change reads
only the manifests that changed. Builds one repository of N components twice, as a folder
(the index is checked against the files on every call: a stat of each manifest) and as a git
clone (the index is used as it is while the checked-out commit is the indexed one), and prints
medians of in-process timings plus the wall time of the `reef search` command.

    python benchmarks/component_index.py [--components 10000] [--repeats 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TAGS = ["vision", "nlp", "audio", "tabular", "int8", "fp16", "edge", "server"]


def write_repo(root: Path, n: int) -> None:
    for i in range(n):
        folder = root / f"group{i // 100:03d}" / f"comp{i:05d}"
        folder.mkdir(parents=True)
        tags = [TAGS[i % len(TAGS)], TAGS[(i // 8) % len(TAGS)]]
        (folder / "reef.yaml").write_text(
            "kind: program\n"
            f"name: comp{i:05d}\n"
            f"version: 1.{i % 7}.0\n"
            f"description: synthetic component number {i} for the index benchmark\n"
            f"tags: [{', '.join(tags)}]\n"
            f"requires: ['comp{(i + 1) % n:05d} >=1.0']\n"
            "command: [echo, hi]\n"
        )


def timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--components", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reef-index-bench-"))
    os.environ["REEF_HOME"] = str(work / "home")

    from reef.components import repository
    from reef.components.index import refresh

    src = work / "lab"
    t0 = time.perf_counter()
    write_repo(src, args.components)
    print(f"wrote {args.components} components in {time.perf_counter() - t0:.1f} s")
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "components")

    for kind, location in (("folder", str(src)), ("clone", src.as_uri())):
        repo = repository.add(location, name=kind)
        t0 = time.perf_counter()
        built = refresh(repo)
        print(
            f"{kind:6s}: first index build {time.perf_counter() - t0:.2f} s ({built.parsed} read)"
        )
        measure_search(kind, args.repeats)
        if kind == "folder":
            for i in range(0, 100, 10):
                manifest = src / "group000" / f"comp{i:05d}" / "reef.yaml"
                manifest.write_text(manifest.read_text().replace("version: 1.", "version: 2."))
            t0 = time.perf_counter()
            changed = refresh(repo)
            took = (time.perf_counter() - t0) * 1000
            print(
                f"folder: refresh after editing 10 manifests {took:.0f} ms, {changed.parsed} read"
            )
        repository.remove(kind)


def measure_search(kind: str, repeats: int) -> None:
    from reef.components.lookup import search

    text = timed(lambda: search("number 4242"), repeats)
    tags = timed(lambda: search(kind="program", tags=["vision", "edge"]), repeats)
    print(
        f"{kind:6s}: search by text {text * 1000:.0f} ms, by kind and tags {tags * 1000:.0f} ms "
        f"(median of {repeats}; target < 100 ms)"
    )
    cli = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "reef", "search", "number 4242", "--json"],
            check=True,
            capture_output=True,
        ),
        max(3, repeats // 3),
    )
    print(f"{kind:6s}: `reef search` command, wall {cli * 1000:.0f} ms")


if __name__ == "__main__":
    main()
