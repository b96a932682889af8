"""``reef board``, ``reef report`` and ``reef plot`` through the real CLI, over real runs of the
built-in classifier; the HTML report opened in headless Chromium.

The browser test needs Debian's ``chromium`` and the ``playwright`` package (both installed by
``make test`` and ``.ci/run``). Where they are missing it is skipped, except in CI, where it
fails. Its screenshot is kept in ``$REEF_TEST_ARTIFACTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from e2e_support import Benched, artifacts, assert_usage_error, chromium


def test_board_and_report_of_real_runs(benched: Benched, tmp_path: Path) -> None:
    cli = benched.reef
    board = cli.ok("board", "--json").json()
    assert [(r["scenario"], r["metric"]) for r in board["rows"]] == [
        ("MultiStream", "latency_p99"),
        ("SingleStream", "latency_p90"),
    ]
    assert {r["run_id"] for r in board["rows"]} == {r["id"] for r in benched.records}
    assert_usage_error(cli("board", "--metric", "speed"), "unknown metric 'speed'", "latency_p90")

    out = tmp_path / "report.html"
    written = cli.ok("report", "-o", str(out), "--json").json()
    assert written == {
        "path": str(out),
        "format": "html",
        "runs": 2,
        "figures": [],
        "warnings": [],
    }
    md = cli.ok("report", "-o", str(tmp_path / "paper.md"), "--figures", "png", "--json").json()
    # Per scenario: the raw CDF, LoadGen's percentiles, the raw histogram; 2 bars; 1 scatter.
    assert md["format"] == "md" and len(md["figures"]) == 9
    for figure in md["figures"]:
        assert Path(figure).read_bytes()[:4] == b"\x89PNG"

    plot = cli.ok("plot", "cdf", "-o", str(tmp_path / "cdf.svg"))
    assert plot.says("wrote", "cdf.svg", "(2 of 2 runs drawn)")
    ElementTree.parse(tmp_path / "cdf.svg")

    refused = cli("report", "-o", str(tmp_path / "missing" / "r.html"))
    assert_usage_error(refused, "folder", "does not exist")
    refused = cli("plot", "pareto", "-o", str(tmp_path / "p.svg"), "--objective", "speed:max",
                  "--objective", "accuracy:max")  # fmt: skip
    assert_usage_error(refused, "unknown metric 'speed'")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cdf.svg",
        "paper.md",
        "paper_figures",
        "report.html",
    ]


@pytest.mark.slow
def test_the_report_renders_in_headless_chromium(benched: Benched, tmp_path: Path) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    benched.reef.ok("report", "-o", str(out), "--title", "Browser check")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(out.as_uri())
            page.wait_for_selector("html[data-ready=yes]", timeout=10_000)

            figures = page.locator("figure svg")
            # per scenario: raw CDF, LoadGen percentiles, histogram; 2 throughput charts; Pareto
            assert figures.count() == 9
            for i in range(figures.count()):
                svg = figures.nth(i)
                box = svg.bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 100
                marks = svg.locator(".series, .point, .bar")
                assert marks.count() >= 1, f"figure {i} drew no data"
                drawn = marks.first.bounding_box()
                assert drawn is not None and drawn["width"] + drawn["height"] > 2

            # The page script: a click on a heading sorts, pointing at a run marks its row.
            table = page.locator("#runs table")
            heading = table.locator("th", has_text="p50 ms")
            heading.click()
            assert heading.get_attribute("aria-sort") == "ascending"
            values = [float(v) for v in table.locator("tbody td.num:nth-child(8)").evaluate_all(
                "cells => cells.map(c => c.getAttribute('data-v'))"
            )]  # fmt: skip
            assert values == sorted(values)
            run = benched.records[0]["id"]
            mark = page.locator(f'figure [data-run="{run}"]').first
            mark.dispatch_event("mouseenter")
            row = page.locator(f'#runs tr[data-run="{run}"]')
            assert "hl" in (row.get_attribute("class") or "")
            mark.dispatch_event("mouseleave")

            page.screenshot(path=str(artifacts() / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert (artifacts() / "report.png").stat().st_size > 10_000
