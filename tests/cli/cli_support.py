"""The ``reef`` command run in this Python: the same ``reef.cli.main`` that ``python -m reef``
runs (argument parsing, exit codes, the one-message errors and their JSON form), with argv,
stdin, stdout, stderr, the environment and the working directory swapped in and out through
Click's ``CliRunner`` isolation. A call costs milliseconds where a process costs a second of
imports, so the checks of options, formatting and refused input live here; ``tests/e2e`` keeps
the happy paths and the key error paths in real processes.

``InProcessReef`` has the interface of ``e2e_support.Reef`` (``cli(...)``, ``ok``, ``runs``,
``run_dirs``, ``assert_nothing_written``) and returns the same ``Result``; only ``popen`` (a
real process to signal) is not available.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from click.testing import CliRunner
from e2e_support import CLI_TIMEOUT_S, Reef, Result


class InProcessReef(Reef):
    """``reef.cli.main()`` in this process, with ``REEF_HOME`` pointing at ``home``."""

    def __call__(
        self, *args: str, timeout: float = CLI_TIMEOUT_S, env: dict[str, str] | None = None
    ) -> Result:
        from reef.cli import main

        # As in a fresh process: no REEF_ variable but REEF_HOME (and those the test sets).
        environ: dict[str, str | None] = {k: None for k in os.environ if k.startswith("REEF_")}
        environ.update({"REEF_HOME": str(self.home), **(env or {})})
        argv, cwd, sigterm = sys.argv, Path.cwd(), signal.getsignal(signal.SIGTERM)
        with CliRunner().isolation(env=environ) as (out, err, _):
            sys.argv = ["reef", *args]
            os.chdir(self.cwd)
            try:
                main()
                rc = 0  # main() always exits; returning is a bug the assertion below shows
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                sys.argv = argv
                os.chdir(cwd)
                signal.signal(signal.SIGTERM, sigterm)
            stdout = out.getvalue().decode()
            stderr = err.getvalue().decode("utf-8", "backslashreplace")
        return Result(tuple(args), rc, stdout, stderr)

    def popen(self, *args: str) -> object:
        raise NotImplementedError("in-process: signal a real process in tests/e2e instead")
