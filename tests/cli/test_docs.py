"""Issue 14, item 5: every command, subcommand and option of the real `reef` is documented.

The click command tree of ``reef.cli.app`` is walked (lazily built commands included); a
command must appear as ``reef PATH`` in README.md or docs/*.md, and each of its long options
(``--scenario``, ``--no-raw-latencies``) in one of the documents that mention the command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parents[2]


def documents() -> dict[str, str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in paths}


def commands() -> Iterator[tuple[str, Any]]:
    """(``reef PATH``, click command) for the root and every command under it."""
    import reef.cli

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        yield " ".join(["reef", *path]), command
        if hasattr(command, "list_commands"):
            ctx = typer._click.Context(command, info_name=path[-1] if path else "reef")
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not getattr(sub, "hidden", False):
                    yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(reef.cli.app), [])


def options(command: Any) -> list[str]:
    found = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            if opt.startswith("--") and opt != "--help":
                found.append(opt)
    return found


def mentions(text: str, word: str) -> bool:
    """``word`` in ``text``, not as the start of a longer name (--samples, not
    --samples-per-query; reef runs, not reef runsx)."""
    return re.search(re.escape(word) + r"(?![\w-])", text) is not None


def test_the_tree_is_walked() -> None:
    names = [name for name, _ in commands()]
    assert {"reef", "reef bench", "reef runs list", "reef cache clean"} <= set(names)


def test_every_command_and_option_is_documented() -> None:
    docs = documents()
    missing = []
    for name, command in commands():
        holders = [text for text in docs.values() if mentions(text, name)]
        if not holders:
            missing.append(f"{name}: not in README.md or docs/*.md")
            continue
        for opt in options(command):
            if not any(mentions(text, opt) for text in holders):
                missing.append(f"{name} {opt}: not in a document that mentions {name}")
    assert missing == [], "undocumented:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("text", "word", "found"),
    [
        ("reef bench --samples-per-query 8", "--samples", False),
        ("reef bench --samples 8", "--samples", True),
        ("`reef runs list`", "reef runs", True),
        ("reef runsx", "reef runs", False),
    ],
)
def test_a_longer_name_is_not_a_mention(text: str, word: str, found: bool) -> None:
    assert mentions(text, word) is found
