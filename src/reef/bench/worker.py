"""Runs one benchmark job in a process of its own.

    python -m reef.bench.worker < job.json > record.json

Each scenario runs in a fresh process so that no LoadGen or predictor state leaks from one
scenario into the next, and so that a provisioned environment can run the job with its own
interpreter. Progress events go to stderr (see ``reef.bench.progress``). On bad input the
worker prints ``{"error": ...}`` and exits 2 before anything is measured.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import IO

from pydantic import ValidationError

from reef.bench.job import BenchJob
from reef.bench.progress import JsonLinesReporter
from reef.errors import ReefError


def _private_stdout() -> IO[str]:
    """The record's channel: the real stdout, with fd 1 pointed at stderr from now on, so
    that whatever native code prints cannot corrupt the JSON."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return out


def main() -> int:
    # The parent decides what an interrupt means; it ends this process if it must.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = _private_stdout()
    reporter = JsonLinesReporter()
    try:
        job = BenchJob.model_validate_json(sys.stdin.read())
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
