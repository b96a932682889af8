"""The dashboard's style sheet and script, served by the server itself (no CDN, nothing
downloaded at run time): kept here as text so that the wheel needs no data files."""

from __future__ import annotations

import hashlib

CSS = """
:root { --fg: #1d2430; --muted: #5b6576; --line: #d8dde6; --bg: #fff; --accent: #0b6bcb;
  --good: #1a7f37; --bad: #c62828; --warn: #9a6700; --soft: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
header { background: #12263f; color: #fff; }
header nav { display: flex; gap: 1.1em; align-items: center; padding: .6em 1.2em;
  flex-wrap: wrap; }
header a { color: #dbe7ff; text-decoration: none; }
header a.here, header a:hover { color: #fff; text-decoration: underline; }
header .brand { font-weight: 700; color: #fff; margin-right: .6em; }
header form { margin-left: auto; }
main { padding: 1em 1.2em 3em; max-width: 1500px; }
footer { color: var(--muted); padding: 1em 1.2em; border-top: 1px solid var(--line); }
h1 { font-size: 1.45em; margin: .3em 0 .6em; }
h2 { font-size: 1.15em; margin: 1.4em 0 .5em; }
h3 { font-size: 1em; margin: 1em 0 .4em; }
a { color: var(--accent); }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border-bottom: 1px solid var(--line); padding: .28em .6em; text-align: left;
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.when { white-space: nowrap; }
td.id, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .92em; }
tr.differs td, tr.differs th { background: #fff6dc; }
.table-wrap { overflow-x: auto; }
.muted { color: var(--muted); }
.status { font-weight: 600; }
.status-valid, .verdict-reproduced, .VALID { color: var(--good); }
.status-invalid, .status-failed, .verdict-differs, .INVALID { color: var(--bad); }
.status-interrupted, .verdict-inconclusive { color: var(--warn); }
.tag { display: inline-block; background: var(--soft); border: 1px solid var(--line);
  border-radius: 3px; padding: 0 .35em; margin: 0 .2em .1em 0; font-size: .88em; }
form.filters { display: flex; flex-wrap: wrap; gap: .5em .9em; align-items: end;
  background: var(--soft); padding: .7em .8em; border: 1px solid var(--line);
  border-radius: 4px; margin-bottom: 1em; }
form.filters label { display: flex; flex-direction: column; font-size: .86em;
  color: var(--muted); gap: .15em; }
form.filters label.check { flex-direction: row; align-items: center; gap: .35em; }
input, select, button { font: inherit; padding: .22em .4em; }
input[type=text], input[type=search], input[type=password] { min-width: 9em; }
button { cursor: pointer; }
.pager { display: flex; gap: 1.2em; align-items: center; margin: .6em 0; }
.note { background: #eef4fd; border-left: 3px solid var(--accent); padding: .5em .8em;
  margin: .6em 0; }
.error { background: #fdecea; border-left: 3px solid var(--bad); padding: .6em .9em;
  margin: .6em 0; }
.warning { color: var(--warn); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr));
  gap: 1.2em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: .4em 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
pre { background: var(--soft); border: 1px solid var(--line); padding: .7em; overflow: auto;
  max-height: 32em; }
svg.chart { width: 100%; max-width: 720px; height: auto; background: #fff;
  border: 1px solid var(--line); }
svg .grid { stroke: #eceff4; }
svg .axis { stroke: #8a94a6; }
svg .tick { fill: var(--muted); font-size: 11px; }
svg .label { fill: var(--fg); font-size: 12px; }
svg .series { fill: none; stroke: var(--accent); stroke-width: 2; }
svg .series.frontier { stroke: var(--bad); stroke-width: 1.5; }
svg .mark { stroke: var(--warn); stroke-dasharray: 4 3; }
svg .marklabel { fill: var(--warn); font-size: 11px; }
svg .bar { fill: var(--accent); opacity: .85; }
svg .point.frontier { fill: var(--bad); stroke: #fff; stroke-width: 1.5; }
svg .point.dominated { fill: #8a94a6; opacity: .6; }
svg a:hover .point { stroke: var(--fg); stroke-width: 2; }
svg .density { fill: #5b6576; }
svg .density.d1 { opacity: .15; } svg .density.d2 { opacity: .3; }
svg .density.d3 { opacity: .5; } svg .density.d4 { opacity: .75; }
.login { max-width: 28em; }
.login input { width: 100%; }
"""

JS = """
"use strict";
// Reef's dashboard: small conveniences; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // A filter form leaves its empty fields out of the URL, so that links stay short.
  for (const form of document.querySelectorAll("form[method=get]")) {
    form.addEventListener("submit", () => {
      const off = [];
      for (const field of form.elements) {
        if (field.name && field.value === "" && !field.disabled) {
          field.disabled = true;
          off.push(field);
        }
      }
      setTimeout(() => { for (const field of off) field.disabled = false; }, 0);
    });
  }
  // Fields marked data-autosubmit submit their form when changed.
  for (const field of document.querySelectorAll("[data-autosubmit]")) {
    field.addEventListener("change", () => field.form && field.form.requestSubmit());
  }
  // Compare: between 2 and 5 runs ticked.
  const button = document.querySelector("button[form=compare]");
  if (button) {
    const boxes = () => document.querySelectorAll("input[type=checkbox][form=compare]");
    const update = () => {
      const n = [...boxes()].filter((b) => b.checked).length;
      button.disabled = n < 2 || n > 5;
      button.textContent = n ? `Compare ${n} runs` : "Compare runs";
    };
    for (const box of boxes()) box.addEventListener("change", update);
    update();
  }
  document.documentElement.dataset.ready = "yes";
});
"""


def _version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


CSS_VERSION = _version(CSS)
JS_VERSION = _version(JS)
