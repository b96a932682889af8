"""Filtering and sorting stored runs: each filter, sort orders, text, dates, and why a
selection came out empty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from databases import execute, kind_of
from factories import run_record
from reef import api
from reef.errors import RunNotFound
from reef.meta.run import (
    RunRecord,
    SolutionRef,
)
from reef.results import Store
from reef.results.query import NoRunsMatch, QueryError, RunFilter, Sort, parse_time


def make_record(
    run_id: str,
    *,
    name: str = "resnet",
    version: str | None = "1.0.0",
    scenario: str = "SingleStream",
    backend: str = "onnxruntime",
    status: str = "valid",
    days: float = 0,
    p90: float | None = 3.0,
    qps: float = 500.0,
    accuracy: float = 0.76,
    reasons: list[str] | None = None,
    solution: str | None = None,
    kind: str = "onnx",
) -> RunRecord:
    figures = None
    if p90 is not None:
        figures = {
            "min": 1,
            "mean": 2,
            "p50": p90 / 1.5,
            "p90": p90,
            "p95": p90,
            "p99": p90 * 2,
            "max": 9,
        }
    return run_record(
        run_id,
        name=name,
        version=version,
        kind=kind,
        days=days,
        status=status,
        reasons=reasons,
        scenario=scenario,
        backend=backend,
        backend_version="1",
        latency_ms=figures,
        throughput_qps=qps,
        accuracy=accuracy,
        solution=None if solution is None else SolutionRef(name=solution, version="1.0"),
    )


RECORDS = [
    make_record("a", days=0, p90=5.0, qps=300, accuracy=0.70),
    make_record("b", days=10, version="1.5.0", scenario="Offline", p90=2.0, qps=900),
    make_record("c", days=20, name="bert", version="2.0.0", backend="tensorrt", p90=9.0, qps=100),
    make_record(
        "d",
        days=30,
        name="bert",
        version="2.1.0rc1",
        status="invalid",
        reasons=["Min duration not satisfied"],
        p90=1.0,
        qps=50,
        solution="nightly-regression",
        kind="solution",
    ),
    make_record("e", days=40, status="failed", p90=None, reasons=["CUDA out of memory"]),
]


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    """The runs above, on each database (REEF_DB_URL, which the API opens too)."""
    with Store() as s:
        assert s.add_many(RECORDS) == len(RECORDS)
        yield s


def ids(store: Store, *args: Any, **kwargs: Any) -> list[str]:
    return [r.id for r in store.list(*args, **kwargs)]


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_filter", "expected"),
    [
        (RunFilter(), ["e", "d", "c", "b", "a"]),
        (RunFilter(model="bert"), ["d", "c"]),
        (RunFilter(version="1.5.0"), ["b"]),
        (RunFilter(version="1.5"), ["b"]),  # PEP 440: 1.5 == 1.5.0
        (RunFilter(version=">=2"), ["d", "c"]),  # pre-releases included
        (RunFilter(version=">=2.1.0rc1"), ["d"]),
        (RunFilter(version="<1.5"), ["e", "a"]),
        (RunFilter(scenario="Offline"), ["b"]),
        (RunFilter(scenario="offline"), ["b"]),  # any case, stored spelling used
        (RunFilter(backend="tensorrt"), ["c"]),
        (RunFilter(status="invalid"), ["d"]),
        (RunFilter(tag="nightly-regression"), ["d"]),
        (RunFilter(tag="onnx"), ["e", "c", "b", "a"]),
        (RunFilter(tag="Solution"), ["d"]),
        (RunFilter(tag="nightly"), []),  # a tag is matched whole
        (RunFilter(since=datetime(2025, 1, 11)), ["e", "d", "c", "b"]),
        (RunFilter(until=datetime(2025, 1, 11)), ["a"]),  # until is exclusive
        (RunFilter(until=datetime(2025, 1, 11, 1)), ["b", "a"]),
        (RunFilter(since=datetime(2025, 1, 11), until=datetime(2025, 1, 31)), ["c", "b"]),
        (RunFilter(model="bert", status="valid"), ["c"]),
        (RunFilter(model="resnet", scenario="SingleStream", backend="onnxruntime"), ["e", "a"]),
    ],
)
def test_each_filter(store: Store, run_filter: RunFilter, expected: list[str]) -> None:
    assert ids(store, run_filter) == expected
    assert store.count(run_filter) == len(expected)


def test_aware_times_are_compared_in_utc(store: Store) -> None:
    plus_two = datetime(2025, 1, 11, 2, 0, tzinfo=UTC) + timedelta()  # 02:00 UTC
    assert ids(store, RunFilter(since=plus_two)) == ["e", "d", "c"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BERT", ["d", "c"]),
        ("out of memory", ["e"]),  # reasons
        ("min duration", ["d"]),
        ("nightly", ["d"]),  # solution name
        ("tensorrt", ["c"]),
        ("2.1.0rc", ["d"]),
        ("offline", ["b"]),
        ("100%", []),  # % and _ are literal
        ("resnet_", []),
    ],
)
def test_free_text(store: Store, text: str, expected: list[str]) -> None:
    assert ids(store, RunFilter(text=text)) == expected


def test_old_keyword_arguments_still_filter(store: Store) -> None:
    assert ids(store, model="bert", status="valid") == ["c"]
    assert ids(store, RunFilter(model="bert"), scenario="SingleStream", limit=1) == ["d"]
    assert api.runs_list(RunFilter(model="bert"), limit=1)[0].id == "d"


# --- sorting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created_at", ["a", "b", "c", "d", "e"]),
        ("-created_at", ["e", "d", "c", "b", "a"]),
        ("p90", ["d", "b", "a", "c", "e"]),  # e has no latency: last either way
        ("-p90", ["c", "a", "b", "d", "e"]),
        ("-throughput", ["b", "a", "c", "d", "e"]),
        ("throughput", ["d", "c", "a", "b", "e"]),
        ("accuracy", ["a", "e", "d", "c", "b"]),  # ties newest first
        ("model", ["d", "c", "e", "b", "a"]),
        ("-model", ["e", "b", "a", "d", "c"]),
        ("status", ["e", "d", "c", "b", "a"]),
        ("scenario", ["b", "e", "d", "c", "a"]),
    ],
)
def test_sort_both_ways(store: Store, sort: str, expected: list[str]) -> None:
    assert ids(store, sort=Sort.parse(sort)) == expected
    assert [r.id for r in api.runs_list(sort=sort)] == expected


def test_sort_with_filter_and_limit(store: Store) -> None:
    assert ids(store, RunFilter(model="resnet"), sort=Sort("p90"), limit=2) == ["b", "a"]


def test_unknown_sort_field_lists_the_fields() -> None:
    with pytest.raises(QueryError, match="--sort: unknown field 'speed'") as info:
        Sort.parse("-speed")
    assert info.value.hint is not None
    assert "created_at, p50, p90, p99, throughput, accuracy, model, scenario, status" in (
        info.value.hint
    )


# --- dates ----------------------------------------------------------------------------------


NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2025-03-01", False, datetime(2025, 3, 1)),
        ("2025-03-01", True, datetime(2025, 3, 2)),  # --until includes the day
        ("2025-03-01T14:30", False, datetime(2025, 3, 1, 14, 30)),
        ("2025-03-01T14:30+02:00", False, datetime(2025, 3, 1, 12, 30)),
        ("7d", False, datetime(2025, 3, 3, 12, 0)),
        ("12h", True, datetime(2025, 3, 10, 0, 0)),
        ("2w", False, datetime(2025, 2, 24, 12, 0)),
        ("1d12h", False, datetime(2025, 3, 9, 0, 0)),
        ("30m", False, datetime(2025, 3, 10, 11, 30)),
    ],
)
def test_parse_time(text: str, end: bool, expected: datetime) -> None:
    assert parse_time(text, "--since", now=NOW, end=end) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "2025-13-01", "", "-3d", "3y"])
def test_bad_time_is_refused(text: str) -> None:
    with pytest.raises(QueryError, match="--until: cannot read"):
        parse_time(text, "--until")


def test_api_date_range_from_text(store: Store) -> None:
    got = api.runs_list(RunFilter().merged(since="2025-01-11", until="2025-01-31"))
    assert [r.id for r in got] == ["d", "c", "b"]  # a bare --until date includes that day


# --- bad filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message", "hint"),
    [
        ({"status": "ok"}, "--status: unknown value 'ok'", "valid, invalid, interrupted, failed"),
        (
            {"scenario": "Batch"},
            "--scenario: unknown value 'Batch'",
            "SingleStream, MultiStream, Server, Offline",
        ),
        ({"version": ">>1"}, "--version: '>>1' is neither", "specifier"),
        ({"version": "one"}, "--version: 'one' is neither", "specifier"),
        ({"model": ""}, "--model: empty value", "--model"),
    ],
)
def test_bad_filter_is_refused(values: dict[str, str], message: str, hint: str) -> None:
    with pytest.raises(QueryError) as info:
        RunFilter(**values)
    assert info.value.message.startswith(message)
    assert info.value.exit_code == 2
    assert info.value.hint is not None and hint in info.value.hint


def test_bad_input_opens_no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "untouched"
    monkeypatch.setenv("REEF_HOME", str(home))
    monkeypatch.delenv("REEF_DB_URL", raising=False)
    for bad in (
        lambda: api.runs_list(sort="speed"),
        lambda: api.runs_list(RunFilter().merged(since="soon")),
        lambda: api.runs_list(RunFilter(status="ok")),
        lambda: api.runs_list(RunFilter(version="?")),
    ):
        with pytest.raises(QueryError):
            bad()
    assert not home.exists()


# --- empty selections -----------------------------------------------------------------------


def test_empty_selection_names_the_filter_that_emptied_it(store: Store) -> None:
    run_filter = RunFilter(model="bert", scenario="SingleStream", backend="openvino")
    problem = store.explain_empty(run_filter)
    assert isinstance(problem, NoRunsMatch)
    assert problem.message == (
        "no runs match: --backend openvino leaves none of the 2 runs of "
        "--model bert --scenario SingleStream"
    )
    assert (problem.option, problem.value, problem.before) == ("--backend", "openvino", 2)
    assert problem.exit_code == 2


def test_empty_selection_by_the_first_filter(store: Store) -> None:
    problem = store.explain_empty(RunFilter(model="gpt", status="valid"))
    assert problem is not None
    assert problem.message == "no runs match: --model gpt leaves none of the 5 runs in the store"


def test_empty_selection_from_a_combination(store: Store) -> None:
    # each filter alone matches; together they do not
    problem = store.explain_empty(RunFilter(status="invalid", backend="tensorrt"))
    assert problem is not None
    assert problem.message == (
        "no runs match: --status invalid leaves none of the run of --backend tensorrt"
    )


def test_not_empty_or_no_filter_needs_no_explaining(store: Store) -> None:
    assert store.explain_empty(RunFilter(model="bert")) is None
    assert store.explain_empty(RunFilter()) is None


def test_api_raises_only_when_asked(store: Store) -> None:
    assert api.runs_list(RunFilter(model="gpt")) == []
    with pytest.raises(NoRunsMatch, match="--model gpt leaves none of the 5 runs"):
        api.runs_list(RunFilter(model="gpt"), allow_empty=False)


def test_empty_store_with_filters(reef_db: str) -> None:
    assert api.runs_list(allow_empty=False) == []
    with pytest.raises(NoRunsMatch, match="no runs match --status valid: no runs are recorded"):
        api.runs_list(RunFilter(status="valid"), allow_empty=False)


# --- writing many ---------------------------------------------------------------------------


def test_add_many_replaces_and_is_all_or_nothing(store: Store) -> None:
    store.add_many([make_record("a", name="changed"), make_record("f")])
    assert store.get("a").target.name == "changed"
    assert store.count() == 6
    bad = make_record("g")
    object.__setattr__(bad, "created_at", "not a time")  # fails inside the transaction
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        store.add_many([make_record("h"), bad])
    assert store.count() == 6
    assert store.add_many([]) == 0


def test_a_filter_reads_scenarios_and_statuses_in_any_spelling() -> None:
    from reef.results.query import QueryError, RunFilter

    assert RunFilter(scenario="single-stream").scenario == "SingleStream"
    assert RunFilter(scenario="OFFLINE", status="Valid").status == "valid"
    with pytest.raises(QueryError, match="--scenario: unknown value 'nope'"):
        RunFilter(scenario="nope")


# --- text order -----------------------------------------------------------------------------


def test_text_sorts_by_character_codes_whatever_the_collation(reef_db: str) -> None:
    """As SQLite sorts text, on PostgreSQL too where the columns' collation is English (as a
    production database's often is), which would put ``a_c`` before ``ab`` and ``B`` after
    ``a``: by model, and ids breaking ties of time (the candidates of a prefix)."""
    names = ["b", "B", "a_c", "ab", "A"]
    with Store() as s:
        s.add_many([make_record(f"x-{name}", name=name) for name in names])
    if kind_of(reef_db) == "postgresql":
        found = execute(reef_db, "SELECT count(*) FROM pg_collation WHERE collname = 'en-x-icu'")
        if found != [(1,)]:
            pytest.skip("this PostgreSQL has no ICU collation en-x-icu")
        for column, kind in (("target_name", "varchar(255)"), ("id", "varchar(64)")):
            execute(
                reef_db,
                f'ALTER TABLE runs ALTER COLUMN {column} TYPE {kind} COLLATE "en-x-icu"',
            )
        in_english = [row[0] for row in execute(reef_db, "SELECT id FROM runs ORDER BY id")]
        assert in_english != sorted(in_english)  # the test would prove nothing otherwise
    with Store() as s:
        by_model = [r.target.name for r in s.list(sort=Sort.parse("model"))]
        with pytest.raises(RunNotFound) as info:  # ambiguous: its candidates, newest first
            s.get("x-")
    assert by_model == sorted(names) == ["A", "B", "a_c", "ab", "b"]
    assert info.value.candidates == [f"x-{n}" for n in sorted(names, reverse=True)]
