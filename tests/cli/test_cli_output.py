"""What commands print, in-process (see ``cli_support``): the JSON Schemas of the other kinds
(``schema model`` runs as a real process in ``tests/e2e/test_e2e_happy.py``) and ``--help``."""

from __future__ import annotations

import pytest
from cli_support import InProcessReef
from e2e_support import check_schema_structure

COMMANDS = ("bench", "demo", "runs", "check", "schema", "show")


@pytest.mark.parametrize("kind", ["dataset", "run", "settings"])
def test_schema_other_kinds(cli: InProcessReef, kind: str) -> None:
    check_schema_structure(cli.ok("schema", kind).json())


def test_help_lists_commands(cli: InProcessReef) -> None:
    result = cli.ok("--help")
    commands = result.stdout.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert f"  {name} " in commands, name
    bench_help = cli.ok("bench", "--help").stdout
    for option in ("--scenario", "--mode", "--duration", "--target-qps", "--shape", "--json"):
        assert option in bench_help, option
