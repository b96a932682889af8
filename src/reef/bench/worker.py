"""Runs one benchmark job in a process of its own.

    python -m reef.bench.worker < job.json > record.json

Each scenario runs in a fresh process so that no LoadGen or predictor state leaks from one
scenario into the next, and so that a provisioned environment can run the job with its own
interpreter. Progress events go to stderr (see ``reef.bench.progress``). On bad input the
worker prints ``{"error": ...}`` and exits 2 before anything is measured.
"""

from __future__ import annotations

import json
import signal
import sys

from reef.bench.job import BenchJob
from reef.bench.progress import JsonLinesReporter
from reef.errors import ReefError


def main() -> int:
    # The parent decides what an interrupt means; it ends this process if it must.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    job = BenchJob.model_validate_json(sys.stdin.read())
    from reef.bench.runner import execute, prepare

    reporter = JsonLinesReporter()
    try:
        prepared = prepare(job, reporter)
    except ReefError as exc:
        json.dump(exc.to_json() | {"exit_code": exc.exit_code}, sys.stdout)
        return exc.exit_code
    record = execute(prepared, reporter)
    sys.stdout.write(record.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
