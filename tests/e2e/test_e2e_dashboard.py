"""The web dashboard in headless Chromium, against a real `reef server` on 127.0.0.1 and a
free port with a temporary REEF_HOME: real runs of the built-in classifier submitted with
`reef bench --submit` (LoadGen's logs kept by the server), generated runs beside them, and a
run whose name and tags hold a script. Every page loads with no console error; filters,
sorting, pagination, compare, a Pareto point's link and the login form work; the script is
shown as text and never runs.

Needs Debian's ``chromium`` and the ``playwright`` package (both installed by ``make test``
and ``.ci/run``): skipped where they are missing, except in CI, where it fails. Screenshots
are kept in ``$REEF_TEST_ARTIFACTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef, artifacts, chromium, free_port

pytest.importorskip("fastapi", reason="the server needs reef-bench[server]")
pytest.importorskip("uvicorn", reason="the server needs reef-bench[server]")

XSS = "<script>alert(1)</script>"
READY_TIMEOUT_S = 60
GENERATED = 45


@contextmanager
def reef_server(cli: Reef, log: Path, *options: str) -> Iterator[str]:
    """`reef server` on a free port of 127.0.0.1, ready; stopped with SIGTERM after."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cli.argv("server", "--host", "127.0.0.1", "--port", str(port), *options),
            env=cli.env,
            cwd=cli.cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"reef server exited {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(url + "/api/v1/health", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"reef server not ready: {log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def generated_runs(home: Path) -> None:
    """Runs beside the real ones, straight into the server's database: enough for pages of
    20, and one whose name, tags and reasons hold a script."""
    from factories import run_record
    from reef import api
    from reef.meta.run import Target

    records = [
        run_record(
            f"{(i + 1) * 0x9E3779B97F4A7C15 % 2**128:032x}",
            name=("resnet50", "bert-base", "mobilenet")[i % 3],
            scenario=("SingleStream", "Offline", "Server")[i % 3],
            minutes=i,
            throughput_qps=100.0 + 37 * (i % 11),
            latency_ms={
                "min": 1,
                "mean": 2,
                "p50": 2.0 + i % 5,
                "p90": 3.0 + (i * 7) % 13,
                "p95": 20,
                "p99": 25,
                "max": 30,
            },
            accuracy=0.7 + (i % 9) / 100,
            environment={"hardware": {"cpu": {"model": ("EPYC 7763", "Xeon 8480")[i % 2]}}},
        )
        for i in range(GENERATED)
    ]
    bad = run_record("e" * 32, name=XSS, status="invalid", reasons=[XSS], minutes=60)
    target = Target.model_validate({**bad.target.model_dump(), "tags": [XSS]})
    records.append(bad.model_copy(update={"target": target}))
    with api.server_open(f"sqlite:///{home / 'server' / 'reef-server.db'}") as db:
        db.store.add_many(records)


class Browser:
    """A Chromium page that records console errors, page errors, failed requests and
    dialogs (an ``alert`` would be one)."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console {m.type}: {m.text} at {page.url}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: str, status: int = 200) -> Any:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.status == status, (path, response)
        self.page.wait_for_selector("html[data-ready=yes]", state="attached", timeout=10_000)
        return response

    def path(self) -> str:
        return str(self.page.url).removeprefix(self.base)


@pytest.mark.slow
def test_the_dashboard_in_headless_chromium(reef: Reef, tmp_path: Path) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    submit = reef.ok("token", "create", "--scope", "submit", "--json").json()["token"]
    read = reef.ok("token", "create", "--scope", "read", "--json").json()["token"]
    generated_runs(reef.home)
    client = Reef(tmp_path / "client-home", reef.cwd)
    with reef_server(reef, tmp_path / "server.log") as url:
        bench = client(
            "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "SingleStream", "--scenario",
            "Offline", "--raw-latencies", "--submit", url, "--json",
            env={"REEF_TOKEN": submit},
        )  # fmt: skip
        assert bench.rc in (0, 1), str(bench)
        real = [r["id"] for r in bench.json()]
        assert bench.says("2 accepted"), str(bench)
        with sync_playwright() as p:
            chrome = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                page = chrome.new_page(viewport={"width": 1400, "height": 1000})
                b = Browser(page, url)
                browse(b, real)
                page.screenshot(path=str(artifacts() / "dashboard-runs.png"), full_page=True)
            finally:
                chrome.close()
            assert b.errors == [] and b.dialogs == []

    # Reads that need a token: the login form, then every page.
    closed = reef_server(reef, tmp_path / "closed.log", "--no-anonymous-reads")
    with closed as url, sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            b = Browser(chrome.new_page(), url)
            log_in(b, read)
        finally:
            chrome.close()
        # A 401 page is a failed load the browser reports: that one alone.
        assert [e for e in b.errors if "401" not in e] == [] and b.dialogs == []


def browse(b: Browser, real: list[str]) -> None:
    page = b.page
    for path in ("/", "/runs", "/compare", "/pareto", "/board", "/components", "/submissions"):
        b.open(path)
        assert page.locator("main h1").count() == 1, path

    # Filters: the form's fields become the URL, empty ones left out.
    b.open("/runs")
    assert page.locator("table.runs tbody tr").count() == GENERATED + 1 + len(real)
    page.select_option("select[name=model]", DIGITS_CLASSIFIER)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    query = parse_qs(urlsplit(b.path()).query, keep_blank_values=True)
    assert query == {"model": [DIGITS_CLASSIFIER], "sort": ["-created_at"], "limit": ["50"]}
    rows = page.locator("table.runs tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.run)")) == sorted(real)
    assert page.locator(".count").inner_text() == "2 runs match"

    # Pages of 20: next, next, then no more; the first page again.
    b.open("/runs?limit=20")
    seen: list[str] = []
    for _ in range(5):
        seen += page.locator("table.runs tbody tr").evaluate_all("rs => rs.map(r => r.dataset.run)")
        following = page.locator("a[rel=next]").first
        if following.count() == 0:
            break
        following.click()
        page.wait_for_load_state("load")
        assert "cursor=" in b.path()
    assert len(seen) == GENERATED + 1 + len(real) == len(set(seen))
    page.click("text=first page")
    page.wait_for_load_state("load")
    assert "cursor" not in b.path()

    # Sorting by a column's heading.
    b.open("/runs")
    page.click("table.runs th a:has-text('p90 ms')")
    page.wait_for_load_state("load")
    assert "sort=-p90" in b.path()
    values = page.locator("table.runs tbody td.num:nth-child(9)").all_inner_texts()
    numbers = [float(v.replace(",", "")) for v in values if v != "-"]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 10

    # Compare: two runs ticked, then the verdict.
    b.open(f"/runs?model={DIGITS_CLASSIFIER}")
    button = page.locator("#compare ~ .pager button, .pager button[form=compare]").first
    assert button.is_disabled()
    for run_id in real:
        page.check(f"input[form=compare][value='{run_id}']")
    assert button.is_enabled() and button.inner_text() == "Compare 2 runs"
    button.click()
    page.wait_for_load_state("load")
    assert b.path().startswith("/compare?run=")
    assert page.locator(".verdict").count() == 1
    assert re.search(r"B vs A", page.locator("main").inner_text())

    # A real run: its charts, LoadGen's logs kept by the server, downloadable.
    b.open(f"/runs/{real[0]}")
    for chart in ("svg.cdf", "svg.histogram"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, chart
    assert page.locator("svg.histogram rect.bar").count() >= 3
    log = page.locator("a[href$='performance/mlperf_log_summary.txt']").first
    got = page.request.get(b.base + str(log.get_attribute("href")))
    assert got.status == 200 and "Result is" in got.text()
    page.screenshot(path=str(artifacts() / "dashboard-run.png"), full_page=True)

    # Pareto: a frontier point opens its run.
    b.open("/pareto?objective=latency_p90:min&objective=throughput:max")
    point = page.locator("svg.scatter a:has(circle.frontier)").first
    target = str(point.get_attribute("data-run"))
    point.click()
    page.wait_for_load_state("load")
    assert b.path() == f"/runs/{target}"
    b.open("/board")
    assert page.locator("input[name=verified]").is_enabled()
    assert page.locator("main table").count() >= 1

    # The script in a run's name, tags and reasons is text, and never runs.
    for path in ("/runs", f"/runs/{'e' * 32}", "/runs?status=invalid", "/submissions", "/"):
        b.open(path)
        assert XSS in page.locator("main").inner_text(), path
    assert page.evaluate("document.querySelectorAll('main script').length") == 0


def log_in(b: Browser, token: str) -> None:
    page = b.page
    b.open("/runs?model=resnet50", status=401)
    assert page.locator("form[action='/login'] input[name=token]").count() == 1
    page.fill("input[name=token]", token)
    page.click("form[action='/login'] button")
    page.wait_for_load_state("load")
    assert b.path() == "/runs?model=resnet50"
    assert page.locator("table.runs tbody tr").count() == 15
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
        ("reef_token", True, "Strict")
    ]
    assert page.evaluate("document.cookie") == ""
    for path in ("/", "/pareto", "/board", "/submissions"):
        b.open(path)
    page.click("header button:has-text('Log out')")
    page.wait_for_load_state("load")
    assert page.context.cookies() == []
