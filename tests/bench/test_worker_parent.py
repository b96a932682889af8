"""The benchmark worker dies with the process that started it, however that process dies.

A stand-in parent starts ``python -m reef.bench.worker`` as ``run_in_worker`` does; the test
holds the worker's stdin open itself, so that the worker stays busy (reading its job) after
the stand-in is killed and only the parent-death arrangement can end it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from reef.bench import launch, worker

GONE_WITHIN_S = 3.0

# The stand-in parent: starts the worker with the given stdin (and --parent-pid unless the
# first argument is "by-hand"), prints its PID, waits.
STAND_IN = """
import os, subprocess, sys
by_hand = sys.argv[2] == "by-hand"
prefix = sys.argv[3:]
fd = int(sys.argv[1])
command = [sys.executable, *prefix, *([] if by_hand else ["--parent-pid", str(os.getpid())])]
child = subprocess.Popen(command, stdin=fd, stdout=subprocess.DEVNULL, pass_fds=(fd,))
print(child.pid, flush=True)
child.wait()
"""

# A worker that cannot use prctl: the polling thread must do the work instead.
NO_PRCTL = (
    "import sys; import reef.bench.worker as w; w._set_pdeathsig = lambda: False; "
    "sys.exit(w.main(sys.argv[1:]))"
)


@pytest.fixture
def held_stdin() -> Iterator[int]:
    """The read end of a pipe whose write end this test keeps open: a worker reading its job
    from it waits for as long as the test runs."""
    read, write = os.pipe()
    try:
        yield read
    finally:
        os.close(read)
        os.close(write)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start_under_stand_in(
    stdin: int, *worker_args: str, by_hand: bool = False
) -> tuple[subprocess.Popen[str], int]:
    how = "by-hand" if by_hand else "launcher"
    parent = subprocess.Popen(
        [sys.executable, "-c", STAND_IN, str(stdin), how, *worker_args],
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(stdin,),
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    return parent, pid


def _kill_and_expect_gone(parent: subprocess.Popen[str], worker_pid: int) -> None:
    time.sleep(0.5)  # the worker is past its start, waiting for a job
    assert _alive(worker_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + GONE_WITHIN_S
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(worker_pid):
        os.kill(worker_pid, signal.SIGKILL)
        pytest.fail(f"the worker outlived its parent by more than {GONE_WITHIN_S} s")


@pytest.mark.parametrize(
    "interpreter_args",
    [
        ["-m", launch.WORKER],
        ["-I", "-m", launch.WORKER],  # as a provisioned environment's interpreter runs it
    ],
)
def test_worker_dies_when_its_parent_is_killed(
    held_stdin: int, interpreter_args: list[str]
) -> None:
    parent, pid = _start_under_stand_in(held_stdin, *interpreter_args)
    _kill_and_expect_gone(parent, pid)


def test_without_prctl_a_thread_watches_the_parent(held_stdin: int) -> None:
    parent, pid = _start_under_stand_in(held_stdin, "-c", NO_PRCTL)
    _kill_and_expect_gone(parent, pid)


def test_a_worker_started_by_hand_outlives_its_parent(held_stdin: int) -> None:
    # python -m reef.bench.worker < job.json > record.json, from a shell that may exit.
    parent, pid = _start_under_stand_in(held_stdin, "-m", launch.WORKER, by_hand=True)
    time.sleep(0.5)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(1.0)
    try:
        assert _alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits_at_once(held_stdin: int) -> None:
    # The PID the launcher passed is not this worker's parent: the launcher died before the
    # worker could arrange to die with it.
    proc = subprocess.run(
        [sys.executable, "-m", launch.WORKER, worker.PARENT_OPTION, str(2**22 + 1)],
        stdin=held_stdin,
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stdout == b""


def test_the_launcher_passes_its_pid_to_every_worker() -> None:
    pid = str(os.getpid())
    assert launch.worker_command() == [sys.executable, "-m", launch.WORKER, "--parent-pid", pid]
    # A provisioned environment's interpreter runs the same worker module, so it arranges the
    # same thing itself.
    assert launch.worker_command("/envs/x/bin/python") == [
        "/envs/x/bin/python", "-I", "-m", launch.WORKER, "--parent-pid", pid,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], None),
        (["--parent-pid", "42"], 42),
        (["--parent-pid"], None),
        (["--parent-pid", "x"], None),
    ],
)
def test_parent_pid_option(argv: list[str], expected: int | None) -> None:
    assert worker._parent_pid(argv) == expected
