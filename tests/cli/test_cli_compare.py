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
