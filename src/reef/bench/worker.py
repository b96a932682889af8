"""Runs one benchmark job in a process of its own.

    python -m reef.bench.worker [--parent-pid PID] < job.json > record.json

Each scenario runs in a fresh process so that no LoadGen or predictor state leaks from one
scenario into the next, and so that a provisioned environment can run the job with its own
interpreter. Progress events go to stderr (see ``reef.bench.progress``). On bad input the
worker prints ``{"error": ...}`` and exits 2 before anything is measured.

Started by Reef (``reef.bench.launch`` passes ``--parent-pid``), the worker dies with the
process that started it (see ``_die_with_parent``): a ``reef bench`` killed with ``kill -9``
must not leave an orphan measuring for minutes on the cores whatever runs next is measured on.
Started by hand, without the option, it lives as long as it needs to.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import IO

from pydantic import ValidationError

from reef.bench.job import BenchJob
from reef.bench.progress import JsonLinesReporter
from reef.errors import ReefError, SettingsError


def _private_stdout() -> IO[str]:
    """The record's channel: the real stdout, with fd 1 pointed at stderr from now on, so
    that whatever native code prints cannot corrupt the JSON."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return out


PARENT_OPTION = "--parent-pid"
# Linux's prctl(2) option: the signal the kernel sends this process when its parent dies.
PR_SET_PDEATHSIG = 1
# Where prctl is not available, how often a thread checks whether the parent is still there.
PARENT_POLL_S = 0.5


def _parent_pid(argv: list[str]) -> int | None:
    """The PID given with ``--parent-pid``; None when the worker was started by hand."""
    if PARENT_OPTION in argv[:-1]:
        value = argv[argv.index(PARENT_OPTION) + 1]
        if value.isdigit():
            return int(value)
    return None


def _die_with_parent(parent: int | None) -> None:
    """End this process when its parent dies, however the parent dies (``kill -9`` too).

    On Linux the kernel does it: ``PR_SET_PDEATHSIG`` sends SIGKILL when the parent exits,
    which works while LoadGen holds the main thread in native code. The setting only takes
    effect from now on, so a parent that died before it was made is found by comparing
    ``getppid()`` with the PID the parent passed (when it died, this process was re-parented to
    init or a subreaper). Elsewhere a daemon thread polls ``getppid()``. The kernel fires on
    the exit of the parent *thread* that started the worker; that thread waits for the worker
    (``reef.bench.launch.run_in_worker``), so it outlives it.
    """
    if parent is None:
        return  # started by hand (``nohup ... &`` must outlive its shell)
    if not _set_pdeathsig():
        threading.Thread(
            target=_watch_parent, args=(parent,), name="reef-parent-watch", daemon=True
        ).start()
    if os.getppid() != parent:
        os._exit(1)  # the parent is gone already: nobody will read what this would measure


def _set_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch_parent(expected: int) -> None:
    while os.getppid() == expected:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _pin(cpus: list[int] | None) -> None:
    """Pin this process to ``cpus`` before any thread starts: ONNX Runtime's and LoadGen's
    threads inherit the mask of the thread that starts them."""
    if cpus is None:
        return
    # Cores that do not exist or are not allowed were refused with the job's settings
    # (BenchJob runs machine_problems); what remains is the OS saying no.
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as exc:
        raise SettingsError(f"--cpus: cannot pin the worker to {cpus}: {exc.strerror}") from exc


def main(argv: list[str] | None = None) -> int:
    _die_with_parent(_parent_pid(sys.argv[1:] if argv is None else argv))
    # The parent decides what an interrupt means; it ends this process if it must.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = _private_stdout()
    reporter = JsonLinesReporter()
    try:
        job = BenchJob.model_validate_json(sys.stdin.read())
        _pin(job.settings.cpus)
        from reef.bench.runner import execute, prepare

        prepared = prepare(job, reporter)
    except ValidationError as exc:
        error = ReefError(f"the worker was given an invalid job: {exc.errors()[0]['msg']}")
        json.dump(error.to_json() | {"exit_code": error.exit_code}, out)
        return error.exit_code
    except ReefError as exc:
        json.dump(exc.to_json() | {"exit_code": exc.exit_code}, out)
        return exc.exit_code
    record = execute(prepared, reporter)
    out.write(record.model_dump_json())
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
