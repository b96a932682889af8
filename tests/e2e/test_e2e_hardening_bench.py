"""Issue 13, items 5 and 6, through real processes: a refusal in the parent, one in the worker
(where a bare ONNX file's input sizes are first known), and a job that reaches the worker on
stdin without passing the CLI. Each is exit 2 with one message, and nothing is recorded. The
other cases run in-process in ``tests/cli/test_cli_hardening_bench.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from e2e_support import SHORT, Reef, assert_json_error, assert_usage_error, sha256


def test_threads_refused_before_the_worker(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), *SHORT, "--threads", "100000", "--json")
    assert_usage_error(result, "--threads 100000", "per usable core")
    assert_json_error(result, "--threads 100000")
    assert "loading" not in result.stderr  # no worker started
    reef.assert_nothing_written()


def test_batch_refused_by_the_worker_before_measuring(reef: Reef, tiny_onnx: Path) -> None:
    result = reef(
        "bench", str(tiny_onnx), *SHORT, "-s", "Offline", "--batch-size", "1000000000", "--json"
    )
    assert_usage_error(result, "--batch-size 1,000,000,000", "768 bytes each", "memory available")
    assert_json_error(result, "--batch-size 1,000,000,000")
    assert "warm-up" not in result.stderr
    reef.assert_nothing_written(list_runs=True)


def test_worker_refuses_a_job_it_cannot_run(reef: Reef, tiny_onnx: Path) -> None:
    run_dir = reef.home / "runs" / "r1"
    job = {
        "run_id": "r1",
        "run_dir": str(run_dir),
        "target": {
            "kind": "onnx",
            "name": "tiny",
            "path": str(tiny_onnx),
            "sha256": sha256(tiny_onnx),
        },
        "model_path": str(tiny_onnx),
        "settings": {"threads": 100000, "duration_s": 0.3},
    }
    proc = subprocess.run(
        [sys.executable, "-m", "reef.bench.worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=reef.env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stdout)
    assert "threads 100000: at most" in error["message"]
    assert not run_dir.exists()
