"""Ctrl-C while ``reef`` is still importing its CLI exits 130 without a traceback.

Before ``reef.__main__`` runs, Python itself is starting (site, runpy), and a Ctrl-C there is
Python's to report; so the signals are sent from twice a bare interpreter's start-up time on,
measured here, through the tenth of a second or more that importing the CLI takes.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import time

import pytest
from e2e_support import Reef


def _bare_startup_s() -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@pytest.mark.parametrize("command", [["runs", "list"], ["bench", "--help"], ["detect"]])
def test_ctrl_c_while_importing_exits_130_quietly(reef: Reef, command: list[str]) -> None:
    first = 2 * _bare_startup_s()
    for delay in (first, first + 0.03, first + 0.06, first + 0.1):
        proc = reef.popen(*command)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            continue  # it finished first: nothing to interrupt
        assert "Traceback" not in err, f"after {delay:.3f} s:\n{err}"
        assert proc.returncode == 130, f"after {delay:.3f} s: exit {proc.returncode}\n{err}"
        assert err.strip() in ("", "interrupted"), err
