"""A ``Document`` as one self-contained HTML page: styles, scripts and SVG figures are inlined,
so the file opens offline, from a mail attachment or a CI artifact, as it is.

The page script is small and optional (the report reads the same without it): tables sort by
a click on a heading, the runs table filters as one types, and pointing at a run, in a table
or a chart, marks that run everywhere on the page.
"""

from __future__ import annotations

from html import escape

from reef.report.document import Block, Column, Document, Figure, Paragraph, Table, format_cell
from reef.report.svg import render_svg

__all__ = ["render_html"]

_STYLE = """
:root { --fg: #1b1f24; --muted: #5a636e; --line: #d8dde3; --band: #f5f7f9; --mark: #ffe9a8;
  --warn: #8a4b00; --warn-bg: #fff4e0; --accent: #0b62a4; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  margin: 0 auto; padding: 24px 32px 64px; max-width: 1280px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 12px;
  color: var(--muted); }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav.toc a { margin-right: 14px; color: var(--accent); text-decoration: none; }
p.note { color: var(--muted); }
p.warning, ul.warnings li { color: var(--warn); background: var(--warn-bg); padding: 4px 8px;
  border-radius: 4px; list-style: none; margin: 4px 0; }
ul.warnings { padding: 0; }
.table-wrap { overflow-x: auto; max-height: 560px; overflow-y: auto; border: 1px solid var(--line);
  border-radius: 4px; margin: 8px 0 16px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; padding: 6px 8px; color: var(--muted); }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
th { position: sticky; top: 0; background: var(--band); cursor: pointer; user-select: none; }
th.num, td.num { text-align: right; }
th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
tr.hl td { background: var(--mark); }
div.figures { display: flex; flex-wrap: wrap; gap: 8px 24px; }
figure { margin: 12px 0 16px; flex: 1 1 520px; max-width: 760px; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; }
.hl { stroke-width: 3px; opacity: 1 !important; }
input.filter { font: inherit; padding: 4px 8px; width: 320px; border: 1px solid var(--line);
  border-radius: 4px; }
details > summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; }
"""

_SCRIPT = """
"use strict";
(function () {
  function cellValue(td) {
    var v = td.getAttribute("data-v");
    if (v !== null) { var n = parseFloat(v); return isNaN(n) ? v : n; }
    return td.textContent.trim().toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var descending = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[index]), y = cellValue(b.cells[index]);
      var blankX = x === "" || x === "-", blankY = y === "" || y === "-";
      if (blankX !== blankY) { return blankX ? 1 : -1; }
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function mark(run, on) {
    if (!run) { return; }
    document.querySelectorAll('[data-run="' + run + '"]').forEach(function (el) {
      el.classList.toggle("hl", on);
    });
  }
  document.querySelectorAll("th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  document.querySelectorAll("[data-run]").forEach(function (el) {
    var run = el.getAttribute("data-run");
    el.addEventListener("mouseenter", function () { mark(run, true); });
    el.addEventListener("mouseleave", function () { mark(run, false); });
    if (el.tagName.toLowerCase() !== "tr") {
      el.addEventListener("click", function () {
        var row = document.querySelector('tr[data-run="' + run + '"]');
        if (row) { row.scrollIntoView({block: "center"}); }
      });
    }
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  });
  document.documentElement.setAttribute("data-ready", "yes");
})();
"""

# A table longer than this starts folded when it asks to be.
_FOLD_ROWS = 25


def render_html(document: Document, *, generator: str = "Reef") -> str:
    """The whole page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{escape(generator)}">',
        f"<title>{escape(document.title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(document.title)}</h1>",
        _facts(document.facts),
        _toc(document),
    ]
    if document.warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in document.warnings)
        parts.append(f'<ul class="warnings">{items}</ul>')
    tables = 0
    for section in document.sections:
        parts.append(f'<section id="{escape(section.anchor)}">')
        parts.append(f"<h2>{escape(section.title)}</h2>")
        in_figures = False
        for block in section.blocks:
            # Figures in a row share a flexible grid: two side by side on a wide screen.
            if isinstance(block, Figure) != in_figures:
                in_figures = not in_figures
                parts.append('<div class="figures">' if in_figures else "</div>")
            if isinstance(block, Table):
                tables += 1
                parts.append(_table(block, f"t{tables}"))
            else:
                parts.append(_block(block))
        if in_figures:
            parts.append("</div>")
        parts.append("</section>")
    parts.append(f"<footer>Made by {escape(generator)}; works offline.</footer>")
    parts.append(f"<script>{_SCRIPT}</script>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def _facts(facts: list[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{rows}</dl>'


def _toc(document: Document) -> str:
    links = " ".join(
        f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in document.sections
    )
    return f'<nav class="toc">{links}</nav>'


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f'<p class="{block.tone}">{escape(block.text)}</p>'
    if isinstance(block, Figure):
        caption = f"<figcaption>{escape(block.caption)}</figcaption>" if block.caption else ""
        svg = render_svg(block.chart, chart_id=block.name)
        return f'<figure id="{escape(block.name)}">{svg}{caption}</figure>'
    raise TypeError(f"unknown block {type(block).__name__}")


def _table(table: Table, table_id: str) -> str:
    head = "".join(
        f'<th class="num">{escape(c.name)}</th>' if c.numeric else f"<th>{escape(c.name)}</th>"
        for c in table.columns
    )
    body = []
    for index, row in enumerate(table.rows):
        cells = "".join(
            _cell(value, column) for value, column in zip(row, table.columns, strict=True)
        )
        run = table.run_ids[index] if table.run_ids else None
        attribute = f' data-run="{escape(run)}"' if run else ""
        body.append(f"<tr{attribute}>{cells}</tr>")
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    html = (
        f'<div class="table-wrap"><table id="{table_id}">{caption}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
    if table.run_ids and len(table.rows) > 1:
        html = (
            f'<input class="filter" type="search" data-table="{table_id}" '
            f'placeholder="filter rows: words in any column" aria-label="filter rows">{html}'
        )
    if table.collapsed and len(table.rows) > _FOLD_ROWS:
        html = f"<details><summary>{len(table.rows):,} rows</summary>{html}</details>"
    return html


def _cell(value: object, column: Column) -> str:
    text = escape(format_cell(value, column))  # type: ignore[arg-type]
    if column.numeric:
        raw = "" if value is None else escape(str(value))
        return f'<td class="num" data-v="{raw}">{text}</td>'
    return f"<td>{text}</td>"
