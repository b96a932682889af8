"""Starts a worker process for a job and relays its progress."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import IO, Any

from reef.bench.job import BenchJob
from reef.bench.progress import NullReporter, Reporter, replay
from reef.bench.worker import PARENT_OPTION
from reef.errors import BenchError
from reef.meta.run import RunRecord, load_record

WORKER = "reef.bench.worker"


class WorkerCrashed(BenchError):
    """The worker died while measuring (out of memory, a crash in native code, a kill)."""

    def __init__(self, message: str, stderr_tail: str) -> None:
        super().__init__(message, hint=stderr_tail or None)
        self.stderr_tail = stderr_tail


class WorkerError(BenchError):
    """Bad input found by the worker before it measured anything."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(str(data.get("message")), data.get("hint"))
        self.exit_code = int(data.get("exit_code", 2))
        self.data = {k: v for k, v in data.items() if k != "exit_code"}

    def to_json(self) -> dict[str, object]:
        return dict(self.data)  # as the worker said it, problems and all


def _relay(stream: IO[str], reporter: Reporter, other: list[str]) -> None:
    for line in stream:
        if not replay(line, reporter):
            other.append(line)


def worker_command(python: str | None = None) -> list[str]:
    """The worker's command line. Another interpreter is a provisioned environment: isolated
    mode (-I) keeps the caller's PYTHONPATH, user site-packages and current folder out of it,
    so that what runs is what the environment holds. ``--parent-pid`` lets the worker make sure
    it dies with this process (see ``reef.bench.worker``); the worker makes that arrangement
    itself, so it holds in a provisioned environment's interpreter too."""
    head = [python, "-I"] if python else [sys.executable]
    return [*head, "-m", WORKER, PARENT_OPTION, str(os.getpid())]


def run_in_worker(
    job: BenchJob, reporter: Reporter | None = None, python: str | None = None
) -> RunRecord:
    reporter = reporter or NullReporter()
    proc = subprocess.Popen(
        worker_command(python),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    stderr_lines: list[str] = []
    relay = threading.Thread(target=_relay, args=(proc.stderr, reporter, stderr_lines), daemon=True)
    relay.start()
    try:
        proc.stdin.write(job.model_dump_json())
        proc.stdin.close()
        out = proc.stdout.read()
        code = proc.wait()
    except BaseException:
        # Interrupted: the worker's half-done measurement is worthless; end it now. The relay
        # is let finish too: left running, it would write to stderr while the caller reports
        # the interruption there, and two threads writing one text stream can lose lines.
        proc.kill()
        proc.wait()
        relay.join(timeout=5)
        raise
    relay.join()
    import json

    try:
        data = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "error" in data and code != 0:
        raise WorkerError(data)
    if code != 0 or not isinstance(data, dict):
        tail = "".join(stderr_lines[-20:]).strip()
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise WorkerCrashed(f"the benchmark worker {how} before returning a record", tail)
    return load_record(data, "worker output")
