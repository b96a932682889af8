"""Search over an index of 10,000 components, and what a refresh costs.

Targets: a search over 10,000 indexed components under 100 ms when nothing changed; a refresh
after a change reads only the manifests that changed. Builds one repository of N components
twice, as a folder (checked against the files on every call: a stat of each folder and each
manifest, against the snapshot the last walk recorded) and as a git clone (the index is used as
it is while the checked-out commit is the indexed one).

For the folder, each repeat times, in turn: a bare walk of the folder (``os.scandir`` of every
folder and a stat of every manifest: what any check that lists the folders pays, and what Reef
did before), a bare stat of every folder and manifest (the floor of Reef's check), and Reef's
searches. The `reef search` command is timed in alternation with `python -c pass` and
`reef --version` (the interpreter's start and Reef's imports). Prints medians and ranges.

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
from functools import partial
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


def alternate(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Each of ``runs`` once per repeat, in turn; the times in ms."""
    out: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0) * 1000)
    return out


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):.0f} ms ({min(times):.0f}-{max(times):.0f})"


def bare_walk(root: Path) -> int:
    """Every reef.yaml under ``root`` by listing every folder, with a stat of each."""
    count = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for item in it:
                if item.is_dir(follow_symlinks=False):
                    if not item.name.startswith("."):
                        stack.append(item.path)
                elif item.name == "reef.yaml":
                    item.stat(follow_symlinks=False)
                    count += 1
    return count


def folders_and_manifests(root: Path) -> list[str]:
    paths = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        paths.append(folder)
        paths += [os.path.join(folder, f) for f in files if f == "reef.yaml"]
    return paths


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
        # Folders changed within 2 s of a walk are walked again by the next command (a coarse
        # file-system clock could hide a change made right after): let them settle.
        time.sleep(2.1)
        refresh(repo)
        measure_search(kind, src, args.repeats)
        if kind == "folder":
            for i in range(0, 100, 10):
                manifest = src / "group000" / f"comp{i:05d}" / "reef.yaml"
                manifest.write_text(manifest.read_text().replace("version: 1.", "version: 2."))
            t0 = time.perf_counter()
            changed = refresh(repo)
            took = (time.perf_counter() - t0) * 1000
            print(
                f"folder: refresh after editing 10 manifests in place {took:.0f} ms, "
                f"{changed.parsed} read"
            )
            extra = src / "group000" / "added"
            extra.mkdir()
            (extra / "reef.yaml").write_text(
                "kind: program\nname: added\nversion: 1.0.0\ncommand: [echo]\n"
            )
            t0 = time.perf_counter()
            changed = refresh(repo)
            took = (time.perf_counter() - t0) * 1000
            print(
                f"folder: refresh after adding a component (a folder changed: walked) "
                f"{took:.0f} ms, {changed.parsed} read"
            )
        repository.remove(kind)


def measure_search(kind: str, src: Path, repeats: int) -> None:
    from reef.components.lookup import search

    runs: dict[str, Callable[[], object]] = {}
    if kind == "folder":
        paths = folders_and_manifests(src)
        runs["bare walk"] = partial(bare_walk, src)
        runs["bare stats"] = lambda: [os.stat(p, follow_symlinks=False) for p in paths]
    search("number 4242")  # the first indexes the built-in repository too
    runs["search by text"] = lambda: search("number 4242")
    runs["by kind and tags"] = lambda: search(kind="program", tags=["vision", "edge"])
    times = alternate(runs, repeats)
    print(f"{kind:6s}: " + "; ".join(f"{n} {summary(t)}" for n, t in times.items()))
    if kind == "folder":
        text = statistics.median(times["search by text"])
        print(
            f"{kind:6s}: search by text / bare stats "
            f"{text / statistics.median(times['bare stats']):.2f}, / bare walk "
            f"{text / statistics.median(times['bare walk']):.2f} (median of {repeats}; "
            "target < 100 ms)"
        )
    command = [sys.executable, "-m", "reef"]
    cli = alternate(
        {
            "python -c pass": partial(subprocess.run, [sys.executable, "-c", "pass"]),
            "reef --version": partial(subprocess.run, [*command, "--version"], capture_output=True),
            "reef search": partial(
                subprocess.run,
                [*command, "search", "number 4242", "--json"],
                check=True,
                capture_output=True,
            ),
        },
        max(3, repeats // 2),
    )
    print(f"{kind:6s}: commands, wall: " + "; ".join(f"`{n}` {summary(t)}" for n, t in cli.items()))


if __name__ == "__main__":
    main()
