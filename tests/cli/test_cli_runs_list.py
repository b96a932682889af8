"""`reef runs list` in-process (see ``cli_support``): filters, sorting, table/JSON/CSV, and bad
input. ``tests/e2e/test_e2e_runs_list.py`` runs a filter, the CSV, an emptied selection and a
bad option as real processes."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import Result, assert_usage_error
from stored_runs import CSV_HEADER, LISTED, seed_home


@pytest.fixture(scope="module")
def listed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("listed") / "reef-home", LISTED)


@pytest.fixture
def stored(cli: InProcessReef, listed_home: Path) -> InProcessReef:
    shutil.copytree(listed_home, cli.home)
    return cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(
    cli: InProcessReef, result: Result, *fragments: str, db_before: str | None
) -> None:
    """Exit 2 with the message, nothing on stdout, and the database as it was (or absent)."""
    assert_usage_error(result, *fragments)
    assert result.stdout == "", str(result)
    db = cli.home / "reef.db"
    if db_before is None:
        assert not db.exists()
    else:
        assert digest(db) == db_before


def test_filters_and_default_order(stored: InProcessReef) -> None:
    got = stored.runs("--model", "digits-classifier")
    assert [r["id"] for r in got] == ["run0003", "run0002", "run0001"]
    got = stored.runs("--model", "digits-classifier", "--backend", "onnxruntime", "--since", "30d")
    assert [r["id"] for r in got] == ["run0002"]
    assert [r["id"] for r in stored.runs("--text", "TENSORRT", "--tag", "onnx")] == ["run0004"]
    assert [r["id"] for r in stored.runs("--version", ">=1,<2", "-n", "1")] == ["run0004"]


def test_more_filters_and_the_newest(stored: InProcessReef) -> None:
    single = [r["id"] for r in stored.runs("--scenario", "SingleStream")]
    assert single == ["run0003", "run0001"]
    assert len(stored.runs("--status", "valid")) == 4
    assert [r["id"] for r in stored.runs("--model", "resnet50")] == ["run0004"]
    newest = stored.ok("runs", "list", "--json", "-n", "1").json()
    assert [r["id"] for r in newest] == ["run0004"]
    # A filter that leaves nothing is bad input, and says which filter did it.
    assert_usage_error(stored("runs", "list", "--status", "invalid"), "--status invalid")
    assert_usage_error(stored("runs", "list", "--model", "no-such-model"), "--model no-such-model")


def test_sorting_both_ways(stored: InProcessReef) -> None:
    assert [r["id"] for r in stored.runs("--sort=-throughput")] == [
        "run0002", "run0001", "run0003", "run0004",
    ]  # fmt: skip
    assert [r["id"] for r in stored.runs("--sort", "-p90", "-n", "2")] == ["run0004", "run0003"]


def test_csv_parses_with_the_csv_module(stored: InProcessReef) -> None:
    result = stored.ok("runs", "list", "--format", "csv", "--sort", "p90")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == CSV_HEADER
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["id"] for r in table] == ["run0002", "run0001", "run0003", "run0004"]
    first = table[0]
    assert (first["model"], first["version"], first["scenario"], first["backend"]) == (
        "digits-classifier",
        "1.0.0",
        "Offline",
        "onnxruntime",
    )
    assert float(first["p90_ms"]) == 1.0 and float(first["throughput_qps"]) == 1000.0
    assert (first["accuracy_metric"], float(first["accuracy_value"])) == ("top1", 0.9)
    assert first["solution"] == ""
    assert datetime.fromisoformat(first["created_at"]) == LISTED[1].created_at


def test_json_alias_and_table(stored: InProcessReef) -> None:
    assert stored.ok("runs", "list", "--json").json() == stored.runs()
    table = stored.ok("runs", "list", "--format", "table", "--model", "resnet50").stdout
    assert "run0004" in table and "resnet50@1.0.0" in table and "run0001" not in table


def test_empty_store_without_filters_is_friendly(cli: InProcessReef) -> None:
    assert "no runs recorded yet" in cli.ok("runs", "list").stdout
    assert cli.ok("runs", "list", "--format", "csv").stdout.splitlines() == [",".join(CSV_HEADER)]


def test_empty_selection_says_which_filter_emptied_it(stored: InProcessReef) -> None:
    before = digest(stored.home / "reef.db")
    for output in ("table", "csv"):
        result = stored(
            "runs", "list", "--model", "digits-classifier", "--backend", "tensorrt",
            "--format", output,
        )  # fmt: skip
        assert_refused(
            stored,
            result,
            "no runs match: --backend tensorrt leaves none of the 3 runs of "
            "--model digits-classifier",
            db_before=before,
        )
    result = stored("runs", "list", "--model", "bert")
    assert_refused(
        stored, result, "--model bert leaves none of the 4 runs in the store", db_before=before
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ("--sort", "speed"),
            ("--sort: unknown field 'speed'", "created_at, p50, p90, p99, throughput, accuracy"),
        ),
        (("--since", "last week"), ("--since: cannot read 'last week'", "7d")),
        (("--until", "2025-02-30"), ("--until: cannot read '2025-02-30'",)),
        (("--version", "=>1"), ("--version: '=>1' is neither a version nor a PEP 440",)),
        (("--status", "done"), ("--status: unknown value 'done'", "valid, invalid, interrupted")),
        (("--scenario", "Batch"), ("--scenario: unknown value 'Batch'", "SingleStream")),
        (("--format", "xml"), ("--format: unknown format 'xml'", "table, json, csv")),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    cli: InProcessReef, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    result = cli("runs", "list", *args)
    assert_refused(cli, result, *fragments, db_before=None)  # not even the database made


def test_negative_limit_is_a_usage_error(cli: InProcessReef) -> None:
    result = cli("runs", "list", "--limit", "-1")
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr


def test_runs_show_full_id(stored: InProcessReef) -> None:
    record = LISTED[0]
    shown = stored.ok("runs", "show", record.id, "--json").json()
    assert shown["id"] == record.id


FILTER_OPTIONS = [
    "--model", "--version", "--scenario", "--backend", "--status", "--tag", "--since", "--until",
    "--text",
]  # fmt: skip


@pytest.mark.parametrize(
    "path", [("runs", "list"), ("pareto",), ("board",), ("report",), ("plot",)], ids=" ".join
)
def test_every_command_that_selects_runs_takes_the_same_filters(path: tuple[str, ...]) -> None:
    import typer.main

    from reef.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.get_command(typer.Context(command), name)  # type: ignore[attr-defined]
    options = [opt for p in command.params for opt in p.opts if opt in FILTER_OPTIONS]
    # board ranks valid runs only, so it has no --status
    expected = [o for o in FILTER_OPTIONS if not (path == ("board",) and o == "--status")]
    assert options == expected
    assert "run_filter" not in {p.name for p in command.params}


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "list", "--limit", str(2**63)),
        ("runs", "export", "--limit", str(2**63)),
        ("report", "--limit", str(2**63)),
    ],
)
def test_a_limit_past_what_a_database_counts_is_a_usage_error(
    stored: InProcessReef, args: tuple[str, ...]
) -> None:
    """A --limit over 2**63 - 1 overflowed the database driver's integer (exit 3, a bug)."""
    result = stored(*args)
    assert_usage_error(result, "--limit", str(2**63 - 1))
