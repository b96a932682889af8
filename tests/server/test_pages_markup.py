"""The dashboard's building blocks: HTML escaped by construction (reef.server.web.markup) and
the SVG charts' scales and marks (reef.server.web.charts), including degenerate data."""

from __future__ import annotations

import math
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest

pytest.importorskip("fastapi", reason="the server needs reef-bench[server]")

from reef.server.web import charts
from reef.server.web.markup import Safe, esc, html, join, number, options, segment, url

XSS = "<script>alert('1')</script>"


def test_values_are_escaped_unless_safe() -> None:
    assert html("<td>{}</td>", XSS) == "<td>&lt;script&gt;alert(&#x27;1&#x27;)&lt;/script&gt;</td>"
    assert html('<a title="{t}">', t='x" onclick="y') == '<a title="x&quot; onclick=&quot;y">'
    assert html("<p>{}</p>", Safe("<b>kept</b>")) == "<p><b>kept</b></p>"
    assert html("{}{}", None, 3) == "3"
    assert join(["<", Safe("<br>")], " ") == "&lt; <br>"
    assert esc(esc("<")) == "&lt;"  # escaping once, not twice
    assert isinstance(html("{}", "x"), Safe)


def test_urls_leave_out_empty_values_and_repeat_lists() -> None:
    assert url("/runs", {"model": "a b", "tag": "", "x": None}) == "/runs?model=a+b"
    assert url("/compare", {"run": ["a", "b"]}) == "/compare?run=a&run=b"
    assert url("/runs") == "/runs"
    assert segment("../x y") == "..%2Fx%20y"
    assert html('<a href="{}">', url("/r", {"q": '"><x'})) == '<a href="/r?q=%22%3E%3Cx">'


def test_numbers_and_options() -> None:
    assert [number(v) for v in (None, math.nan, 12_345.6, 0.000123456, 3, 2.5)] == [
        "-", "-", "12,346", "0.0001235", "3", "2.5",
    ]  # fmt: skip
    got = options([("a", "A"), ("<b>", "B")], "<b>")
    assert got == '<option value="a">A</option><option value="&lt;b&gt;" selected>B</option>'


def test_ticks_and_scales() -> None:
    assert charts.nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    assert charts.nice_ticks(3, 3) == [3]
    wide = charts.scale([0.01, 500.0], 0, 100)
    assert wide.log and wide.ticks() == [0.01, 0.1, 1.0, 10.0, 100.0]
    narrow = charts.scale([1.0, 2.0], 0, 100)
    assert not narrow.log and 0 < narrow(1.0) < narrow(2.0) < 100
    flat = charts.Scale(5.0, 5.0, 0, 100)
    assert flat(5.0) == 50


@pytest.mark.parametrize(
    "points",
    [[], [(1.0, 1.0)], [(1.0, 0.5), (1.0, 1.0)], [(0.001, 0.1), (900.0, 1.0)]],
)
def test_charts_are_valid_svg_whatever_the_data(points: list[tuple[float, float]]) -> None:
    svg = charts.cdf(points, {"p50": points[0][0] if points else 0.0}, len(points))
    ElementTree.fromstring(svg)
    assert "nan" not in svg and "inf" not in svg
    edges = [p[0] for p in points] or [0.0, 1.0]
    svg = charts.histogram(edges, [1] * (len(edges) - 1))
    ElementTree.fromstring(svg)


def test_the_scatter_links_points_and_draws_many_as_density() -> None:
    front = [charts.Point("f1", 1.0, 10.0, XSS), charts.Point("f2", 2.0, 20.0, "b")]
    few = [SimpleNamespace(id=f"d{i}", values=[3.0 + i, 5.0]) for i in range(3)]
    svg = charts.scatter(front, few, lambda i, x, y: f"{i} {x}", "x", "y")
    ElementTree.fromstring(svg)
    assert svg.count('<a href="/runs/') == 5 and "&lt;script&gt;" in svg
    many = [
        SimpleNamespace(id=f"d{i}", values=[1.0 + i % 97, 1.0 + i % 89])
        for i in range(charts.MAX_POINTS + 1)
    ]
    svg = charts.scatter(front, many, lambda i, x, y: "", "x", "y")
    ElementTree.fromstring(svg)
    assert svg.count('<a href="/runs/') == 2 and 'class="density' in svg
    assert len(svg) < 400_000
