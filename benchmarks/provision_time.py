"""Provisioning time for one lock (the built-in digits-classifier's): a cold build with uv
and with pip (each into a REEF_HOME of its own, so neither finds an environment), then the
cost of reusing the environment (target: under 0.5 s).

Reuse is timed three ways: the environment step alone (``provision`` finding the complete
environment), the whole ``api.init`` of the lock in this process (read, verify the sources,
plan, reuse), and ``reef init reef.lock`` as a fresh process, whose wall time includes the
interpreter's start and Reef's imports (shown beside ``reef --version`` for scale).

By default the installers' own download caches are used as they are; ``--cold-caches``
points them at empty folders, so every wheel is downloaded again.

    python benchmarks/provision_time.py [--repeats 9] [--cold-caches] [--skip-pip]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import use_temp_home

from reef import api
from reef.components.lockfile import write_lock
from reef.components.resolve import resolve
from reef.environment import provision
from reef.environment.installers import find_uv
from reef.meta.lock import Lock

TARGET = "digits-classifier"
_TEMPORARY: list[str] = []  # homes and caches to remove at the end: environments are large


def temp_home() -> str:
    home = use_temp_home()
    _TEMPORARY.append(home)
    return home


def median_s(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cold_build(lock: Lock, installer: str) -> provision.Provisioned:
    temp_home()
    chosen = provision.plan(lock, installer=installer)
    assert not chosen.ready
    started = time.perf_counter()
    env = provision.provision(chosen)
    assert env.status == "created"
    print(
        f"cold build, {installer:3s}: {time.perf_counter() - started:7.2f} s  "
        f"({len(env.packages)} packages, {len(chosen.requirements)} requirements)",
        flush=True,
    )
    return env


def main() -> None:
    try:
        measure()
    finally:
        os.chdir(Path(__file__).parent)
        for folder in _TEMPORARY:
            shutil.rmtree(folder, ignore_errors=True)


def measure() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cold-caches", action="store_true")
    parser.add_argument("--skip-pip", action="store_true")
    args = parser.parse_args()
    if args.cold_caches:
        os.environ["UV_CACHE_DIR"] = tempfile.mkdtemp(prefix="reef-bench-uv-cache-")
        _TEMPORARY.append(os.environ["UV_CACHE_DIR"])
        os.environ["PIP_NO_CACHE_DIR"] = "1"
    caches = "empty download caches" if args.cold_caches else "installers' caches as they are"

    temp_home()
    lock = resolve(TARGET)
    interpreter = provision.current_interpreter()
    print(
        f"lock: {TARGET} ({len(lock.components)} components, python {lock.python or '[]'}); "
        f"{interpreter.implementation} {interpreter.version}; {caches}"
    )

    built: dict[str, provision.Provisioned] = {}
    if find_uv() is not None:
        built["uv"] = cold_build(lock, "uv")
    else:
        print("cold build, uv : skipped (uv is not installed)")
    if not args.skip_pip:
        built["pip"] = cold_build(lock, "pip")
    if len(built) == 2:
        same = built["uv"].packages == built["pip"].packages
        print(f"same versions from uv and pip: {'yes' if same else 'no'}")
        if not same:
            for name in sorted(built["uv"].packages.keys() | built["pip"].packages.keys()):
                a, b = built["uv"].packages.get(name), built["pip"].packages.get(name)
                if a != b:
                    print(f"  {name}: uv {a}, pip {b}")

    # Reuse, in the home of the last build.
    work = Path(tempfile.mkdtemp(prefix="reef-bench-work-"))
    _TEMPORARY.append(str(work))
    chosen = provision.plan(lock)
    assert chosen.ready
    step = median_s(lambda: provision.provision(chosen), args.repeats)
    print(f"reuse, environment step:          {step * 1000:7.1f} ms (median of {args.repeats})")

    os.chdir(work)
    env = provision.provision(chosen)
    write_lock(lock.model_copy(update={"environment": env.locked()}), work / "reef.lock")

    def init_lock() -> None:
        report = api.init("reef.lock")
        assert report.environment is not None and report.environment.status == "reused"

    whole = median_s(init_lock, args.repeats)
    print(f"reuse, api.init('reef.lock'):     {whole * 1000:7.1f} ms (median of {args.repeats})")

    def cli(*argv: str) -> Callable[[], None]:
        def run() -> None:
            subprocess.run([sys.executable, "-m", "reef", *argv], check=True, capture_output=True)

        return run

    runs = max(3, args.repeats // 2)
    wall = median_s(cli("init", "reef.lock"), runs)
    start = median_s(cli("--version"), runs)
    print(
        f"reuse, `reef init reef.lock` wall: {wall * 1000:7.1f} ms (median of {runs}; "
        f"`reef --version` alone: {start * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
