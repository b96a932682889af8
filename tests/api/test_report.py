"""``reef.api.report``: HTML and Markdown reports and single plots of stored runs, what they
contain, and every bad input refused before anything is written."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from factories import rid, run_record, scaled
from reef.api import plot, report
from reef.errors import FileRefused, RunNotFound
from reef.meta.run import (
    LoadGenInfo,
    RunRecord,
)
from reef.report.errors import ReportError
from reef.results import Store
from reef.results.query import NoRunsMatch, RunFilter


def record(
    run_id: str,
    *,
    p50: float = 2.0,
    qps: float = 400.0,
    acc: float | None = 0.9,
    scenario: str = "SingleStream",
    name: str = "resnet",
    status: str = "valid",
    raw: bool = True,
    minutes: int = 0,
) -> RunRecord:
    latencies = [int(p50 * 1e6 * (0.8 + 0.4 * i / 99)) for i in range(100)] if raw else None
    reasons = ["Min duration not satisfied"] if status == "invalid" else []
    return run_record(
        rid(run_id),
        minutes=minutes,
        status=status,
        reasons=reasons,
        name=name,
        path="/m",
        sha256="ab" * 32,
        scenario=scenario,
        loadgen=LoadGenInfo(
            version="5.1",
            result="INVALID" if status == "invalid" else "VALID",
            reasons=reasons,
        ),
        latency_ms=scaled(p50, min=0.8, p90=1.1, p95=1.15, p99=1.2, max=1.2),
        throughput_qps=qps,
        queries=100,
        accuracy=acc,
        environment={
            "hash": "e" * 32,
            "hardware": {"cpu": {"model": "AMD EPYC", "logical_cores": 2}},
            "os": {"system": {"name": "Linux", "kernel": "6.1"}},
            "software": {"python": {"version": "3.11.9"}},
        },
        raw=latencies,
    )


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        s.add_many(
            [
                record("a1", p50=1.0, acc=0.80, minutes=1),
                record("a2", p50=2.0, acc=0.90, minutes=2),
                record("a3", p50=3.0, acc=0.85, minutes=3, status="invalid", raw=False),
                record("b1", scenario="Offline", qps=900, minutes=4, name="bert<&>"),
            ]
        )
        yield s


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def svgs(html: str) -> list[ElementTree.Element]:
    return [ElementTree.fromstring(m) for m in re.findall(r"<svg.*?</svg>", html, re.S)]


def test_html_report_is_self_contained_and_has_every_section(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = report(out, title="Nightly <resnet>")
    assert result.runs == 4 and result.format == "html" and result.figures == []
    html = out.read_text()
    assert "<title>Nightly &lt;resnet&gt;</title>" in html
    for heading in (
        "Runs",
        "Latency",
        "Throughput",
        "Pareto frontier",
        "LoadGen verdicts",
        "Environments",
    ):
        assert f"<h2>{heading}</h2>" in html
    # Offline: nothing fetched from anywhere.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    figures = svgs(html)
    # For resnet SingleStream and bert Offline: the raw CDF, LoadGen's percentiles and the
    # histogram; 2 throughput bars; the Pareto scatter.
    assert len(figures) == 9
    assert all(len(list(f.iter())) > 10 for f in figures)
    # Every run is a row the page can link its plotted marks to.
    for run_id in ("a1", "a2", "a3", "b1"):
        assert f'<tr data-run="{rid(run_id)}">' in html
    assert "bert&lt;&amp;&gt;" in html and "bert<&>" not in html
    assert "Min duration not satisfied" in html
    assert "1 run(s) kept no raw latencies." in html  # a3: in LoadGen's figure alone
    assert "LoadGen latency per sample (ms), issue to answer" in html
    assert "compute time per batch (ms), timed by the system under test" in html  # bert Offline
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)
    assert listing(tmp_path) == ["report.html"]  # no temporary files left


def test_markdown_report_links_figure_files(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "paper.md"
    result = report(out, run_filter=RunFilter(model="resnet"))
    text = out.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    # raw CDF, LoadGen percentiles, histogram, throughput, Pareto
    assert len(links) == len(result.figures) == 5
    for link in links:
        svg = (tmp_path / link).read_text()
        ElementTree.fromstring(svg)
    assert listing(tmp_path) == ["paper.md", "paper_figures"]
    assert "| run | model | scenario |" in text
    assert "---:" in text


def test_markdown_report_with_png_figures(store: Store, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "paper.md"
    result = report(out, figure_format="png", run_filter=RunFilter(scenario="Offline"))
    assert result.figures
    for figure in result.figures:
        assert Path(figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_again_replaces_the_old_one(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "paper.md"
    report(out, run_filter=RunFilter(model="resnet"))
    (tmp_path / "paper_figures" / "stale.svg").write_text("<svg/>")
    report(out, run_filter=RunFilter(scenario="Offline"))
    assert "stale.svg" not in listing(tmp_path / "paper_figures")
    assert listing(tmp_path) == ["paper.md", "paper_figures"]


def test_runs_by_id_and_the_limit(store: Store, tmp_path: Path) -> None:
    assert report(tmp_path / "a.html", ["a1", rid("b1")]).runs == 2
    result = report(tmp_path / "b.html", limit=2)
    assert result.runs == 2
    assert result.warnings == ["4 runs match; the report covers the newest 2 (--limit)"]


def test_pareto_axes_can_be_chosen(store: Store, tmp_path: Path) -> None:
    report(tmp_path / "r.html", objectives=["latency_p50:min", "throughput:max"])
    html = (tmp_path / "r.html").read_text()
    assert "latency_p50 (ms)" in html and "throughput (qps)" in html


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d: report(d / "nope" / "r.html"), FileRefused, "does not exist"),
        (lambda d: report(d), FileRefused, "is a directory"),
        (lambda d: report(d / "r.html", format="pdf"), ReportError, "unknown format"),  # type: ignore[arg-type]
        (lambda d: report(d / "r.html", figure_format="png"), ReportError, "Markdown reports"),
        (lambda d: report(d / "r.md", figure_format="gif"), ReportError, "unknown figure format"),
        (
            lambda d: report(d / "r.html", ["a1"], run_filter=RunFilter(model="resnet")),
            ReportError,
            "not both",
        ),
        (lambda d: report(d / "r.html", ["zz"]), RunNotFound, "zz"),
        (
            lambda d: report(d / "r.html", run_filter=RunFilter(model="vgg")),
            NoRunsMatch,
            "--model vgg",
        ),
        (
            lambda d: report(d / "r.html", objectives=["speed:max", "accuracy:max"]),
            ReportError,
            "unknown metric",
        ),
        (lambda d: report(d / "r.html", objectives=["accuracy:max"]), ReportError, "2 objectives"),
        (lambda d: report(d / "r.html", limit=0), ReportError, "--limit"),
        (lambda d: plot("violin", d / "p.svg"), ReportError, "unknown plot"),
        (lambda d: plot("cdf", d / "p.gif"), ReportError, "figure format"),
        (lambda d: plot("cdf", d / "p.svg", max_series=0), ReportError, "--max-series"),
        (lambda d: plot("histogram", d / "p.svg", ["a3"]), ReportError, "raw latencies"),
        (
            lambda d: plot("pareto", d / "p.svg", objectives=["samples:max", "accuracy.f1:max"]),
            ReportError,
            "none of the 4 selected runs has both",
        ),
    ],
)
def test_bad_input_writes_nothing(
    store: Store, tmp_path: Path, call: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call(tmp_path)  # type: ignore[operator]
    assert listing(tmp_path) == []


def test_an_ambiguous_prefix_lists_the_candidates(store: Store, tmp_path: Path) -> None:
    with pytest.raises(RunNotFound) as e:
        report(tmp_path / "r.html", ["a"])
    assert rid("a1") in (e.value.hint or "") and "resnet@1.0" in (e.value.hint or "")
    assert listing(tmp_path) == []


def test_png_without_matplotlib_says_how_to_get_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(ReportError, match="matplotlib") as e:
        plot("cdf", tmp_path / "p.png")
    assert "reef-bench[report]" in (e.value.hint or "")
    with pytest.raises(ReportError, match="matplotlib"):
        report(tmp_path / "r.md", figure_format="png")
    assert listing(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_folder_is_refused(store: Store, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ReportError, match="cannot write"):
        report(locked / "r.html")


def test_plots(store: Store, tmp_path: Path) -> None:
    result = plot(
        "cdf", tmp_path / "cdf.svg", run_filter=RunFilter(scenario="SingleStream"), max_series=2
    )
    assert (result.series, result.runs) == (2, 3)
    assert result.warnings == [
        "showing 2 of 3 runs, spread by median latency",
        "drawn from LoadGen's percentiles: not every run kept raw latencies (or their raw "
        "timings mean different things), and the two are not mixed in one figure",
    ]
    root = ElementTree.fromstring((tmp_path / "cdf.svg").read_text())
    assert root.tag.endswith("svg")
    html = plot("pareto", tmp_path / "front.html").path
    assert len(svgs(Path(html).read_text())) == 1
    mixed = plot("histogram", tmp_path / "h.svg", ["a1", "b1"])
    assert "the runs are of different models or scenarios" in mixed.warnings
    bars = plot("throughput", tmp_path / "t.svg", max_series=1)
    assert bars.series == 1 and "b1" in (tmp_path / "t.svg").read_text().replace(rid("b1"), "b1")


def test_png_plot(store: Store, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot("throughput", tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_a_histogram_leaves_out_a_long_tail_and_says_so(store: Store, tmp_path: Path) -> None:
    tailed = record("t1", p50=2.0)
    assert tailed.latencies_ns is not None
    tailed.latencies_ns = [*tailed.latencies_ns[:-1], 500_000_000]  # one 500 ms query
    store.add(tailed)
    result = plot("histogram", tmp_path / "h.svg", ["t1"])
    assert result.warnings == [
        "1 of 100 latencies above 2.39 ms (the 99.5th percentile) are left out; "
        "the slowest is 500 ms."
    ]
    svg = (tmp_path / "h.svg").read_text()
    assert ">500<" not in svg  # the axis ends near the body, not at the outlier
    report(tmp_path / "r.html", ["t1", "a1"])
    assert "latencies above" in (tmp_path / "r.html").read_text()
    # Without such a tail, nothing is left out.
    assert plot("histogram", tmp_path / "h2.svg", ["a1"]).warnings == []
