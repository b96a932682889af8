"""reef detect"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from reef.cli._common import emit_json, stderr, stdout

_TITLES = {"hardware": "Hardware", "os": "OS", "software": "Software"}


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and value >= 1 << 30:
        return f"{value:,} ({value / (1 << 30):.1f} GiB)"
    return str(value)


def _rows(value: Any, path: str, out: list[tuple[str, str]]) -> None:
    """``value`` as (dotted path, text) rows; lists of plain values stay on one row."""
    if isinstance(value, dict):
        if not value:
            out.append((path, "-"))
        for key, item in value.items():
            _rows(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            _rows(item, f"{path}[{i}]", out)
    elif isinstance(value, list):
        out.append((path, ", ".join(_text(v) for v in value) or "-"))
    else:
        out.append((path, _text(value)))


def detect(
    json_out: bool = typer.Option(
        False, "--json", help="print the fingerprint as JSON (a file `reef env diff` reads)"
    ),
    components: bool = typer.Option(
        True, "--components/--no-components", help="also run the repositories' detectors"
    ),
) -> None:
    """Detect this machine's hardware, OS and software: its environment fingerprint.

    Exits 2 when a detector failed (its problem is on stderr; the other facts are printed).
    """
    from reef import api

    fingerprint = api.detect(components=components).model_dump(mode="json")
    if json_out:
        emit_json(fingerprint)
    else:
        _print_tables(fingerprint)
    for p in fingerprint.get("problems", []):
        colour = "dim" if p["kind"] == "skipped" else "yellow"
        stderr.print(
            f"[{colour}]detector {p['detector']} {p['kind']}:[/{colour}] {escape(p['message'])}",
            markup=True,
            highlight=False,
        )
        if p.get("hint"):
            stderr.print(f"  [dim]hint:[/dim] {escape(p['hint'])}", markup=True, highlight=False)
    # Everything that could be detected was printed; a detector that failed (a crash, bad
    # JSON, NVML present but failing) still makes the command's answer incomplete: exit 2.
    # One skipped for want of trust is the user's choice, not a failure.
    if any(p["kind"] == "failed" for p in fingerprint.get("problems", [])):
        raise typer.Exit(2)


def _print_tables(fingerprint: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    volatile = fingerprint.get("volatile", {})
    for group, title in _TITLES.items():
        table = Table(title=title, title_justify="left")
        table.add_column("detector", style="bold")
        table.add_column("fact")
        table.add_column("value", overflow="fold")
        for name, facts in fingerprint.get(group, {}).items():
            rows: list[tuple[str, str]] = []
            _rows(facts, "", rows)
            changing: list[tuple[str, str]] = []
            _rows(volatile.get(group, {}).get(name, {}), "", changing)
            first = True
            for fact, text in rows:
                table.add_row(name if first else "", escape(fact), escape(text))
                first = False
            for fact, text in changing:
                if fact:
                    table.add_row(
                        name if first else "", f"[dim]{escape(fact)}[/dim]", f"[dim]{escape(text)}"
                    )
                    first = False
        stdout.print(table)
    stdout.print(f"fingerprint {fingerprint.get('hash')}  [dim](dim facts are not hashed)[/dim]")
