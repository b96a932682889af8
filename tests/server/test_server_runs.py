"""GET /api/v1/runs and /api/v1/runs/{id}: the filters of `reef runs list`, its sorts, pages
behind an opaque cursor that stays right while runs are added, and one run by id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error, bearer, snapshot

from factories import LATENCY_MS, rid, run_record
from reef import api


def add(database: api.ServerDatabase, *records: Any) -> None:
    database.store.add_many(list(records))


def ids(page: dict[str, Any]) -> list[str]:
    return [run["id"] for run in page["runs"]]


def every_page(client: TestClient, query: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        url = f"/api/v1/runs?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


def test_no_runs_is_an_empty_page(client: TestClient) -> None:
    assert client.get("/api/v1/runs").json() == {"runs": [], "next_cursor": None}


def test_runs_are_listed_newest_first_with_summaries(
    client: TestClient, database: api.ServerDatabase
) -> None:
    add(database, run_record(rid("a"), minutes=1), run_record(rid("b"), minutes=2))
    page = client.get("/api/v1/runs").json()
    assert ids(page) == [rid("b"), rid("a")]
    first = page["runs"][0]
    assert first["model"] == "resnet" and first["scenario"] == "SingleStream"
    assert first["status"] == "valid" and first["p90_ms"] == 3.0
    assert page["next_cursor"] is None


def test_the_filters_are_those_of_reef_runs_list(
    client: TestClient, database: api.ServerDatabase
) -> None:
    add(
        database,
        run_record(rid("a"), name="resnet", scenario="Offline", minutes=1),
        run_record(rid("b"), name="bert", version="2.1", minutes=2),
        run_record(rid("c"), name="bert", status="invalid", reasons=["too slow"], minutes=3),
    )
    assert ids(client.get("/api/v1/runs?model=bert").json()) == [rid("c"), rid("b")]
    assert ids(client.get("/api/v1/runs?scenario=offline").json()) == [rid("a")]
    assert ids(client.get("/api/v1/runs?status=invalid").json()) == [rid("c")]
    assert ids(client.get("/api/v1/runs?version=>=2").json()) == [rid("b")]
    assert ids(client.get("/api/v1/runs?text=SLOW").json()) == [rid("c")]
    assert ids(client.get("/api/v1/runs?since=2025-01-01T00:02").json()) == [rid("c"), rid("b")]
    assert ids(client.get("/api/v1/runs?until=2025-01-01T00:02").json()) == [rid("a")]
    assert ids(client.get("/api/v1/runs?model=bert&tag=onnx&backend=onnxruntime").json()) == [
        rid("c"),
        rid("b"),
    ]
    # A filter that leaves nothing is an empty page, not an error.
    assert client.get("/api/v1/runs?model=nothing").json() == {"runs": [], "next_cursor": None}


def test_sorts_are_those_of_reef_runs_list(
    client: TestClient, database: api.ServerDatabase
) -> None:
    add(
        database,
        run_record(rid("a"), minutes=1, throughput_qps=300.0),
        run_record(rid("b"), minutes=2, throughput_qps=100.0),
        run_record(rid("c"), minutes=3, throughput_qps=200.0),
        run_record(rid("d"), minutes=4, latency_ms=None),
    )
    assert ids(client.get("/api/v1/runs?sort=-throughput").json()) == [
        rid("a"),
        rid("c"),
        rid("b"),
        rid("d"),  # no figure: last either way
    ]
    assert ids(client.get("/api/v1/runs?sort=throughput").json()) == [
        rid("b"),
        rid("c"),
        rid("a"),
        rid("d"),
    ]
    assert ids(client.get("/api/v1/runs?sort=created_at").json())[0] == rid("a")


@pytest.mark.parametrize("sort", ["-created_at", "p90", "-throughput", "model"])
def test_pages_cover_every_run_once_in_order(
    client: TestClient, database: api.ServerDatabase, sort: str
) -> None:
    records = [
        run_record(
            rid(f"r{i:02d}"),
            name=f"m{i % 3}",
            minutes=i % 4,  # ties in time, broken by id
            latency_ms={**LATENCY_MS, "p90": float(i % 5)} if i % 6 else None,
            throughput_qps=float(i * 7 % 11),
        )
        for i in range(23)
    ]
    add(database, *records)
    whole = ids(client.get(f"/api/v1/runs?limit=500&sort={sort}").json())
    assert len(whole) == 23
    assert every_page(client, f"&sort={sort}", 4) == whole
    assert every_page(client, f"&sort={sort}", 1) == whole


def test_a_cursor_stays_right_while_runs_are_added(
    client: TestClient, database: api.ServerDatabase
) -> None:
    add(database, *(run_record(rid(f"r{i}"), minutes=i) for i in range(6)))
    first = client.get("/api/v1/runs?limit=3").json()
    assert ids(first) == [rid("r5"), rid("r4"), rid("r3")]
    # Newer runs arrive (they sort before the cursor), and one older than every run.
    add(database, run_record(rid("n1"), minutes=10), run_record(rid("n2"), minutes=11))
    add(database, run_record(rid("old"), minutes=-5))
    second = client.get(f"/api/v1/runs?limit=3&cursor={first['next_cursor']}").json()
    assert ids(second) == [rid("r2"), rid("r1"), rid("r0")]
    third = client.get(f"/api/v1/runs?limit=3&cursor={second['next_cursor']}").json()
    assert ids(third) == [rid("old")]
    assert third["next_cursor"] is None


def test_a_cursor_is_opaque_and_bound_to_its_sort_and_filter(
    client: TestClient, database: api.ServerDatabase
) -> None:
    add(database, *(run_record(rid(f"r{i}"), minutes=i) for i in range(4)))
    cursor = client.get("/api/v1/runs?limit=2").json()["next_cursor"]
    assert isinstance(cursor, str) and rid("r2") not in cursor
    before = snapshot(database)
    assert_error(
        client.get(f"/api/v1/runs?limit=2&sort=p90&cursor={cursor}"),
        422,
        "CursorError",
        "another sort or filter",
    )
    assert_error(
        client.get(f"/api/v1/runs?limit=2&model=resnet&cursor={cursor}"),
        422,
        "CursorError",
    )
    assert snapshot(database) == before


def test_paging_with_an_age_filter(client: TestClient, database: api.ServerDatabase) -> None:
    """``since=7d`` moves with each request; its cursors still hold."""
    now = datetime.now(UTC)
    add(database, *(run_record(rid(f"r{i}"), created_at=now, minutes=-i) for i in range(5)))
    add(database, run_record(rid("old"), created_at=now, days=-30))
    assert every_page(client, "&since=7d", 2) == [rid(f"r{i}") for i in range(5)]


@pytest.mark.parametrize("cursor", ["abc", "!!!", "eyJmIjoxfQ", "x" * 3000, "bnVsbA"])
def test_a_bad_cursor_is_422(client: TestClient, database: api.ServerDatabase, cursor: str) -> None:
    add(database, run_record(rid("a")))
    before = snapshot(database)
    error = assert_error(
        client.get(f"/api/v1/runs?cursor={cursor}"), 422, "CursorError", "not a cursor"
    )
    assert error["hint"]
    assert snapshot(database) == before


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("limit=0", "ServerError", "limit: must be 1 to 500"),
        ("limit=501", "ServerError", "limit: must be 1 to 500"),
        ("limit=many", "BadRequest", "limit"),
        ("sort=speed", "QueryError", "unknown field 'speed'"),
        ("scenario=sideways", "QueryError", "unknown value 'sideways'"),
        ("since=yesterday", "QueryError", "cannot read 'yesterday'"),
        ("version=>>1", "QueryError", "neither a version"),
        ("model=", "QueryError", "empty value"),
    ],
)
def test_bad_list_parameters_are_422(
    client: TestClient, database: api.ServerDatabase, query: str, code: str, fragment: str
) -> None:
    before = snapshot(database)
    assert_error(client.get(f"/api/v1/runs?{query}"), 422, code, fragment)
    assert snapshot(database) == before


def test_one_run_by_id_or_prefix(client: TestClient, database: api.ServerDatabase) -> None:
    record = run_record(rid("abc"), raw=[1000, 2000, 3000])
    add(database, record)
    got = client.get(f"/api/v1/runs/{rid('abc')}").json()
    # With its submission: none, for a run stored without one.
    assert got == record.summary_json() | {"created_at": got["created_at"], "submission": None}
    assert "latencies_ns" not in got
    assert client.get("/api/v1/runs/abc").json()["id"] == rid("abc")


def test_an_unknown_run_is_404(client: TestClient, database: api.ServerDatabase) -> None:
    add(database, run_record(rid("abc")))
    before = snapshot(database)
    assert_error(client.get("/api/v1/runs/ffff"), 404, "RunNotFound", "ffff")
    assert snapshot(database) == before


def test_reads_need_a_token_when_anonymous_reads_are_off(
    make_client: Any, database: api.ServerDatabase, tokens: dict[str, str]
) -> None:
    add(database, run_record(rid("a")))
    private = make_client(anonymous_reads=False)
    before = snapshot(database)
    for url in ("/api/v1/runs", f"/api/v1/runs/{rid('a')}"):
        response = private.get(url)
        assert_error(response, 401, "AuthError", "needs a token of scope read")
        assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(database) == before
    for scope in ("read", "submit", "admin"):
        assert ids(private.get("/api/v1/runs", headers=bearer(tokens[scope])).json()) == [rid("a")]
    # Health is open either way: it is how a client or a probe sees the server answer.
    assert private.get("/api/v1/health").json()["status"] == "ok"
