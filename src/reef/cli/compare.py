"""reef compare A B [C ...]"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from reef.cli._common import emit_json, fmt, stderr, stdout

if TYPE_CHECKING:
    from rich.table import Table

    from reef.api.analysis import Comparison, EnvironmentBrief, MetricRow

_VERDICT_STYLE = {"reproduced": "green", "differs": "red", "inconclusive": "yellow"}


def compare(
    run_ids: list[str] = typer.Argument(
        None,
        metavar="RUN_ID",
        help="two or more run ids or unique prefixes; the first is the baseline",
    ),
    metric: str = typer.Option(
        "p50",
        "--metric",
        help="latency statistic (p50, p90, p99, mean, ...) of the headline ratio for runs "
        "without raw latencies; with them it is the ratio of medians",
    ),
    alpha: float = typer.Option(0.05, help="significance level of the rank test"),
    tolerance: float = typer.Option(
        0.05, help="latency differences within this fraction are never called a difference"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
) -> None:
    """Compare runs side by side: settings, metrics, environment, and a latency verdict:
    reproduced, differs or inconclusive (with its cause and what to do), by the rule
    reproduce uses. Exits 0 whatever the verdicts: it reports; `reef reproduce` judges."""
    from reef.api.analysis import compare as do_compare

    result = do_compare(run_ids or [], metric=metric, alpha=alpha, tolerance=tolerance)
    if json_out:
        emit_json(result.model_dump(mode="json"))
    else:
        stdout.print(_table(result))
        _print_verdicts(result)
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {_escape(warning)}", markup=True)


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))


def _table(c: Comparison) -> Table:
    from rich.table import Table

    table = Table(title=f"{len(c.runs)} runs, baseline {c.runs[c.baseline].label}")
    table.add_column("")
    for i, r in enumerate(c.runs):
        table.add_column(r.label + (" (baseline)" if i == c.baseline else ""), overflow="fold")
    table.add_row("run", *(r.id[:12] for r in c.runs))
    table.add_row("recorded", *(r.created_at[:16].replace("T", " ") for r in c.runs))
    table.add_row("status", *(_status(r.status) for r in c.runs))
    table.add_section()
    for s in c.settings:
        style = "bold yellow" if s.differs else ""
        cells = [_styled(_value(v), style) for v in s.values]
        table.add_row(_styled(s.name + (" *" if s.differs else ""), style), *cells)
    table.add_section()
    for m in c.metrics:
        table.add_row(f"{m.name} {m.unit}", *_metric_cells(m, c.baseline))
    table.add_section()
    envs: list[str] = []
    by_label = {v.label: v for v in c.versus}
    for i, r in enumerate(c.runs):
        envs.append("" if i == c.baseline else _environment(by_label[r.label].environment))
    table.add_row(f"environment vs {c.runs[c.baseline].label}", *envs)
    return table


def _status(status: str) -> str:
    return status if status == "valid" else f"[yellow]{status}[/yellow]"


def _styled(text: str, style: str) -> str:
    return f"[{style}]{text}[/{style}]" if style else text


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return _escape(", ".join(f"{k}={v}" for k, v in value.items()))
    return _escape(value)


def _metric_cells(m: MetricRow, baseline: int) -> list[str]:
    cells = []
    for i, (value, ratio) in enumerate(zip(m.values, m.ratios, strict=True)):
        text = fmt(value, 4)
        if i != baseline and ratio is not None:
            text += f" ({ratio:.2f}x)"
        cells.append(text)
    return cells


def _environment(env: EnvironmentBrief) -> str:
    if env.identical:
        return "identical"
    lines = []
    for name, group in env.groups.items():
        more = ", ..." if group.count > len(group.keys) else ""
        lines.append(f"{name} {group.count}: {_escape(', '.join(group.keys))}{more}")
    return "\n".join(lines)


def _print_verdicts(c: Comparison) -> None:
    base = c.runs[c.baseline].label
    for v in c.versus:
        found = v.decision
        style = _VERDICT_STYLE.get(found.verdict, "")
        sentence = _styled(_escape(found.sentence), f"bold {style}".strip())
        stdout.print(f"{v.label} vs {base}: {sentence}", highlight=False)
        stdout.print(f"  [dim]{_escape(found.detail)}[/dim]", highlight=False)
        for cause in found.causes:
            stdout.print(f"  - {_escape(cause)}", highlight=False)
        if found.advice:
            stdout.print(f"  what to do: {_escape(found.advice)}", highlight=False)
        for caveat in found.caveats:
            stdout.print(f"  [dim]note: {_escape(caveat)}[/dim]", highlight=False)
