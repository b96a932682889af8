"""The Reef server's figures (issue 17): submissions a second, the list API's latency over
100,000 stored runs, and the reliability load (8 submitters, 16 readers), on a real ``reef
server`` (no rate limit) on a free port of 127.0.0.1, loaded from another process
(``server_load.py``).

1. **Submissions.** 8 clients posting one real run per request (a short real run's bundle,
   about 310 KB, under a new run id each time: ``server_load.py`` says why each copy stays
   valid) for ``--duration`` seconds, on a fresh database each round, SQLite and PostgreSQL
   alternating (which goes first alternates too). Runs acknowledged a second; median and range
   over ``--rounds``.
2. **List pages.** The server's SQLite database (``--list-dbs`` adds postgresql) filled with
   ``--runs`` of ``generate_runs.py``'s records straight through the store, then ``GET
   /api/v1/runs``: first pages (newest first), filtered pages (a model and a status, by p90),
   and deep pages (following ``next_cursor`` 50 pages down), ``--requests`` of each per round
   in rotating order; p50 and p95 of each kind per round, median and range over the rounds.
3. **Reliability load** (``--mixed-duration``, 0 to skip): 8 submitters and 16 readers at once
   on each database: failed requests, acknowledged runs against those stored, the reads' p99.

    python benchmarks/server.py [--rounds 3] [--duration 15] [--runs 100000] [--requests 60]
        [--mixed-duration 60] [--pg URL] [--list-dbs sqlite postgresql] [--workers N]

PostgreSQL is ``--pg`` (default ``postgresql+psycopg://root@127.0.0.1:5432/test``): each
round gets a schema of its own there, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server_load
from _figures import print_table, spread
from generate_runs import records

HERE = Path(__file__).resolve().parent
LOAD = HERE / "server_load.py"
TARGETS = {"sqlite": 500.0, "postgresql": 1000.0}
LIST_P95_TARGET_MS = 150.0
READ_P99_TARGET_MS = 200.0


@contextmanager
def database(kind: str, home: Path, pg: str) -> Iterator[str]:
    """A fresh database of ``kind``: SQLite in ``home``, or a PostgreSQL schema (dropped
    after)."""
    if kind == "sqlite":
        yield f"sqlite:///{home / 'server.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"reef_bench_{secrets.token_hex(4)}"
    plain = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield (
            make_url(pg)
            .set(query={"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def run_load(
    url: str, token: str, bundle: Path, submitters: int, readers: int, duration: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "load.json"
        subprocess.run(
            [sys.executable, str(LOAD), "--url", url, "--token", token, "--bundle", str(bundle),
             "--submitters", str(submitters), "--readers", str(readers),
             "--duration", str(duration), "--out", str(out)],
            check=True, timeout=duration + 300,
        )  # fmt: skip
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def server_cpu_s(server: Any) -> float:
    """CPU seconds the server's processes (its workers included) have used so far."""
    import psutil

    root = psutil.Process(server.process.pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def submissions(
    args: argparse.Namespace, bundle: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per database: runs acknowledged a second, and the server's CPU milliseconds per run,
    each round."""
    rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    cpu: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    options = ("--rate-limit", "0", "--workers", str(args.workers))
    for r in range(args.rounds):
        for kind in ("sqlite", "postgresql") if r % 2 == 0 else ("postgresql", "sqlite"):
            with tempfile.TemporaryDirectory(prefix="reef-srv-") as tmp:
                home = Path(tmp)
                with database(kind, home, args.pg) as url:
                    token = server_load.make_token(home, url)
                    with server_load.running(home, url, *options) as server:
                        before = server_cpu_s(server)
                        result = run_load(server.url, token, bundle, 8, 0, args.duration)
                        used = server_cpu_s(server) - before
                    stored = count_runs(url)
            rates[kind].append(result["runs_per_s"])
            per_run = used * 1000 / max(stored, 1)
            cpu[kind].append(per_run)
            print(
                f"  round {r + 1} {kind}: {result['runs_per_s']:.1f} runs/s "
                f"({result['submitted']} acknowledged, {stored} stored, "
                f"{result['failed']} failed; submit p50 {result['submit_p50_ms']} ms; "
                f"server CPU {per_run:.1f} ms a run)",
                flush=True,
            )
    return rates, cpu


def count_runs(url: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


def fill(url: str, count: int) -> float:
    from reef import api

    started = time.perf_counter()
    with api.server_open(url) as db:
        pending = []
        for record in records(count, 1, datetime.now(UTC)):
            pending.append(record)
            if len(pending) == 5000:
                db.store.add_many(pending)
                pending.clear()
        db.store.add_many(pending)
    return time.perf_counter() - started


def timed(url: str, path: str, connection: Any) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    status, raw = server_load.request("GET", url, path, connection=connection)
    took = (time.perf_counter() - t0) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path}: {status} {raw[:300]!r}")
    page: dict[str, Any] = json.loads(raw)
    return took, page


def list_pages(url: str, requests: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Per kind: the p50s and p95s of each round (ms)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=60)
    first = "/api/v1/runs?limit=20"
    filtered = "/api/v1/runs?model=resnet50&status=valid&sort=p90&limit=20"
    # Untimed: one of each, and the cursor 50 pages down to start deep pages from.
    timed(url, filtered, connection)
    _, page = timed(url, first, connection)
    for _ in range(49):
        _, page = timed(url, f"{first}&cursor={page['next_cursor']}", connection)
    deep_start = page["next_cursor"]
    figures: dict[str, dict[str, list[float]]] = {}
    kinds = ["first", "filtered", "deep"]
    for r in range(rounds):
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        cursor = deep_start
        for i in range(requests * len(kinds)):
            kind = kinds[(i + r) % len(kinds)]
            if kind == "first":
                took, _ = timed(url, first, connection)
            elif kind == "filtered":
                took, _ = timed(url, filtered, connection)
            else:
                took, page = timed(url, f"{first}&cursor={cursor}", connection)
                cursor = page["next_cursor"] or deep_start
            samples[kind].append(took)
        samples["all"] = [t for kind in kinds for t in samples[kind]]
        for kind, values in samples.items():
            ordered = sorted(values)
            entry = figures.setdefault(kind, {"p50": [], "p95": []})
            entry["p50"].append(statistics.median(ordered))
            entry["p95"].append(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])
    connection.close()
    return figures


def mixed(args: argparse.Namespace, bundle: Path, kind: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reef-srv-") as tmp:
        home = Path(tmp)
        with database(kind, home, args.pg) as url:
            token = server_load.make_token(home, url)
            options = ("--rate-limit", "0", "--workers", str(args.workers))
            with server_load.running(home, url, *options) as server:
                result = run_load(server.url, token, bundle, 8, 16, args.mixed_duration)
            from sqlalchemy import create_engine, text
            from sqlalchemy.pool import NullPool

            engine = create_engine(url, poolclass=NullPool)
            with engine.connect() as connection:
                ids = [row[0] for row in connection.execute(text("SELECT id FROM runs"))]
            engine.dispose()
    acked = result.pop("acked")
    result["acked_stored"] = len(set(acked) & set(ids))
    result["acked"] = len(acked)
    result["stored"] = len(ids)
    result["stored_distinct"] = len(set(ids))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=15.0, help="seconds of submissions")
    ap.add_argument("--runs", type=int, default=100_000, help="runs stored for list pages")
    ap.add_argument("--requests", type=int, default=60, help="of each page kind per round")
    ap.add_argument("--mixed-duration", type=float, default=60.0)
    ap.add_argument("--pg", default="postgresql+psycopg://root@127.0.0.1:5432/test")
    ap.add_argument("--list-dbs", nargs="+", default=["sqlite"])
    ap.add_argument("--skip", nargs="*", default=[], choices=["submit", "list", "mixed"])
    ap.add_argument("--workers", type=int, default=1, help="reef server --workers")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="reef-bundle-") as tmp:
        bundle = Path(tmp) / "bundle.json"
        bundle.write_text(json.dumps(server_load.real_bundle(Path(tmp) / "home")))
        print(f"bundle: {bundle.stat().st_size:,} bytes (one real digits-classifier run)")
        rows: list[tuple[str, str, str]] = []
        if "submit" not in args.skip:
            print(f"submissions, 8 clients, {args.duration:g} s a round:", flush=True)
            rates, cpu = submissions(args, bundle)
            for kind, values in rates.items():
                rows.append(
                    (
                        f"single-run submissions, 8 clients, {kind}, {args.workers} worker(s)",
                        spread(values, " runs/s"),
                        f">= {TARGETS[kind]:,.0f} runs/s",
                    )
                )
                rows.append(
                    (
                        f"server CPU per submitted run, {kind}",
                        spread(cpu[kind], " ms"),
                        f"<= {1000 * os.cpu_count() / TARGETS[kind]:,.1f} ms for the target "
                        f"on {os.cpu_count()} cores, the load's own CPU aside",
                    )
                )
        if "list" not in args.skip:
            for kind in args.list_dbs:
                with tempfile.TemporaryDirectory(prefix="reef-srv-") as tmp:
                    home = Path(tmp)
                    with database(kind, home, args.pg) as url:
                        took = fill(url, args.runs)
                        print(f"{kind}: {args.runs:,} runs stored in {took:.0f} s", flush=True)
                        with server_load.running(home, url) as server:
                            figures = list_pages(server.url, args.requests, args.rounds)
                for page, values in figures.items():
                    rows.append(
                        (
                            f"list page API, {args.runs:,} runs, {kind}, {page}: p50 / p95",
                            f"{spread(values['p50'], ' ms')} / {spread(values['p95'], ' ms')}",
                            f"p95 <= {LIST_P95_TARGET_MS:g} ms",
                        )
                    )
        if "mixed" not in args.skip and args.mixed_duration > 0:
            for kind in ("sqlite", "postgresql"):
                print(f"reliability load on {kind}, {args.mixed_duration:g} s:", flush=True)
                result = mixed(args, bundle, kind)
                print("  " + json.dumps({k: v for k, v in result.items() if k != "failures"}))
                rows.append(
                    (
                        f"8 submitters + 16 readers, {args.mixed_duration:g} s, {kind}, "
                        f"{args.workers} worker(s)",
                        f"{result['failed']} failed; {result['acked_stored']} of "
                        f"{result['acked']} acknowledged stored ({result['stored']} rows, "
                        f"{result['stored_distinct']} distinct); {result['runs_per_s']} runs/s; "
                        f"read p50 {result['read_p50_ms']} ms, p99 {result['read_p99_ms']} ms",
                        f"0 failed, all stored once, read p99 <= {READ_P99_TARGET_MS:g} ms",
                    )
                )
    print_table(rows)


if __name__ == "__main__":
    main()
