"""``reef.report.figures.render_figure``: PNG, SVG and PDF files with matplotlib, and the
errors that write nothing: unknown suffix, missing folder, matplotlib not installed."""

from __future__ import annotations

import math
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reef.report.charts import (
    Bar,
    BarChart,
    Chart,
    Histogram,
    HistSeries,
    LineChart,
    Point,
    ScatterChart,
    Series,
    cdf,
)
from reef.report.errors import ReportError
from reef.report.figures import render_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def charts() -> list[Chart]:
    points = [
        Point(1.0, 100.0, "fast", group="cpu", on_frontier=True, run_id="a"),
        Point(2.0, 300.0, "balanced", group="gpu", on_frontier=True),
        Point(3.0, 200.0, "dominated", group="gpu"),
        Point(-1.0, 50.0, "negative"),
    ]
    return [
        LineChart(
            "CDF",
            "latency (ms)",
            "fraction",
            [Series(f"run {i}", *cdf([j * (i + 1) for j in range(1, 500)])) for i in range(10)],
            x_log=True,
            y_max=1.0,
            step=True,
        ),
        Histogram("hist", "ms", [HistSeries("a", [1, 2, 2, 3]), HistSeries("b", [2, 3, math.nan])]),
        BarChart("bars", "qps", [Bar("x" * 60, 10, 8, 12, group="g"), Bar("y", 5)]),
        BarChart("vertical", "qps", [Bar("a", 10), Bar("b", -3, -4, -1)], horizontal=False),
        ScatterChart("pareto", "p90 (ms)", "qps", points, x_log=True),
        ScatterChart("no data", "x", "y", []),
    ]


@pytest.fixture
def matplotlib_present() -> None:
    pytest.importorskip("matplotlib")


@pytest.mark.usefixtures("matplotlib_present")
@pytest.mark.parametrize("chart", charts(), ids=lambda c: c.title)
def test_every_chart_kind_draws_a_png(chart: Chart, tmp_path: Path) -> None:
    path = tmp_path / "figure.png"
    assert render_figure(chart, path, dpi=50) == path
    assert png_size(path) == (360, 200)
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]  # no partial file left


@pytest.mark.usefixtures("matplotlib_present")
def test_png_size_scales_with_dpi(tmp_path: Path) -> None:
    chart = charts()[0]
    assert png_size(render_figure(chart, tmp_path / "a.png", dpi=100)) == (720, 400)
    assert png_size(render_figure(chart, tmp_path / "b.PNG", dpi=200)) == (1440, 800)


@pytest.mark.usefixtures("matplotlib_present")
def test_svg_and_pdf_figures(tmp_path: Path) -> None:
    chart = charts()[4]
    svg = render_figure(chart, tmp_path / "f.svg")
    assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    again = render_figure(chart, tmp_path / "g.svg")
    assert svg.read_bytes() == again.read_bytes()  # no dates or random ids
    assert render_figure(chart, tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("name", ["figure.jpg", "figure", "figure.svgz"])
def test_unsupported_suffix_is_refused_before_anything_is_written(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # refused before matplotlib matters
    with pytest.raises(ReportError, match="cannot write a figure") as caught:
        render_figure(charts()[0], tmp_path / name)
    assert caught.value.exit_code == 2 and caught.value.hint == "name the file .png, .svg or .pdf"
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_named_and_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "missing" / "deeper"
    with pytest.raises(ReportError) as caught:
        render_figure(charts()[0], folder / "f.png")
    assert str(folder) in caught.value.message
    assert not (tmp_path / "missing").exists()


def test_missing_matplotlib_gives_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ReportError, match="needs matplotlib") as caught:
        render_figure(charts()[0], tmp_path / "f.png")
    assert caught.value.hint == "pip install 'reef-bench[report]'"
    assert caught.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []
