"""Ctrl-C while ``reef`` is still importing its CLI exits 130 without a traceback.

Before ``reef.__main__`` runs, Python itself is starting (site, runpy), and a Ctrl-C there is
Python's to report; so the signals are sent from twice a bare interpreter's start-up time on,
measured here, through the tenth of a second or more that importing the CLI takes, and a
traceback made only of the interpreter's own frozen start-up frames is let pass.
"""

from __future__ import annotations

import re
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


def _only_python_starting(err: str) -> bool:
    """A KeyboardInterrupt traceback whose every frame is the interpreter's own frozen start-up
    code (site, runpy, importlib): no file of Reef's, nor of any package, had begun to run."""
    frames = re.findall(r'File "([^"]+)"', err)
    return bool(frames) and all(f.startswith("<frozen ") for f in frames)


@pytest.mark.parametrize("command", [["runs", "list"], ["bench", "--help"], ["detect"]])
def test_ctrl_c_while_importing_exits_130_quietly(reef: Reef, command: list[str]) -> None:
    reef.ok("--version")  # a fresh checkout compiles its .pyc files on the first run
    first = 2 * _bare_startup_s() + 0.01
    for delay in (first, first + 0.03, first + 0.06, first + 0.1):
        proc = reef.popen(*command)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            continue  # it finished first: nothing to interrupt
        if _only_python_starting(err):
            continue  # too early for any code of Reef's: the interpreter was still starting
        assert "Traceback" not in err, f"after {delay:.3f} s:\n{err}"
        # 130, or killed by SIGINT itself (the shell's 130) when it came as Python exited.
        assert proc.returncode in (130, -signal.SIGINT), (
            f"after {delay:.3f} s: exit {proc.returncode}\n{err}"
        )
        assert err.strip() in ("", "interrupted"), err
