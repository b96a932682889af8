"""``reef`` run in this process for the export tests: exit code, stdout and stderr."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def reef(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """``reef ARGS`` through ``reef.cli.main``, as ``python -m reef`` runs it."""
    from reef.cli import main

    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["reef", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> list[str]:
    """Every entry under ``folder`` (hidden ones too), relative, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
