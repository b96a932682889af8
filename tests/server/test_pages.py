"""The web dashboard's pages (reef.server.web), through the real application over a real
server database: every page renders with its Content-Security-Policy; what users submitted
is escaped; the runs table filters, sorts and pages by cursor as `reef runs list` and the REST
API do; a run's charts, files and trace; compare, Pareto, scoreboards, components and
submissions; and the login form where reads need a token."""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factories import T0, from_raw, rid, run_record
from reef import api
from reef.meta.run import Target, TraceInfo

sys.path.append(str(Path(__file__).resolve().parents[1] / "components"))

XSS = "<script>alert(1)</script>"


def add(database: api.ServerDatabase, *records: Any) -> None:
    database.store.add_many(list(records))


def page_ids(text: str) -> list[str]:
    """The run ids of a runs table, in its order."""
    return re.findall(r'<tr data-run="([0-9a-z]+)">', text)


def next_link(text: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)">', text)
    return found.group(1).replace("&amp;", "&") if found else None


def assert_page(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    text: str = response.text
    assert text.startswith("<!doctype html>")
    # No inline script or style anywhere: the policy would block them.
    assert "<script>" not in text and "<style" not in text and " style=" not in text
    return text


# --- every page ------------------------------------------------------------------------------


@pytest.fixture
def runs(database: api.ServerDatabase) -> list[Any]:
    raw = [1_000_000 + 10_000 * (i % 37) for i in range(400)]
    records = [
        run_record(rid("a"), minutes=1, raw=raw, **from_raw(raw), accuracy=0.9),
        run_record(rid("b"), minutes=2, raw=raw, **from_raw(raw), accuracy=0.8),
        run_record(rid("c"), name="bert", scenario="Offline", minutes=3, throughput_qps=900.0),
        run_record(rid("d"), status="invalid", reasons=["too slow"], minutes=4),
    ]
    add(database, *records)
    return records


PAGES = [
    "/",
    "/runs",
    "/runs?model=resnet&sort=-p90&limit=20",
    f"/runs/{rid('a')}",
    f"/runs/{rid('a')[:6]}",
    f"/compare?run={rid('a')}&run={rid('b')}",
    "/compare",
    "/pareto",
    "/pareto?objective=latency_p50:min&objective=accuracy:max&model=resnet",
    "/board",
    "/board?metric=throughput&scenario=Offline",
    "/components",
    "/submissions",
    "/login",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(client: TestClient, runs: list[Any], path: str) -> None:
    text = assert_page(client.get(path))
    assert '<link rel="stylesheet" href="/static/reef.css?v=' in text
    assert '<script src="/static/reef.js?v=' in text


def test_pages_with_no_runs_yet(client: TestClient) -> None:
    for path in ("/", "/runs", "/pareto", "/board", "/submissions"):
        response = client.get(path)
        assert response.status_code in (200, 422), path
        assert_page(response, response.status_code)
    assert "0 runs match" in client.get("/runs").text
    # No run at all: the board and Pareto say so, in the page.
    assert "No runs stored yet" in client.get("/board").text


def test_the_script_and_style_sheet_are_served_by_the_server(client: TestClient) -> None:
    js = client.get("/static/reef.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "http" not in js.text  # nothing fetched from elsewhere
    css = client.get("/static/reef.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "url(" not in css.text


def test_the_api_is_untouched_by_the_pages(client: TestClient, runs: list[Any]) -> None:
    assert client.get("/api/v1/runs").json()["runs"][0]["id"] == rid("d")
    assert client.get("/api/v1/nothing").json()["error"]["code"] == "NotFound"
    assert "/runs" not in client.get("/openapi.json").json()["paths"]


# --- escaping --------------------------------------------------------------------------------


def test_what_users_submitted_is_shown_as_text(
    client: TestClient, database: api.ServerDatabase
) -> None:
    record = run_record(
        rid("e"),
        name=XSS,
        version="1.0",
        reasons=[XSS],
        status="invalid",
        environment={"hardware": {"cpu": {"model": XSS}}, "hash": XSS},
    )
    target = Target.model_validate(
        {**record.target.model_dump(), "tags": [XSS, 'x" onmouseover="alert(2)']}
    )
    add(database, record.model_copy(update={"target": target}), run_record(rid("f"), name=XSS))
    for path in (
        "/",
        "/runs",
        f"/runs?model={XSS}",
        f"/runs/{rid('e')}",
        f"/compare?run={rid('e')}&run={rid('f')}",
        "/pareto",
        "/board",
        "/submissions",
        f"/runs?text={XSS}",
        f"/runs?since={XSS}",
        f"/compare?run={XSS}&run=x",
    ):
        response = client.get(path)
        text = assert_page(response, response.status_code)
        assert XSS not in text, path
        assert "onmouseover=" not in text.replace("onmouseover=&quot;", ""), path
    text = client.get(f"/runs/{rid('e')}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "x&quot; onmouseover=&quot;alert(2)" in text


# --- runs: filters, sorts, pages -------------------------------------------------------------


def test_filters_sort_and_pages(client: TestClient, database: api.ServerDatabase) -> None:
    records = [
        run_record(
            f"{i:032x}",
            name="resnet" if i % 3 else "bert",
            minutes=i,
            latency_ms={
                "min": 1,
                "mean": 2,
                "p50": 2,
                "p90": float(i % 7),
                "p95": 8,
                "p99": 9,
                "max": 10,
            },
        )
        for i in range(1, 50)
    ]
    add(database, *records)
    newest = [r.id for r in sorted(records, key=lambda r: r.created_at, reverse=True)]
    seen: list[str] = []
    link: str | None = "/runs?limit=20"
    pages = 0
    while link:
        text = assert_page(client.get(link))
        seen += page_ids(text)
        link = next_link(text)
        pages += 1
        if pages > 1:
            assert "first page" in text
    assert pages == 3 and seen == newest
    assert "49 runs match" in client.get("/runs").text

    # The filters and sorts are those of the REST API (and of reef runs list).
    for query in (
        "model=bert",
        "sort=-p90",
        "sort=p90&model=resnet",
        "sort=model",
        "since=2025-01-01T00:30",
    ):
        api_ids = [r["id"] for r in client.get(f"/api/v1/runs?limit=200&{query}").json()["runs"]]
        shown: list[str] = []
        link = f"/runs?limit=20&{query}"
        while link:
            text = client.get(link).text
            shown += page_ids(text)
            link = next_link(text)
        assert shown == api_ids, query
    text = client.get("/runs?model=bert").text
    assert "16 runs match" in text
    assert '<option value="bert" selected>bert</option>' in text


def test_dashboard_runs_keyset_pages_match_runs_page(database: api.ServerDatabase) -> None:
    records = []
    for i in range(60):
        acc = None if i % 4 == 0 else 0.5 + (i % 5) / 10
        perf = {} if i % 6 else {"latency_ms": None}
        records.append(
            run_record(f"{i:032x}", minutes=i % 9, accuracy=acc, throughput_qps=float(i % 4),
                       status="valid" if i % 5 else "failed", **perf)
        )  # fmt: skip
    add(database, *records)
    for sort in ("-created_at", "created_at", "p90", "-p90", "-accuracy", "accuracy",
                 "throughput", "model", "-status"):  # fmt: skip
        expected = [r.id for r in api.runs_page(sort=sort, limit=500, db=database).runs]
        got: list[str] = []
        cursor = None
        while True:
            page = api.dashboard_runs(sort=sort, limit=7, cursor=cursor, db=database)
            assert page.total == 60
            got += [r.id for r in page.runs]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert got == expected, sort


def test_a_bad_filter_or_cursor_is_said_on_the_page(
    client: TestClient, database: api.ServerDatabase, runs: list[Any]
) -> None:
    text = assert_page(client.get("/runs?since=someday"), 422)
    assert "cannot read &#x27;someday&#x27;" in text and '<form class="filters"' in text
    text = assert_page(client.get("/runs?cursor=garbage"), 422)
    assert "not a cursor this server gave" in text
    first = client.get("/runs?limit=20").text
    add(database, *(run_record(f"{i:032x}", minutes=10 + i) for i in range(30)))
    link = next_link(client.get("/runs?limit=20").text)
    assert link is not None and first
    other = link.replace("limit=20", "limit=20&model=bert")
    text = assert_page(client.get(other), 422)
    assert "another sort or filter" in text


# --- a run -----------------------------------------------------------------------------------


def test_a_run_with_raw_latencies_has_its_charts(client: TestClient, runs: list[Any]) -> None:
    text = assert_page(client.get(f"/runs/{rid('a')}"))
    assert '<svg class="chart cdf"' in text and '<svg class="chart histogram"' in text
    assert "CDF of 400 raw latencies" in text
    assert text.count('<rect class="bar"') >= 10
    assert '<polyline class="series" points="' in text
    assert "p99" in text and "LoadGen" in text
    text = assert_page(client.get(f"/runs/{rid('c')}"))
    assert "kept no raw latencies" in text and "<svg" not in text


def test_an_unknown_run_is_a_404_page(client: TestClient, runs: list[Any]) -> None:
    text = assert_page(client.get("/runs/zzzz"), 404)
    assert "no run matches" in text


def test_files_kept_with_a_submitted_run(
    make_client: Any, database: api.ServerDatabase, tmp_path: Path
) -> None:
    root = tmp_path / "files"
    client = make_client(files_root=root)
    record = run_record(
        rid("a"), trace=TraceInfo(level="model", path=f"/home/u/runs/{rid('a')}/trace.json")
    )
    add(database, record)
    folder = root / rid("a")
    (folder / "performance").mkdir(parents=True)
    (folder / "performance" / "mlperf_log_summary.txt").write_text("<b>Result is : VALID</b>\n")
    (folder / "trace.json").write_text('{"traceEvents": []}')
    (folder / "bundle.json").write_text(
        '{"submitter": "token abc (alice)", "received_at": "2025-01-02T03:04:05+00:00"}'
    )
    (tmp_path / "secret.txt").write_text("THE-SECRET-CONTENT")
    os.symlink(tmp_path / "secret.txt", folder / "performance" / "link.txt")

    text = assert_page(client.get(f"/runs/{rid('a')}"))
    assert f'href="/runs/{rid("a")}/files/performance/mlperf_log_summary.txt"' in text
    assert "Submitted by token abc (alice) at 2025-01-02 03:04:05" in text
    assert "link.txt" not in text
    assert f'href="/runs/{rid("a")}/files/trace.json" download>Download the trace' in text

    got = client.get(f"/runs/{rid('a')}/files/performance/mlperf_log_summary.txt")
    assert got.status_code == 200 and got.text == "<b>Result is : VALID</b>\n"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    for bad in (
        "performance/link.txt",
        "../secret.txt",
        "performance/../../secret.txt",
        "%2e%2e/secret.txt",
        "nothing.txt",
        "performance",
    ):
        response = client.get(f"/runs/{rid('a')}/files/{bad}")
        assert response.status_code == 404, bad
        assert "THE-SECRET-CONTENT" not in response.text
    assert client.get("/runs/..%2F..%2Fetc/files/passwd").status_code == 404

    text = assert_page(client.get("/submissions"))
    assert "token abc (alice)" in text and "mlperf_log_summary.txt" in text
    assert "A run is verified when an independent rerun reproduced it" in text


def test_a_traced_run_whose_trace_the_server_lacks(client: TestClient, database: Any) -> None:
    add(database, run_record(rid("a"), trace=TraceInfo(level="model", path="/x/trace.json")))
    text = assert_page(client.get(f"/runs/{rid('a')}"))
    assert "does not keep its trace file" in text


# --- compare, Pareto, scoreboards ------------------------------------------------------------


def test_compare_gives_the_verdict_sentence(client: TestClient, runs: list[Any]) -> None:
    text = assert_page(client.get(f"/compare?run={rid('a')}&run={rid('b')}&run={rid('c')}"))
    assert "B vs A" in text and "C vs A" in text
    assert re.search(r'class="verdict verdict-(reproduced|differs|inconclusive)"', text)
    assert text.count("<th>") >= 5
    text = assert_page(client.get(f"/compare?run={rid('a')}"))
    assert "Give 2 to 5 runs" in text
    six = "&".join(f"run={rid(c)}" for c in "abcdab")
    assert "At most 5 runs" in assert_page(client.get(f"/compare?{six}"), 422)
    assert "no run matches" in assert_page(client.get(f"/compare?run={rid('a')}&run=zz"), 404)


def test_pareto_points_open_their_runs(client: TestClient, runs: list[Any]) -> None:
    text = assert_page(client.get("/pareto?objective=latency_p90:min&objective=throughput:max"))
    assert '<svg class="chart scatter"' in text
    links = re.findall(r'<a href="/runs/([0-9a-z]+)" data-run="\1"><circle', text)
    assert set(links) == {rid("a"), rid("b"), rid("c"), rid("d")}
    assert "Click a point to open its run" in text
    text = assert_page(client.get("/pareto?objective=speed:max&objective=throughput:max"), 422)
    assert "unknown metric" in text


def test_the_scoreboard_has_a_verified_switch(client: TestClient, runs: list[Any]) -> None:
    text = assert_page(client.get("/board"))
    assert 'name="verified" value="1">' in text
    assert "A run is verified when an independent rerun reproduced it" in text
    assert "unknown hardware" in text and rid("b")[:12] in text
    # None of these runs was submitted, so none is verified.
    text = assert_page(client.get("/board?verified=1"))
    assert 'name="verified" value="1" checked>' in text and rid("b")[:12] not in text
    assert 'name="status"' not in text  # the board ranks valid runs only
    text = assert_page(client.get("/board?metric=speed"), 422)
    assert "unknown metric" in text


def test_home_has_recent_runs_and_boards_per_solution(
    client: TestClient, database: api.ServerDatabase
) -> None:
    from reef.meta.run import SolutionRef

    add(
        database,
        run_record(rid("a"), solution=SolutionRef(name="edge", version="1.0")),
        run_record(rid("b"), minutes=1),
    )
    text = assert_page(client.get("/"))
    assert "2 runs stored" in text and "solution edge" in text
    assert 'href="/board?tag=edge"' in text


# --- components ------------------------------------------------------------------------------


def test_components_pages(
    make_client: Any, database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import html as html_module

    from repo_support import write_component

    from reef.server.web import pages

    root = tmp_path / "registry"
    client = make_client()
    client.app.state.registry_root = root
    lab = tmp_path / "lab"
    write_component(lab / "tool" / "1.0.0", "program", "tool", "1.0.0", description=XSS)
    api.repo_add(str(lab), name="lab")
    pack = api.pack("tool@1.0.0", tmp_path).path
    api.registry_publish(pack, publisher="alice", root=root)
    add(database, run_record(rid("a"), name="tool", version="1.0.0"))

    text = assert_page(client.get("/components?q=tool"))
    assert 'href="/components/tool/1.0.0"' in text and XSS not in text
    text = assert_page(client.get("/components/tool"))
    assert '<a href="/runs?model=tool&amp;version=1.0.0">1</a>' in text
    text = assert_page(client.get("/components/tool/1.0.0"))
    assert "kind: program" in text and rid("a")[:12] in text
    got = client.get("/components/tool/1.0.0/pack")
    assert got.status_code == 200 and got.content == pack.read_bytes()
    assert "attachment" in got.headers["content-disposition"]
    assert_page(client.get("/components/nothing"), 404)
    assert_page(client.get("/components/tool/9.9.9/pack"), 404)

    # A page at a time: the next page's link keeps the search.
    monkeypatch.setattr(pages, "COMPONENTS_PAGE", 1)
    write_component(lab / "tool" / "1.1.0", "program", "tool", "1.1.0")
    api.repo_update("lab")
    api.registry_publish(api.pack("tool@1.1.0", tmp_path).path, publisher="alice", root=root)
    text = assert_page(client.get("/components?q=tool"))
    assert 'href="/components/tool/1.1.0"' in text and 'href="/components/tool/1.0.0"' not in text
    (link,) = re.findall(r'<a rel="next" href="([^"]+)">Next page</a>', text)
    assert link.startswith("/components?q=tool&amp;cursor=")
    text = assert_page(client.get(html_module.unescape(link)))
    assert 'href="/components/tool/1.0.0"' in text and "Next page" not in text
    assert_page(client.get("/components?cursor=nonsense"), 422)


# --- reading with a token --------------------------------------------------------------------


def test_without_anonymous_reads_a_page_asks_for_a_token(
    make_client: Any, runs: list[Any], tokens: dict[str, str]
) -> None:
    client = make_client(anonymous_reads=False)
    text = assert_page(client.get("/runs?model=resnet"), 401)
    assert '<form method="post" action="/login">' in text
    assert 'name="next" value="/runs?model=resnet"' in text
    assert rid("a")[:12] not in text
    # A token in the URL is not a way in: it would be written to logs.
    assert_page(client.get(f"/runs?token={tokens['read']}"), 401)
    # The header works, as for the API.
    assert_page(client.get("/runs", headers={"Authorization": f"Bearer {tokens['read']}"}))

    refused = client.post("/login", data={"token": "reef_nonsense", "next": "/runs"})
    assert_page(refused, 401)
    assert "set-cookie" not in refused.headers

    response = client.post(
        "/login", data={"token": tokens["read"], "next": "/runs?model=resnet"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/runs?model=resnet"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    text = assert_page(client.get("/runs?model=resnet"))
    assert rid("a")[:12] in text and "Log out" in text
    assert "reef_" not in text  # the token itself is never shown

    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    assert_page(client.get("/runs"), 401)


def test_login_goes_only_to_this_server_and_only_from_its_pages(
    make_client: Any, tokens: dict[str, str]
) -> None:
    client = make_client(anonymous_reads=False)
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        " /runs",
    ):
        response = client.post(
            "/login", data={"token": tokens["read"], "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/", target
    response = client.post(
        "/login",
        data={"token": tokens["read"], "next": "/"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_a_revoked_token_in_the_cookie_asks_again(
    make_client: Any, database: api.ServerDatabase, tokens: dict[str, str]
) -> None:
    client = make_client(anonymous_reads=False)
    client.post("/login", data={"token": tokens["read"], "next": "/"})
    assert_page(client.get("/"))
    token = api.token_authenticate(tokens["read"], db=database)
    api.token_revoke(token.id, db=database)
    response = client.get("/")
    assert_page(response, 401)
    assert "reef_token=" in response.headers.get("set-cookie", "")


def test_pages_count_against_the_rate_limit(make_client: Any, runs: list[Any]) -> None:
    client = make_client(rate=0.001, burst=2)
    assert_page(client.get("/runs"))
    assert_page(client.get("/runs"))
    response = client.get("/runs")
    assert_page(response, 429)
    assert response.headers["retry-after"]


def test_dates_shown_are_utc(client: TestClient, database: api.ServerDatabase) -> None:
    add(database, run_record(rid("a"), created_at=T0 + timedelta(hours=5, minutes=7)))
    assert "2025-01-01 05:07" in client.get("/runs").text


def test_text_sorts_page_in_character_order_on_every_database(
    database: api.ServerDatabase,
) -> None:
    """Model names page in the order of their characters' codes (as SQLite and `reef runs
    list` order them), whatever a PostgreSQL database's collation would say."""
    names = ["ab", "a_c", "B", "a", "Zed", "a c", "é", "b"]
    add(database, *(run_record(f"{i:032x}", name=n, minutes=i) for i, n in enumerate(names)))
    for sort, expected in (("model", sorted(names)), ("-model", sorted(names, reverse=True))):
        got: list[str] = []
        cursor = None
        while True:
            page = api.dashboard_runs(sort=sort, limit=3, cursor=cursor, db=database)
            got += [r.model for r in page.runs]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert got == expected, sort
