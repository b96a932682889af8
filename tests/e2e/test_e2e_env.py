"""reef env diff through the real CLI: two runs on one machine are identical; a fingerprint
file with a different package version shows it, grouped; bad input is exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_support import Benched, assert_usage_error


def test_two_runs_on_one_machine_are_identical(benched: Benched) -> None:
    a, b = (r["id"] for r in benched.records)
    result = benched.reef.ok("env", "diff", a[:8], b[:8])
    assert "identical environments" in result.stdout
    data = benched.reef.ok("env", "diff", a, b, "--json").json()
    assert data["identical"] is True and data["differences"] == []


def test_a_run_against_a_changed_fingerprint_file(benched: Benched, tmp_path: Path) -> None:
    run = benched.records[0]
    changed = json.loads(json.dumps(run["environment"]))
    software = changed["software"]
    software["reef-test-marker"] = "1.0"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(changed))
    data = benched.reef.ok("env", "diff", run["id"], str(path), "--json").json()
    assert data["identical"] is False
    assert {"group": "software", "key": "reef-test-marker", "a": None, "b": "1.0"} in data[
        "differences"
    ]
    table = benched.reef.ok("env", "diff", run["id"], str(path)).stdout
    assert "reef-test-marker" in table


def test_bad_input(benched: Benched, tmp_path: Path) -> None:
    assert_usage_error(benched.reef("env", "diff", "zzzz", "yyyy"), "zzzz")
    not_fp = tmp_path / "x.json"
    not_fp.write_text("[]")
    run_id = benched.records[0]["id"]
    assert_usage_error(benched.reef("env", "diff", run_id, str(not_fp)), "not a fingerprint")
