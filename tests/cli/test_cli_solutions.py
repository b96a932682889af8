"""Solutions' refusals and the empty cache, in-process (see ``cli_support``): ``reef run`` of
what is not a solution or of an unknown step, ``reef validate`` of something unknown or of a run
no solution made, ``reef check`` refusing what ``reef run`` refuses, ``reef reproduce`` of an
unknown run, and ``reef cache`` list / clean. Running solutions (and their failures) is checked
with real processes in ``tests/e2e/test_e2e_solutions.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import DIGITS_CLASSIFIER, assert_usage_error
from stored_runs import LISTED, seed_home

SOLUTION = "digits-classification"


def test_run_of_something_that_is_not_a_solution(cli: InProcessReef) -> None:
    result = cli("run", DIGITS_CLASSIFIER)
    assert_usage_error(result, "not a solution")
    cli.assert_nothing_written()


def test_run_of_an_unknown_step(cli: InProcessReef) -> None:
    result = cli("run", SOLUTION, "--step", "nope")
    assert_usage_error(result, "'nope'")
    cli.assert_nothing_written()


def test_validate_something_unknown(cli: InProcessReef) -> None:
    result = cli("validate", "no-such-thing")
    assert_usage_error(result, "neither a solution nor a recorded run")
    cli.assert_nothing_written()


def test_validate_a_plain_benchmark_run(cli: InProcessReef) -> None:
    seed_home(cli.home, LISTED)
    run_id = LISTED[0].id
    before = cli.runs()
    result = cli("validate", run_id)
    assert_usage_error(result, "not made from a solution")
    assert cli.runs() == before


def test_cache_list_of_an_empty_cache(cli: InProcessReef) -> None:
    assert cli.ok("cache", "list", "--json").json() == []
    cleaned = cli.ok("cache", "clean", "--all", "--json").json()
    assert cleaned["dry_run"] is False and cleaned["removed"] == [] and cleaned["freed_bytes"] == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [((), "say what to remove"), (("--unused-for", "-1"), "--unused-for")],
)
def test_cache_clean_refuses_bad_requests(
    cli: InProcessReef, args: tuple[str, ...], fragment: str
) -> None:
    result = cli("cache", "clean", *args)
    assert_usage_error(result, fragment)


def test_check_refuses_what_run_refuses(cli: InProcessReef, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    data = {
        "kind": "solution",
        "name": "mine",
        "version": "1.0.0",
        "steps": [{"name": "a", "uses": "shell", "with": {"run": "echo {nope}"}}],
        "checks": [{"uses": "latency", "with": {"percentile": "p99.9", "max_ms": 1}}],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    assert_usage_error(cli("run", str(folder)), "{nope}")
    assert_usage_error(cli("check", str(folder / "reef.yaml")), "p99.9")


def test_reproduce_of_an_unknown_run_is_exit_2(cli: InProcessReef) -> None:
    assert_usage_error(cli("reproduce", "feedbeef"), "feedbeef")
