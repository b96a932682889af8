"""Runs that are not valid: LoadGen says INVALID (exit 1, recorded with reasons), or the user
stops the benchmark with Ctrl-C (exit 130) or SIGTERM (exit 143; recorded as interrupted)."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import psutil
import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef, Watched, squash


def test_impossible_latency_bound_is_recorded_invalid(reef: Reef) -> None:
    result = reef(
        "bench",
        DIGITS_CLASSIFIER,
        *SHORT,
        "--scenario",
        "Server",
        "--mode",
        "performance",
        "--latency-bound-ms",
        "0.001",
        "--target-qps",
        "2000",
        "--json",
    )
    [record] = result.json()
    assert record["status"] == "invalid", record["reasons"]
    assert record["loadgen"]["result"] == "INVALID"
    assert any("latency constraint not met" in r for r in record["reasons"]), record["reasons"]
    assert record["loadgen"]["reasons"], record["loadgen"]
    assert record["performance"]["latency_ms"]["p99"] > 0.001  # measured, and honest about it
    assert result.says("invalid", "latency constraint not met")
    # recorded, with its reasons, and its LoadGen logs kept
    [listed] = reef.runs()
    assert listed["id"] == record["id"]
    assert listed["status"] == "invalid"
    assert listed["reasons"] == record["reasons"]
    assert reef.runs("--status", "invalid")[0]["id"] == record["id"]
    summary = reef.home / "runs" / record["id"] / "performance" / "mlperf_log_summary.txt"
    assert "INVALID" in summary.read_text()
    # the work ran but its result is not valid: exit 1
    assert result.rc == 1, str(result)


def _interrupt(reef: Reef, sig: signal.Signals, *extra: str) -> tuple[int, str, str, list[int]]:
    proc = reef.popen(
        "bench", DIGITS_CLASSIFIER, "--duration", "60", "--mode", "performance", *extra
    )
    watched = Watched(proc)
    watched.wait_until_measuring(settle_s=0.5)  # well into LoadGen's run
    children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    proc.send_signal(sig)
    rc, out, err = watched.finish()
    return rc, out, err, children


def _assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and _running(p)]
        if not alive:
            return
        time.sleep(0.1)
    pytest.fail(f"worker processes outlived reef: {alive}")


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_db_consistent(home: Path) -> None:
    with sqlite3.connect(home / "reef.db") as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_ctrl_c_records_interrupted_run_and_exits_130(reef: Reef) -> None:
    rc, out, err, children = _interrupt(reef, signal.SIGINT, "--json")
    assert rc == 130, f"exit {rc}\n{err}"
    assert "Traceback" not in err, err
    assert "interrupted" in err.lower()
    _assert_gone(children)
    [run] = reef.runs()
    assert run["status"] == "interrupted"
    assert any("SIGINT" in r for r in run["reasons"]), run["reasons"]
    assert run["target"]["name"] == DIGITS_CLASSIFIER
    assert run["settings"]["scenario"] == "SingleStream"
    assert run["id"] in squash(err)  # the message says which run was recorded
    # --json: the error is JSON on stdout too
    data = json.loads(out)
    assert data["error"] and "SIGINT" in data["message"]
    _assert_db_consistent(reef.home)


def test_sigterm_records_interrupted_run_and_exits_143(reef: Reef, tiny_onnx: Path) -> None:
    rc, _, err, children = _interrupt(reef, signal.SIGTERM)
    assert rc == 143, f"exit {rc}\n{err}"
    assert "Traceback" not in err, err
    _assert_gone(children)
    [run] = reef.runs()
    assert run["status"] == "interrupted"
    assert any("SIGTERM" in r for r in run["reasons"]), run["reasons"]
    _assert_db_consistent(reef.home)
    # the store is still usable: a new benchmark runs and is recorded next to it
    after = reef("bench", str(tiny_onnx), *SHORT, "--mode", "performance", "--json")
    assert after.rc == 0, str(after)
    [record] = after.json()
    assert record["status"] == "valid"
    listed = reef.runs()
    assert [r["id"] for r in listed] == [record["id"], run["id"]]
    assert [r["status"] for r in listed] == ["valid", "interrupted"]
    shown = reef.ok("runs", "show", run["id"][:12], "--json").json()
    assert shown["status"] == "interrupted"
    _assert_db_consistent(reef.home)


def test_a_worker_killed_mid_run_is_recorded_failed_and_exits_1(reef: Reef) -> None:
    proc = reef.popen(
        "bench", DIGITS_CLASSIFIER, "--duration", "60", "--mode", "performance", "--json"
    )
    watched = Watched(proc)
    watched.wait_until_measuring(settle_s=0.5)  # well into LoadGen's run
    [worker] = psutil.Process(proc.pid).children(recursive=True)
    worker.send_signal(signal.SIGKILL)
    rc, out, err = watched.finish()

    assert rc == 1, f"exit {rc}\n{err}"
    assert "Traceback" not in err, err
    [run] = reef.runs()
    assert run["status"] == "failed"
    assert any("killed by signal 9" in r for r in run["reasons"]), run["reasons"]
    assert json.loads(out)[0]["id"] == run["id"]
    assert (reef.home / "runs" / run["id"] / "record.json").is_file()
    _assert_db_consistent(reef.home)


def test_an_unusable_database_fails_before_measuring(reef: Reef) -> None:
    result = reef(
        "bench",
        DIGITS_CLASSIFIER,
        *SHORT,
        "--json",
        env={"REEF_DB_URL": "postgresql://reef:secret@127.0.0.1:1/reef"},
    )
    # The database (its driver here, or its server) failed, not the input: exit 3.
    assert result.rc == 3, str(result)
    assert squash("results database") in squash(result.stderr)
    assert "secret" not in result.stderr + result.stdout
    assert json.loads(result.stdout)["error"] == "StoreError"
    assert not (reef.home / "runs").exists()
