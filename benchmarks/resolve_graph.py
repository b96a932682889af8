"""Resolution time on a generated graph of 1,000 components (target: under 1 s).

The graph has five layers of 200 components, four versions each; every version requires
three components of the next layer under a constraint. In some places a component's newest
version requires a dependency at >=2 that the dependency's other requirers hold below 2:
the resolver must backtrack to an older version of the first. Every result is checked.

The graph is built twice, without traps (no backtracking: resolvelib's choices are replayed
in linear time) and with them (resolvelib backtracks). Two targets: ``mid``, a component of
the fourth layer (its closure is what a typical model, dataset and programs look like, and then
some), and ``app``, which requires the whole first layer and so reaches nearly every component.
Prints medians of N repeats, for in-memory resolution (``resolve_entries``) and for the full
``resolve()`` from a folder repository on disk (index read, every resolved manifest loaded and
its folder hashed).

With traps, each resolution is timed twice per repeat, in alternation: with Reef's resolution
loop (``reef.components.resolver``: resolvelib's, with each round's bookkeeping kept) and with
resolvelib's own, which re-checks every pin against every requirement every round. Both make
the same choices (checked here); the ratio is Reef's time over resolvelib's.

    python benchmarks/resolve_graph.py [--repeats 5] [--seed 0] [--traps 50]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from unittest.mock import patch

import yaml
from _common import use_temp_home
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from reef.components import repository
from reef.components.index import Entry, catalog
from reef.components.resolve import resolve, resolve_entries
from reef.meta.component import split_requirement

LAYERS, WIDTH, FANOUT = 5, 200, 3
VERSIONS = ("1.0.0", "1.1.0", "2.0.0", "2.1.0")
ANY = ("", ">=1.0", ">=1.1,<3", "~=2.0", ">=2")
BELOW_2 = ("<2", ">=1.1,<2", "~=1.0", "==1.1.*")
TRAPS = 50

Graph = dict[str, dict[str, list[str]]]  # name -> version -> requirements


def name(layer: int, index: int) -> str:
    return f"c{layer}-{index:03d}"


def graph(seed: int) -> Graph:
    rng = random.Random(seed)
    deps = {
        (layer, i): rng.sample(range(WIDTH), FANOUT) if layer + 1 < LAYERS else []
        for layer in range(LAYERS)
        for i in range(WIDTH)
    }
    requirers: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (layer, i), js in deps.items():
        for j in js:
            requirers.setdefault((layer + 1, j), []).append((layer, i))
    # A trap: every requirer of `held` keeps it below 2, except the newest version of one.
    traps: dict[tuple[int, int], tuple[int, int]] = {}
    for held in rng.sample(sorted(requirers), len(requirers)):
        if len(traps) == TRAPS:
            break
        free = [r for r in requirers[held] if r not in traps]
        if len(requirers[held]) >= 2 and free:
            traps[rng.choice(free)] = held
    held_below = set(traps.values())
    out: Graph = {}
    for (layer, i), js in deps.items():
        out[name(layer, i)] = {}
        for version in VERSIONS:
            reqs = []
            for j in js:
                dep = (layer + 1, j)
                spec = rng.choice(BELOW_2 if dep in held_below else ANY)
                if traps.get((layer, i)) == dep and version == VERSIONS[-1]:
                    spec = ">=2"
                reqs.append(f"{name(*dep)} {spec}".strip())
            out[name(layer, i)][version] = reqs
    out["app"] = {"1.0.0": [name(0, i) for i in range(WIDTH)]}
    out["mid"] = {"1.0.0": [name(LAYERS - 2, i) for i in range(0, WIDTH, 2)]}
    return out


def entries_of(components: Graph) -> list[Entry]:
    return [
        Entry(
            repository="gen",
            kind="program",
            name=n,
            version=version,
            path=f"{n}/{version}/reef.yaml",
            requires=tuple(reqs),
            root="/generated",
        )
        for n, by_version in components.items()
        for version, reqs in by_version.items()
    ]


def check(components: Graph, chosen: dict[str, str]) -> int:
    """Assert that ``chosen`` satisfies every requirement; the count of older choices."""
    for n, version in chosen.items():
        for text in components[n][version]:
            dep, spec = split_requirement(text)
            assert SpecifierSet(spec).contains(chosen[dep]), f"{n} {version}: {text}"
    return sum(v != max(components[n], key=Version) for n, v in chosen.items())


def write_repository(components: Graph, root: Path) -> None:
    for n, by_version in components.items():
        for version, reqs in by_version.items():
            folder = root / n / version
            folder.mkdir(parents=True)
            data: dict[str, Any] = {"kind": "program", "name": n, "version": version}
            data |= {"command": ["echo"], "requires": reqs}
            (folder / "reef.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def timed(run: Callable[[], object], repeats: int) -> str:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    return f"median {statistics.median(times):6.0f} ms (min {min(times):.0f}, max {max(times):.0f})"


def stock_loop() -> contextlib.AbstractContextManager[object]:
    """Resolution with resolvelib's own loop instead of Reef's."""
    from resolvelib import Resolver

    from reef.components import resolve as module

    return patch.object(module, "incremental_resolver", Resolver)


def against_stock(target: str, entries: list[Entry], repeats: int) -> str:
    """Reef's loop and resolvelib's, alternating; medians, ranges and the ratio of medians."""
    mine: list[float] = []
    stock: list[float] = []
    loops: tuple[tuple[list[float], Callable[[], contextlib.AbstractContextManager[object]]], ...]
    loops = ((mine, contextlib.nullcontext), (stock, stock_loop))
    for _ in range(repeats):
        for times, loop in loops:
            with loop():
                t0 = time.perf_counter()
                resolve_entries(target, entries)
                times.append((time.perf_counter() - t0) * 1000)
    a, b = statistics.median(mine), statistics.median(stock)
    return (
        f"Reef's loop median {a:5.0f} ms ({min(mine):.0f}-{max(mine):.0f}), resolvelib's "
        f"{b:.0f} ms ({min(stock):.0f}-{max(stock):.0f}): {a / b:.2f}x"
    )


def main() -> None:
    global TRAPS
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--traps", type=int, default=TRAPS)
    args = ap.parse_args()
    use_temp_home()
    graphs = {}
    for TRAPS in (0, args.traps):
        components = graph(args.seed)
        entries = entries_of(components)
        graphs[TRAPS] = components
        edges = sum(len(r) for v in components.values() for r in v.values())
        print(
            f"graph: {len(components)} components, {len(entries)} versions, {edges} "
            f"requirements, {TRAPS} traps; {args.repeats} repeats; target < 1000 ms"
        )
        for target in ("mid", "app"):
            chosen = {n: e.version for n, e in resolve_entries(target, entries).items()}
            older = check(components, chosen)
            head = f"  in memory  {target:>3} ({len(chosen)} resolved, {older} below newest): "
            if not TRAPS:
                print(head + timed(partial(resolve_entries, target, entries), args.repeats))
                continue
            with stock_loop():
                stock = {n: e.version for n, e in resolve_entries(target, entries).items()}
            assert stock == chosen, "Reef's loop and resolvelib's chose differently"
            print(head + against_stock(target, entries, args.repeats))

    for traps, components in graphs.items():
        root = Path(tempfile.mkdtemp(prefix="reef-graph-"))
        write_repository(components, root)
        repository.add(str(root), name="gen")
        t0 = time.perf_counter()
        catalog()
        took = time.perf_counter() - t0
        # Folders changed within 2 s of the walk that indexed them are walked again by the
        # next command (a coarse file-system clock could hide a change): let them settle.
        time.sleep(2.1)
        catalog()
        print(
            f"on disk, {traps} traps: first index build {took:.1f} s; reading it (folders "
            f"checked) {timed(catalog, 3)}"
        )
        for target in ("mid", "app"):
            lock = resolve(target)
            older = check(components, {c.name: c.version for c in lock.components})
            print(
                f"  resolve()  {target:>3} ({len(lock.components)} locked, {older} below newest, "
                "index read, manifests read, folders hashed): "
                + timed(partial(resolve, target), args.repeats)
            )
        repository.remove("gen")


if __name__ == "__main__":
    main()
