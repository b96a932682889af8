"""Messages are printed as they are: square brackets in them (an extra such as
``reef-bench[cpu]``, a field such as ``inputs[0]``) are text, not Rich markup."""

from __future__ import annotations

import pytest

from reef.cli import _report
from reef.cli.progress import RichReporter
from reef.errors import ReefError


def test_an_error_and_its_hint_keep_their_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    _report(ReefError("pip install 'reef-bench[cpu]'", hint="or [gpu] for CUDA"), False)
    err = capsys.readouterr().err
    assert "pip install 'reef-bench[cpu]'" in err
    assert "or [gpu] for CUDA" in err


def test_a_note_keeps_its_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    RichReporter().note("input 'ids': values in [0, 5), the size of what it indexes [bold]")
    assert "values in [0, 5), the size of what it indexes [bold]" in capsys.readouterr().err
