"""``reef compare``'s refusals in-process (see ``cli_support``): exit 2, a clear message,
nothing written, and with ``--json`` a JSON error. The table, the verdicts and the JSON report
run as real processes in ``tests/e2e/test_e2e_compare.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error
from stored_runs import A, D, compare_state, compared, seed_home


@pytest.fixture(scope="module")
def compared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("compared") / "reef-home", compared())


@pytest.fixture
def seeded(cli: InProcessReef, compared_home: Path) -> InProcessReef:
    """A home holding A, B (A 1.3x slower), C (Offline, batch 8, no raw latencies) and D (a
    second run whose id starts like A's)."""
    shutil.copytree(compared_home, cli.home)
    return cli


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((), ("compare needs at least two runs, got none",)),
        (("aaaa",), ("compare needs at least two runs, got only 'aaaa'",)),
        (("aaaa", "ffff"), ("no run matches 'ffff'", "reef runs list")),
        (
            ("aaa", "bbbb"),
            ("'aaa' is ambiguous: 2 runs match", f"{A} (tiny@1.0, SingleStream, 2025-03-01 00:00)",
             f"{D} (tiny@1.0, SingleStream, 2025-03-01 00:06)"),
        ),
        (("aaaa", A), (f"run {A} is given twice ('aaaa' and '{A}')",)),
        (("aaaa", "bbbb", "--metric", "p42"),
         ("no latency statistic 'p42'", "they have: min, mean, p50, p90, p95, p99, max")),
        (("aaaa", "bbbb", "--alpha", "1"), ("--alpha must be between 0 and 1, got 1",)),
        (("aaaa", "bbbb", "--tolerance", "-0.5"), ("--tolerance must be a fraction",)),
    ],
)  # fmt: skip
def test_bad_input(
    seeded: InProcessReef, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    before = compare_state(seeded)
    result = seeded("compare", *args)
    assert_usage_error(result, *fragments)
    assert result.stdout == ""
    assert compare_state(seeded) == before


def test_bad_input_with_json_is_a_json_error(seeded: InProcessReef) -> None:
    result = seeded("compare", "aaa", "bbbb", "--json")
    assert result.rc == 2
    data = assert_json_error(result, "'aaa' is ambiguous", f"{A} (tiny@1.0, SingleStream")
    assert data["error"] == "RunNotFound"
    result = seeded("compare", "aaaa", "bbbb", "--metric", "p42", "--json")
    assert result.rc == 2
    data = assert_json_error(result, "'p42'", "they have: min, mean, p50")
    assert data["error"] == "CompareError"


def test_too_few_runs_in_an_empty_home_create_nothing(cli: InProcessReef) -> None:
    assert_usage_error(cli("compare", "abc"), "at least two runs")
    assert not cli.home.exists()


def test_repeated_and_busy_runs_get_the_one_rules_verdicts(cli: InProcessReef) -> None:
    """Runs of several processes are compared process by process; a busy one is
    inconclusive, with its cause, what to do, and the exit code still 0 (compare reports)."""
    from factories import LATENCY_MS, run_record
    from reef.meta.run import Interference, Latency, ProcessRun

    def repeated(run_id: str, p50s: list[float], busy: bool = False) -> object:
        record = run_record(
            run_id,
            interference=Interference(
                cpus=[0], seconds=1.0, busy=busy,
                reason="other processes used 50% of the run's 1 CPU" if busy else "quiet",
            ),
        )  # fmt: skip
        record.processes = [
            ProcessRun(
                index=i,
                status="valid",
                latency_ms=Latency(**(LATENCY_MS | {"p50": p})),
                queries=100,
            )
            for i, p in enumerate(p50s, start=1)
        ]
        return record

    seed_home(
        cli.home,
        [
            repeated("a" * 32, [1.0, 1.01, 0.99, 1.0]),
            repeated("b" * 32, [1.3, 1.31, 1.29, 1.3]),
            repeated("c" * 32, [1.0, 1.0, 1.0, 1.0], busy=True),
        ],  # type: ignore[list-item]
    )
    result = cli("compare", "aaaa", "bbbb", "cccc")
    assert result.rc == 0, str(result)
    assert "B vs A: B is 1.30x slower (" in result.stdout and "4 vs 4 processes" in result.stdout
    assert "C vs A: inconclusive: C was measured on a busy machine" in result.stdout
    assert "what to do: measure again on a quieter machine" in result.stdout
    data = cli("compare", "aaaa", "bbbb", "cccc", "--json").json()
    verdicts = [v["decision"]["verdict"] for v in data["versus"]]
    assert verdicts == ["differs", "inconclusive"]
    assert data["versus"][0]["decision"]["unit"] == "process"
