"""Load on a running Reef server from a process of its own: submitters posting one run each
request, readers paging and reading runs, for a duration; what was acknowledged, what failed
and how long reads took, as one JSON object on stdout (or ``--out``).

    python benchmarks/server_load.py --url http://127.0.0.1:PORT --token TOKEN \\
        --bundle bundle.json [--submitters 8] [--readers 16] [--duration 60] [--out FILE]

Each submitter posts ``{"runs": [bundle]}`` over a keep-alive ``http.client`` connection, the
bundle being ``--bundle`` (a real run's, ``reef.bench.bundle.build_bundle``) under a new run id
each time. That keeps every copy valid: LoadGen's logs do not hold the run's id, which appears
only in the record (its ``id`` and the paths of its log folders, ``runs/<id>/...``), so the
server checks each copy's figures against the logs exactly as it checks the original's. A
copy is acknowledged when the server answers 200 naming its id with ``created: true``.

Readers cycle through: the first page of ``GET /api/v1/runs``, the next page by its cursor, a
filtered page (``model=...``, ``sort=p90``) and ``GET /api/v1/runs/{id}`` of a run submitted
earlier. Every answer that is not 200 (or an exception: a reset, a timeout) is a failure.

The module also holds what the tests and ``benchmarks/server.py`` share: starting ``reef
server`` on a free port (``Server``), making a token, and a real bundle from a real short run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RUNS = "/api/v1/runs"
TIMEOUT_S = 30.0


# --- a real bundle, a token, a server --------------------------------------------------------


def reef_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    return env


def real_bundle(home: Path, duration: float = 0.3) -> dict[str, Any]:
    """The bundle of one short real SingleStream run of the built-in classifier, run in
    ``home`` (a REEF_HOME of its own)."""
    out = subprocess.run(
        [sys.executable, "-m", "reef", "bench", "digits-classifier", "--duration", str(duration)],
        env=reef_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode not in (0, 1):
        raise RuntimeError(f"reef bench failed: {out.stderr[-2000:]}")
    from reef.bench.bundle import build_bundle
    from reef.meta.run import load_record

    (path,) = (home / "runs").glob("*/record.json")
    record = load_record(json.loads(path.read_text(encoding="utf-8")), str(path))
    return dict(json.loads(build_bundle(record).model_dump_json()))


def with_new_id(text: str, old_id: str) -> tuple[str, str]:
    """The bundle JSON ``text`` with its run id ``old_id`` replaced by a new one: the record's
    id and its log folders' paths, the only places it appears."""
    new_id = uuid.uuid4().hex
    return new_id, text.replace(old_id, new_id)


def make_token(home: Path, db_url: str, scope: str = "submit") -> str:
    out = subprocess.run(
        [sys.executable, "-m", "reef", "token", "create", "--scope", scope, "--name", "load",
         "--db", db_url, "--json"],
        env=reef_env(home), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return str(json.loads(out.stdout)["token"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``reef server`` in a process of its own on 127.0.0.1, over ``db_url``, its files in
    ``home``; ``start()`` waits until it answers, ``kill()`` is ``kill -9``."""

    home: Path
    db_url: str
    port: int = field(default_factory=free_port)
    options: tuple[str, ...] = ("--rate-limit", "0")
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        self.log = self.home / f"server-{self.port}-{time.monotonic_ns()}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reef", "server", "--port", str(self.port),
                 "--db", self.db_url, "--log-level", "warning", *self.options],
                env=reef_env(self.home), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = request("GET", self.url, "/api/v1/health")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {timeout} s")

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running(home: Path, db_url: str, *options: str) -> Iterator[Server]:
    server = Server(home, db_url, options=options or ("--rate-limit", "0")).start()
    try:
        yield server
    finally:
        server.stop()


def request(
    method: str,
    url: str,
    path: str,
    body: bytes | None = None,
    token: str | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """One request (on ``connection`` where given, kept alive); its status and body."""
    own = connection is None
    if connection is None:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if own:
            connection.close()


# --- the load --------------------------------------------------------------------------------


@dataclass
class Tally:
    acked: list[str] = field(default_factory=list)
    submit_latencies: list[float] = field(default_factory=list)
    read_latencies: list[float] = field(default_factory=list)
    reads_by_kind: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failed += 1
            if len(self.failures) < 20:
                self.failures.append(what)


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)


def submitter(url: str, token: str, template: str, old_id: str, end: float, tally: Tally) -> None:
    connection = _connection(url)
    try:
        while time.monotonic() < end:
            run_id, text = with_new_id(template, old_id)
            body = ('{"runs":[' + text + "]}").encode("utf-8")
            t0 = time.perf_counter()
            try:
                status, raw = request("POST", url, RUNS, body, token, connection)
            except (OSError, http.client.HTTPException) as exc:
                tally.fail(f"POST {run_id}: {type(exc).__name__}: {exc}")
                connection.close()
                connection = _connection(url)
                continue
            took = time.perf_counter() - t0
            if status != 200:
                tally.fail(f"POST {run_id}: {status} {raw[:300]!r}")
                continue
            accepted = json.loads(raw)["accepted"]
            if accepted != [{"id": run_id, "created": True}]:
                tally.fail(f"POST {run_id}: answered {accepted}")
                continue
            with tally.lock:
                tally.acked.append(run_id)
                tally.submit_latencies.append(took)
    finally:
        connection.close()


def reader(url: str, model: str, end: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    connection = _connection(url)
    cursor: str | None = None
    kinds = ("first", "next", "filtered", "run")
    turn = rng.randrange(len(kinds))
    try:
        while time.monotonic() < end:
            kind = kinds[turn % len(kinds)]
            turn += 1
            if kind == "first" or (kind == "next" and not cursor):
                path = f"{RUNS}?limit=20"
            elif kind == "next":
                path = f"{RUNS}?limit=20&cursor={cursor}"
            elif kind == "filtered":
                path = f"{RUNS}?model={model}&sort=p90&limit=20"
            else:
                with tally.lock:
                    known = tally.acked[rng.randrange(len(tally.acked))] if tally.acked else None
                path = f"{RUNS}/{known}" if known else f"{RUNS}?limit=1"
            t0 = time.perf_counter()
            try:
                status, raw = request("GET", url, path, None, None, connection)
            except (OSError, http.client.HTTPException) as exc:
                tally.fail(f"GET {path}: {type(exc).__name__}: {exc}")
                connection.close()
                connection = _connection(url)
                continue
            took = time.perf_counter() - t0
            if status != 200:
                tally.fail(f"GET {path}: {status} {raw[:300]!r}")
                continue
            if kind in ("first", "next"):
                cursor = json.loads(raw).get("next_cursor")
            with tally.lock:
                tally.read_latencies.append(took)
                tally.reads_by_kind[kind] = tally.reads_by_kind.get(kind, 0) + 1
    finally:
        connection.close()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(
    url: str, token: str, bundle: dict[str, Any], submitters: int, readers: int, duration: float
) -> dict[str, Any]:
    """Run the load; the figures and every acknowledged run id."""
    old_id = str(bundle["record"]["id"])
    model = str(bundle["record"].get("target", {}).get("name") or "digits-classifier")
    template = json.dumps(bundle, separators=(",", ":"))
    tally = Tally()
    start = time.monotonic()
    end = start + duration
    threads = [
        threading.Thread(target=submitter, args=(url, token, template, old_id, end, tally))
        for _ in range(submitters)
    ] + [
        threading.Thread(target=reader, args=(url, model, end, tally, seed))
        for seed in range(readers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start

    def ms(values: list[float], q: float) -> float | None:
        value = percentile(values, q)
        return None if value is None else round(value * 1000, 2)

    return {
        "duration_s": round(elapsed, 3),
        "submitters": submitters,
        "readers": readers,
        "bundle_bytes": len(template),
        "submitted": len(tally.acked),
        "runs_per_s": round(len(tally.acked) / elapsed, 2),
        "submit_p50_ms": ms(tally.submit_latencies, 0.50),
        "submit_p99_ms": ms(tally.submit_latencies, 0.99),
        "reads": len(tally.read_latencies),
        "reads_by_kind": tally.reads_by_kind,
        "read_p50_ms": ms(tally.read_latencies, 0.50),
        "read_p95_ms": ms(tally.read_latencies, 0.95),
        "read_p99_ms": ms(tally.read_latencies, 0.99),
        "read_max_ms": ms(tally.read_latencies, 1.0),
        "failed": tally.failed,
        "failures": tally.failures,
        "acked": tally.acked,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--bundle", required=True, type=Path, help="a run's bundle, as JSON")
    ap.add_argument("--submitters", type=int, default=8)
    ap.add_argument("--readers", type=int, default=16)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = ap.parse_args()
    bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
    result = load(args.url, args.token, bundle, args.submitters, args.readers, args.duration)
    text = json.dumps(result)
    if args.out:
        tmp = Path(tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")[1])
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
