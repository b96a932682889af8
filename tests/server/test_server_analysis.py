"""GET /api/v1/compare, /pareto and /board: the analyses of `reef compare`, `reef pareto` and
`reef board` over the server's runs, with the same filters and the same refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error, bearer, snapshot

from factories import rid, run_record, scaled
from reef import api


@pytest.fixture
def stored(database: api.ServerDatabase) -> list[str]:
    records = [
        run_record(
            rid("a"), name="net", minutes=1, latency_ms=scaled(2.0), accuracy=0.90,
            raw=[2_000_000 + 1000 * i for i in range(200)],
        ),
        run_record(
            rid("b"), name="net", minutes=2, latency_ms=scaled(1.0), accuracy=0.80,
            raw=[1_000_000 + 1000 * i for i in range(200)],
        ),
        run_record(rid("c"), name="net", minutes=3, latency_ms=scaled(3.0), accuracy=0.85),
        run_record(rid("d"), name="other", scenario="Offline", minutes=4, throughput_qps=900.0),
    ]  # fmt: skip
    database.store.add_many(records)
    return [r.id for r in records]


def test_compare_two_runs(client: TestClient, stored: list[str]) -> None:
    response = client.get(f"/api/v1/compare?run={stored[0][:8]}&run={stored[1]}")
    assert response.status_code == 200, response.text
    result = response.json()
    assert [run["id"] for run in result["runs"]] == stored[:2]
    assert "faster" in result["versus"][0]["latency"]["sentence"]


def test_compare_refusals(
    client: TestClient, stored: list[str], database: api.ServerDatabase
) -> None:
    before = snapshot(database)
    assert_error(client.get(f"/api/v1/compare?run={stored[0]}"), 422, "CompareError", "two runs")
    assert_error(client.get("/api/v1/compare"), 422, "BadRequest", "run")
    assert_error(
        client.get(f"/api/v1/compare?run={stored[0]}&run=ffff"), 404, "RunNotFound", "ffff"
    )
    assert snapshot(database) == before


def test_pareto_with_filters(client: TestClient, stored: list[str]) -> None:
    response = client.get(
        "/api/v1/pareto?objective=latency_p90:min&objective=accuracy:max&model=net"
    )
    assert response.status_code == 200, response.text
    front = {row["id"] for row in response.json()["frontier"]}
    assert front == {stored[0], stored[1]}  # c is dominated by a


def test_pareto_refusals(client: TestClient, stored: list[str]) -> None:
    assert_error(client.get("/api/v1/pareto?objective=latency_p90:min"), 422, "ParetoError")
    assert_error(
        client.get("/api/v1/pareto?objective=speed:max&objective=accuracy:max"), 422, "ParetoError"
    )
    assert_error(
        client.get("/api/v1/pareto?objective=latency_p90:min&objective=accuracy:max&model=none"),
        422,
        "NoRunsMatch",
    )


def test_board(client: TestClient, stored: list[str]) -> None:
    response = client.get("/api/v1/board")
    assert response.status_code == 200, response.text
    rows = {(row["model"], row["scenario"]): row["run_id"] for row in response.json()["rows"]}
    assert rows[("other", "Offline")] == stored[3]
    assert ("net", "SingleStream") in rows
    only = client.get("/api/v1/board?model=other").json()["rows"]
    assert [row["run_id"] for row in only] == [stored[3]]
    assert_error(client.get("/api/v1/board?metric=speed"), 422, "BoardError")


def test_analyses_follow_the_read_rule(
    make_client: object, stored: list[str], tokens: dict[str, str]
) -> None:
    private = make_client(anonymous_reads=False)  # type: ignore[operator]
    for url in (
        f"/api/v1/compare?run={stored[0]}&run={stored[1]}",
        "/api/v1/pareto?objective=latency_p90:min&objective=accuracy:max",
        "/api/v1/board",
    ):
        assert_error(private.get(url), 401, "AuthError")
        assert private.get(url, headers=bearer(tokens["read"])).status_code == 200
