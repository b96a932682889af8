"""reef env diff through the real CLI: two runs on one machine are identical. A fingerprint
file with a different package version, and bad input, are checked in-process in
``tests/cli/test_cli_env.py``."""

from __future__ import annotations

from e2e_support import Benched


def test_two_runs_on_one_machine_are_identical(benched: Benched) -> None:
    a, b = (r["id"] for r in benched.records)
    result = benched.reef.ok("env", "diff", a[:8], b[:8])
    assert "identical environments" in result.stdout
    data = benched.reef.ok("env", "diff", a, b, "--json").json()
    assert data["identical"] is True and data["differences"] == []
