"""The store and the worker when the machine misbehaves, in real processes: a REEF_HOME whose
disk fills up during a benchmark (a 2 MB tmpfs), a read-only REEF_HOME (a read-only bind
mount), a ``reef bench`` killed with ``kill -9`` (its worker must not outlive it), and SIGTERM
while a finished run is being saved. Mounting needs root; where it is not permitted those
tests are skipped and the in-process ones (tests/cli/test_cli_hardening_store.py,
tests/results/test_hardening_*.py) cover the same paths through seams."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef, Watched, fill_disk

GONE_WITHIN_S = 3.0


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} is not permitted here: {done.stderr.strip()}")


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """``mount(*args)``: ``mount`` with these arguments, undone after the test (skipped where
    mounting is not permitted)."""
    targets: list[str] = []

    def mount(*args: str) -> None:
        _mount(*args)
        targets.append(args[-1])

    yield mount
    for target in reversed(targets):
        subprocess.run(["umount", "-l", target], check=False)


# --- a full disk at save ---------------------------------------------------------------------


def _bench_until_the_disk_is_full(reef: Reef, mount: Callable[..., None]) -> tuple[int, str, str]:
    reef.home.mkdir()
    mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(reef.home))
    # Long enough to fill the disk while it measures, with raw latencies to save.
    proc = reef.popen(
        "bench", DIGITS_CLASSIFIER, "--duration", "2", "--mode", "performance",
        "--raw-latencies", "--json",
    )  # fmt: skip
    watched = Watched(proc)
    watched.wait_until_measuring()
    fill_disk(reef.home)
    return watched.finish()


def test_a_full_disk_keeps_the_record_elsewhere_for_runs_import(
    reef: Reef, mounts: Callable[..., None], tmp_path: Path
) -> None:
    fallback_tmp = tmp_path / "tmp"
    fallback_tmp.mkdir()
    reef.env["TMPDIR"] = str(fallback_tmp)
    rc, out, err = _bench_until_the_disk_is_full(reef, mounts)

    assert rc == 3, f"exit {rc}\n{err}"
    assert "Traceback" not in err, err
    error = json.loads(out)
    assert error["error"] == "RecordNotStored"
    run_id = error["run_id"]
    [kept] = list(fallback_tmp.glob(f"reef-unsaved-runs-*/{run_id}/record.json"))
    assert error["kept_at"] == str(kept)
    assert f"its record is kept in {kept}" in err.replace("\n", "")
    assert not (reef.home / "runs" / run_id / "record.json").exists()  # no 0-byte file

    (reef.home / "filler").unlink()  # space freed
    imported = reef.ok("runs", "import", str(kept.parent.parent), "--json").json()
    assert imported["imported"] == 1
    assert imported["runs"][0]["id"] == run_id
    [run] = reef.runs()
    assert run["id"] == run_id
    again = reef.ok("runs", "import", str(kept), "--json").json()
    assert (again["imported"], again["already_stored"]) == (0, 1)


def test_a_disk_full_before_the_benchmark_fails_it_before_measuring(
    reef: Reef, mounts: Callable[..., None], tiny_onnx: Path
) -> None:
    reef.home.mkdir()
    mounts("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(reef.home))
    reef.runs()  # the database is made
    fill_disk(reef.home)
    # A bare ONNX file: no component index to open on the full disk first.
    result = reef("bench", str(tiny_onnx), *SHORT)
    assert result.rc == 3, str(result)  # the environment failed, not the input
    assert "Traceback" not in result.stderr
    assert result.says(
        f"error: results database sqlite:///{reef.home}/reef.db is read-only (its disk "
        "failed: disk I/O error): cannot record runs",
        "hint: free some space on its disk (or fix it); reading runs works",
    )
    assert "performance" not in result.stderr
    assert reef.run_dirs() == []
    assert reef.runs() == []  # reading still works on the full disk

    (reef.home / "filler").unlink()
    reef.ok("bench", str(tiny_onnx), *SHORT)
    assert len(reef.runs()) == 1


# --- a read-only REEF_HOME -------------------------------------------------------------------


def test_a_read_only_home_is_read_and_not_written(
    reef: Reef, mounts: Callable[..., None], tmp_path: Path
) -> None:
    writable = Reef(tmp_path / "writable-home", reef.cwd)
    [record] = writable.ok(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--mode", "performance", "--json"
    ).json()
    reef.home.mkdir()
    mounts("--bind", str(writable.home), str(reef.home))
    mounts("-o", "remount,ro,bind", str(reef.home))

    [listed] = reef.runs()
    assert listed["id"] == record["id"]
    assert reef.ok("runs", "show", record["id"][:8], "--json").json()["id"] == record["id"]
    assert record["id"][:12] in reef.ok("board").stdout

    refused = reef("bench", DIGITS_CLASSIFIER, *SHORT)
    assert refused.rc == 3, str(refused)
    assert refused.says(
        f"results database sqlite:///{reef.home}/reef.db is read-only (the folder {reef.home} "
        "is on a read-only file system): cannot record runs"
    )
    assert "performance" not in refused.stderr  # refused before measuring


# --- the worker dies with a reef killed with kill -9 -----------------------------------------


def test_the_worker_dies_with_a_reef_killed_with_kill_9(reef: Reef) -> None:
    proc = reef.popen("bench", DIGITS_CLASSIFIER, "--duration", "30", "--mode", "performance")
    watched = Watched(proc)
    watched.wait_until_measuring()
    [worker] = psutil.Process(proc.pid).children(recursive=True)
    assert "reef.bench.worker" in " ".join(worker.cmdline())

    proc.send_signal(signal.SIGKILL)
    watched.finish()
    deadline = time.monotonic() + GONE_WITHIN_S
    while _alive(worker.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(worker.pid):
        worker.kill()
        pytest.fail(f"the worker outlived reef by more than {GONE_WITHIN_S} s")


# --- SIGTERM while the finished run is saved -------------------------------------------------

# reef, with SIGTERM sent to it from outside (as `kill` would) just as the run is stored.
SIGTERM_DURING_SAVE = """
import os, signal, subprocess, sys
from reef.results import Store

add = Store.add

def add_then_sigterm(self, record):
    subprocess.run(["kill", "-TERM", str(os.getpid())], check=True)
    add(self, record)

Store.add = add_then_sigterm
sys.argv = ["reef", *sys.argv[1:]]
from reef.cli import main
main()
"""


def test_sigterm_during_the_save_says_the_run_finished_and_was_stored(
    reef: Reef, tiny_onnx: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_SAVE, "bench", str(tiny_onnx), *SHORT, "--json"],
        env=reef.env,
        cwd=reef.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 143, proc.stderr
    [run] = reef.runs()
    assert run["status"] == "valid"
    error = json.loads(proc.stdout)
    assert error["message"] == (
        f"run {run['id']} finished and was stored as valid; then interrupted by SIGTERM"
    )
    assert error["finished"] == {run["id"]: "valid"}
