"""Throughput of ``pack`` and ``install`` on one large component, against ``sha256sum``.

The component holds one file of seeded random bytes (default 100 MB: incompressible, like
model weights). Each run packs it, then installs the pack into a fresh REEF_HOME. The bare
baselines, timed in the same run over the same file: ``sha256sum`` (what verifying costs at
least) and ``gzip -1`` (what compressing at the pack's level costs at least). Prints medians.

    python benchmarks/pack_throughput.py [--size-mb 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reef.components import repository
from reef.components.content import content_sha256
from reef.components.pack import COMPRESSLEVEL, install, pack
from reef.meta.lock import Lock, LockedComponent


def make_component(root: Path, size: int, seed: int) -> Path:
    folder = root / "blob"
    folder.mkdir(parents=True)
    (folder / "reef.yaml").write_text(
        "kind: program\nname: blob\nversion: 1.0.0\ncommand: [cat, '{dir}/blob.bin']\n",
        encoding="utf-8",
    )
    rng = random.Random(seed)
    with (folder / "blob.bin").open("wb") as f:
        left = size
        while left:
            n = min(left, 1 << 24)
            f.write(rng.randbytes(n))
            left -= n
    return folder


def lock_for(folder: Path) -> Lock:
    locked = LockedComponent(
        kind="program",
        name="blob",
        version="1.0.0",
        repository="bench",
        repository_location=str(folder.parent),
        path="blob/reef.yaml",
        sha256=content_sha256(folder),
    )
    return Lock(target="blob", root="blob", components=[locked])


def timed(run: Callable[[], object], runs: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    size = args.size_mb * 1_000_000
    mb = size / 1e6

    work = Path(tempfile.mkdtemp(prefix="reef-pack-bench-"))
    try:
        os.environ["REEF_HOME"] = str(work / "home")
        folder = make_component(work / "repo", size, args.seed)
        repository.add(str(folder.parent), name="bench")
        lock = lock_for(folder)
        out = work / "blob.reef.tar.gz"

        t_pack = timed(lambda: pack(lock, out), args.runs)
        packed = out.stat().st_size

        homes = iter(range(args.runs))

        def fresh_home() -> None:
            os.environ["REEF_HOME"] = str(work / f"install-{next(homes)}")

        t_install = timed(lambda: install(out), args.runs, before=fresh_home)

        blob = folder / "blob.bin"
        t_sha = timed(
            lambda: subprocess.run(["sha256sum", str(blob)], check=True, capture_output=True),
            args.runs,
        )
        gzip_cmd = ["gzip", f"-{COMPRESSLEVEL}", "-c", str(blob)]
        t_gzip = timed(
            lambda: subprocess.run(gzip_cmd, check=True, stdout=subprocess.DEVNULL), args.runs
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    sha_rate = mb / t_sha
    print(
        f"component: {mb:.0f} MB of random bytes; pack {packed / 1e6:.1f} MB "
        f"(gzip level {COMPRESSLEVEL}); medians of {args.runs} runs"
    )
    print(f"sha256sum:    {sha_rate:8.1f} MB/s  ({t_sha:.2f} s)")
    print(f"gzip -{COMPRESSLEVEL}:      {mb / t_gzip:8.1f} MB/s  ({t_gzip:.2f} s)")
    for label, t in (("pack:", t_pack), ("install:", t_install)):
        rate = mb / t
        print(
            f"{label:13} {rate:8.1f} MB/s  ({t:.2f} s)  {rate / sha_rate:.3f}x sha256sum, "
            f"{rate / (mb / t_gzip):.2f}x gzip -{COMPRESSLEVEL}"
        )


if __name__ == "__main__":
    main()
