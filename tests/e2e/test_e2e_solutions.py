"""Solutions through the real CLI: reef run (and its cache), reef validate of a solution and
of runs, reef bench of a solution, a failing check, and reef cache list / clean. The refusals
(validating a run no solution made among them) and the empty cache are checked in-process in
``tests/cli/test_cli_solutions.py``."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import DIGITS_CLASSIFIER, Reef, Result

import reef as reef_pkg

SOLUTION = "digits-classification"
STEPS = ["fetch", "detect", "bench", "validate"]
BUILTIN_SOLUTION = Path(reef_pkg.__file__).parent / "builtin" / SOLUTION


@dataclass
class Solved:
    """``reef run digits-classification`` twice in one home, and what each left."""

    reef: Reef
    first: Result
    runs_after_first: list[dict[str, Any]]
    second: Result
    runs_after_second: list[dict[str, Any]]

    @property
    def record(self) -> dict[str, Any]:
        data = self.second.json()
        assert isinstance(data, dict), str(self.second)
        return data

    def bench_runs(self) -> list[str]:
        [bench] = [s for s in self.record["steps"] if s["name"] == "bench"]
        runs: list[str] = bench["runs"]
        return runs


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Solved:
    base = tmp_path_factory.mktemp("solved")
    work = base / "work"
    work.mkdir()
    cli = Reef(base / "reef-home", work)
    first = cli.ok("run", SOLUTION)
    after_first = cli.runs()
    second = cli.ok("run", SOLUTION, "--json")
    return Solved(cli, first, after_first, second, cli.runs())


@pytest.fixture
def strict(reef: Reef, tmp_path: Path) -> str:
    """A copy of the built-in solution, short and with a latency bound no machine meets, in a
    repository of its own; returns its name."""
    root = tmp_path / "lab"
    target = root / "digits-strict"
    shutil.copytree(BUILTIN_SOLUTION, target)
    manifest = target / "reef.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["name"] = "digits-strict"
    data["bench"]["scenarios"] = ["SingleStream"]
    data["bench"]["settings"] = {"duration_s": 0.3, "raw_latencies": True}
    data["checks"] = [
        {"uses": "accuracy", "with": {"fraction": 0.5}},
        {
            "uses": "latency",
            "with": {"percentile": "p90", "max_ms": 0.000001, "scenario": "SingleStream"},
        },
    ]
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    reef.ok("repo", "add", str(root))
    return "digits-strict"


# --- reef run -------------------------------------------------------------------------------


def test_run_prints_the_step_table(solved: Solved) -> None:
    out = solved.first.stdout
    assert f"{SOLUTION}@1.0.0" in out
    for step in STEPS:
        assert step in out
    assert out.count(" ok ") >= len(STEPS), out
    assert "cached" not in out
    assert solved.first.says("record:", str(solved.reef.home / "runs"))
    assert len(solved.runs_after_first) == 2  # SingleStream and Offline


def test_a_second_run_is_all_cached_and_benchmarks_nothing(solved: Solved) -> None:
    record = solved.record
    assert record["status"] == "ok"
    assert [s["name"] for s in record["steps"]] == STEPS
    assert {s["name"]: s["status"] for s in record["steps"]} == dict.fromkeys(STEPS, "cached")
    assert len(solved.runs_after_second) == len(solved.runs_after_first)
    assert sorted(solved.bench_runs()) == sorted(r["id"] for r in solved.runs_after_first)
    # both runs are tracked
    assert len([d for d in solved.reef.run_dirs() if len(d) == 32]) >= 2


def test_the_bench_runs_of_a_solution_name_it(solved: Solved) -> None:
    for run_id in solved.bench_runs():
        record = solved.reef.ok("runs", "show", run_id, "--json").json()
        assert record["solution"]["name"] == SOLUTION
        assert record["solution"]["step"] == "bench"
        assert record["solution"]["run"]
        assert record["target"]["kind"] == "solution"


# --- reef validate --------------------------------------------------------------------------


def test_validate_the_solution(solved: Solved) -> None:
    result = solved.reef("validate", SOLUTION)
    assert result.rc == 0, str(result)
    assert "PASS" in result.stdout
    assert "FAIL" not in result.stdout
    assert "checks passed" in result.stdout


def test_validate_a_bench_run_made_by_the_solution_checks_what_was_recorded(
    solved: Solved,
) -> None:
    run_id = solved.bench_runs()[0]
    before = solved.reef.runs()
    [scenario] = [r["settings"]["scenario"] for r in before if r["id"] == run_id]
    result = solved.reef("validate", run_id[:12], "--json")
    assert result.rc in (0, 1), str(result)
    data = result.json()
    assert data["solution"] == f"{SOLUTION}@1.0.0"
    # Every run of the `reef run` it came from is checked, so no check lacks its scenario.
    assert set(data["runs"]) == set(solved.bench_runs())
    ran = [c for c in data["checks"] if scenario in c["subject"]]
    assert ran and all(c["passed"] for c in ran), data["checks"]
    assert len(solved.reef.runs()) == len(before)  # checked what was recorded; measured nothing


def test_validate_a_bench_run_made_by_the_solution_passes(solved: Solved) -> None:
    result = solved.reef("validate", solved.bench_runs()[0][:12])
    assert result.rc == 0, str(result)
    assert "PASS" in result.stdout
    assert "FAIL" not in result.stdout


def test_validate_a_solution_run(solved: Solved) -> None:
    result = solved.reef("validate", solved.record["id"][:12])
    assert result.rc == 0, str(result)
    assert "PASS" in result.stdout


def test_validate_a_failing_check(reef: Reef, strict: str) -> None:
    result = reef("validate", strict)
    assert result.rc == 1, str(result)
    assert "Traceback" not in result.stderr
    assert "FAIL" in result.stdout
    assert "PASS" in result.stdout  # accuracy still passes
    assert "failed" in result.stdout


# --- reef bench of a solution ---------------------------------------------------------------


def test_bench_a_solution(solved: Solved) -> None:
    result = solved.reef.ok("bench", SOLUTION, "--duration", "0.5", "--json")
    records = result.json()
    assert sorted(r["settings"]["scenario"] for r in records) == ["Offline", "SingleStream"]
    for record in records:
        assert record["solution"]["name"] == SOLUTION
        assert record["solution"]["version"] == "1.0.0"
        assert record["solution"]["run"] is None  # not a step of a reef run
        assert record["lock"], "a solution's run keeps the lock it was made from"
        assert record["lock"]["root"] == SOLUTION
        assert record["target"]["kind"] == "solution"
        assert record["target"]["name"] == DIGITS_CLASSIFIER
        assert record["settings"]["duration_s"] == pytest.approx(0.5)


# --- a failing step, and the cache ----------------------------------------------------------


def test_a_run_whose_checks_fail_exits_1_and_caches_what_passed(reef: Reef, strict: str) -> None:
    result = reef("run", strict, "--json")
    assert result.rc == 1, str(result)
    assert "Traceback" not in result.stderr
    assert result.says("'validate'", "its log:")
    record = json.loads(result.stdout)  # one document: the run's record
    assert record["status"] == "failed"
    statuses = {s["name"]: s["status"] for s in record["steps"]}
    assert statuses == {"fetch": "ok", "detect": "ok", "bench": "ok", "validate": "failed"}
    [validate] = [s for s in record["steps"] if s["name"] == "validate"]
    log = Path(validate["log"])
    assert log.is_relative_to(reef.home / "runs" / record["id"] / "steps" / "validate")
    assert "FAIL" in log.read_text()

    listed = reef.ok("cache", "list", "--json").json()
    assert sorted(e["step"] for e in listed) == ["bench", "detect", "fetch"]
    assert {e["solution"] for e in listed} == {f"{strict}@1.0.0"}

    dry = reef.ok("cache", "clean", "--all", "--dry-run", "--json").json()
    assert dry["dry_run"] is True and len(dry["removed"]) == 3
    assert len(reef.ok("cache", "list", "--json").json()) == 3

    removed = reef.ok("cache", "clean", "--all", "--json").json()
    assert removed["dry_run"] is False
    assert sorted(e["step"] for e in removed["removed"]) == ["bench", "detect", "fetch"]
    assert reef.ok("cache", "list", "--json").json() == []


def test_a_failed_run_prints_one_json_document(reef: Reef, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    data = {
        "kind": "solution",
        "name": "mine",
        "version": "1.0.0",
        "steps": [{"name": "boom", "uses": "shell", "with": {"run": "exit 3"}}],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = reef("run", str(folder), "--json")
    assert result.rc == 1, str(result)
    record = result.json()
    assert record["status"] == "failed"


def test_a_failing_shell_step_of_the_users_own_solution(reef: Reef, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    data = {
        "kind": "solution",
        "name": "mine",
        "version": "1.0.0",
        "steps": [
            {"name": "boom", "uses": "shell", "with": {"run": "echo going-down; exit 3"}},
            {"name": "after", "uses": "shell", "needs": ["boom"], "with": {"run": "true"}},
        ],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = reef("run", str(folder))
    assert result.rc == 1, str(result)
    assert "Traceback" not in result.stderr
    assert result.says("'boom'", "status 3", "going-down", "its log:", "not run: after")
    assert "skipped" in result.stdout
    assert reef.ok("cache", "list", "--json").json() == []
