"""``reef compare`` through the real CLI: the table, the verdicts, JSON, two real runs, and bad
input (exit 2, a clear message, nothing written). Every refusal, with and without ``--json``,
is checked in-process in ``tests/cli/test_cli_compare.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from e2e_support import Benched, Reef, assert_usage_error
from stored_runs import A, B, C, D, compare_state, compared, seed_home


@pytest.fixture(scope="module")
def compared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("compared") / "reef-home", compared())


@pytest.fixture
def seeded(reef: Reef, compared_home: Path) -> Reef:
    """A home holding A, B (A 1.3x slower), C (Offline, batch 8, no raw latencies) and D (a
    second run whose id starts like A's)."""
    shutil.copytree(compared_home, reef.home)
    return reef


def test_compare_prints_the_runs_side_by_side_and_a_verdict(seeded: Reef) -> None:
    result = seeded.ok("compare", "aaaa", "bbbb")
    out = result.stdout
    assert "A (baseline)" in out and "aaaa00000000" in out and "bbbb00000000" in out
    for row in ("batch_size", "p50 ms", "p99 ms", "throughput samples/s", "environment vs A"):
        assert row in out, out
    assert "hardware 1: cpu.model" in out
    (verdict,) = [line for line in out.splitlines() if line.startswith("B vs A:")]
    assert verdict.startswith("B vs A: B is 1.") and "x slower (" in verdict, out
    assert "Mann-Whitney" in out and "Cliff's delta" in out
    assert "warning" not in result.stderr


def test_compare_warns_of_different_scenarios_and_falls_back_to_percentiles(seeded: Reef) -> None:
    result = seeded.ok("compare", "aaaa", "bbbb", "cccc", "--metric", "p90")
    assert result.says(
        "warning:", "runs differ in scenario (A SingleStream, B SingleStream, C Offline)"
    )
    assert result.says("runs differ in batch size (A 1, B 1, C 8)")
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("C vs A:")]
    assert line == "C vs A: no clear difference", result.stdout
    assert "C kept no raw latencies" in result.stdout


def test_compare_json(seeded: Reef) -> None:
    result = seeded.ok("compare", "aaaa", "bbbb", "cccc", "--json", "--alpha", "0.01")
    data = result.json()
    assert data["alpha"] == 0.01 and data["baseline"] == "A"
    assert [r["id"] for r in data["runs"]] == [A, B, C]
    b, c = data["versus"]
    assert b["latency"]["method"] == "raw" and b["latency"]["verdict"] == "slower"
    assert b["latency"]["ci_low"] < 1.3 < b["latency"]["ci_high"]
    assert c["latency"]["method"] == "summary"
    batch = next(s for s in data["settings"] if s["name"] == "batch_size")
    assert batch == {"name": "batch_size", "values": [1, 1, 8], "differs": True}
    assert any("scenario" in w for w in data["warnings"])
    assert result.says("warning:", "scenario")  # on stderr too, stdout stays JSON


def test_compare_real_runs(benched: Benched) -> None:
    """Two real runs of the built-in classifier (SingleStream, MultiStream) with raw latencies."""
    single, multi = (r["id"] for r in benched.records)
    result = benched.reef.ok("compare", single[:10], multi[:10], "--json")
    data = result.json()
    (vs,) = data["versus"]
    assert vs["latency"]["method"] == "raw" and vs["latency"]["sentence"]
    assert data["runs"][0]["raw_latencies"] > 0
    assert vs["environment"]["identical"]
    assert any("scenario (A SingleStream, B MultiStream)" in w for w in data["warnings"])
    json.dumps(data, allow_nan=False)


# --- bad input: exit 2, a clear message, nothing written ------------------------------------------


def test_an_ambiguous_prefix_is_bad_input(seeded: Reef) -> None:
    before = compare_state(seeded)
    result = seeded("compare", "aaa", "bbbb")
    assert_usage_error(
        result,
        "'aaa' is ambiguous: 2 runs match",
        f"{A} (tiny@1.0, SingleStream, 2025-03-01 00:00)",
        f"{D} (tiny@1.0, SingleStream, 2025-03-01 00:06)",
    )
    assert result.stdout == ""
    assert compare_state(seeded) == before


def test_too_few_runs_in_an_empty_home_create_nothing(reef: Reef) -> None:
    assert_usage_error(reef("compare", "abc"), "at least two runs")
    assert not reef.home.exists()
