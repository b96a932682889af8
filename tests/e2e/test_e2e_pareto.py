"""``reef pareto`` through the real CLI: the tables, JSON, and bad input (exit 2). Every bad
input, with and without ``--json``, is checked in-process in ``tests/cli/test_cli_pareto.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from e2e_support import Reef, assert_usage_error
from stored_runs import pareto_runs, seed_home


@pytest.fixture(scope="module")
def pareto_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("pareto") / "reef-home", pareto_runs())


@pytest.fixture
def seeded(reef: Reef, pareto_home: Path) -> Reef:
    shutil.copytree(pareto_home, reef.home)
    return reef


def test_pareto_prints_the_frontier_and_the_dominated(seeded: Reef) -> None:
    result = seeded.ok("pareto", "--objective", "latency_p90:min", "--objective", "accuracy:max")
    out = result.stdout
    assert "Pareto frontier: 2 of 3 runs" in out
    assert out.index("aaaa00000000") < out.index("bbbb00000000") < out.index("Dominated")
    (row,) = [line for line in out.splitlines() if "cccc00000000" in line]
    assert "bbbb00000000" in row
    assert "1 selected run left out" in result.stderr


def test_pareto_json(seeded: Reef) -> None:
    data = seeded.ok("pareto", "-o", "latency_p90:min", "-o", "accuracy:max", "--json").json()
    assert [r["id"][:4] for r in data["frontier"]] == ["aaaa", "bbbb"]
    assert data["dominated"][0]["dominated_by"] == ["bbbb" + "0" * 28]
    assert data["missing"] == {"accuracy": 1} and data["selected"] == 4


def test_pareto_bad_input_exits_2(seeded: Reef) -> None:
    result = seeded("pareto", "-o", "speed:min", "-o", "accuracy:max")
    assert_usage_error(result, "unknown metric 'speed'", "latency_p90")
