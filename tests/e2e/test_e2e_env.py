"""reef env diff through the real CLI: two runs on one machine are identical. A fingerprint
file with a different package version, and bad input, are checked in-process in
``tests/cli/test_cli_env.py``."""

from __future__ import annotations

from e2e_support import Benched, Reef


def test_two_runs_on_one_machine_are_identical(benched: Benched) -> None:
    a, b = (r["id"] for r in benched.records)
    result = benched.reef.ok("env", "diff", a[:8], b[:8])
    assert "identical environments" in result.stdout
    data = benched.reef.ok("env", "diff", a, b, "--json").json()
    assert data["identical"] is True and data["differences"] == []


def test_env_check_reports_every_source_of_noise(reef: Reef) -> None:
    result = reef("env", "check", "--json")
    assert result.rc == 0, str(result)
    data = result.json()
    names = [c["name"] for c in data["checks"]]
    for expected in ("other busy processes", "CPU frequency governor", "turbo boost", "swap"):
        assert expected in names
    for c in data["checks"]:
        assert c["status"] in ("ok", "warning", "unknown")
        assert c["found"]
        assert (c["advice"] is not None) == (c["status"] == "warning")
    assert data["noisy"] == any(c["status"] == "warning" for c in data["checks"])
    table = reef("env", "check")
    assert table.rc == 0 and "turbo boost" in table.stdout
    reef.assert_nothing_written()
