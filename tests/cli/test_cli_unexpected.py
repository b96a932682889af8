"""An exception nothing in Reef anticipated is one line and exit 3, never a traceback and
never exit 1 (which means "the result is not valid"); ``--debug`` shows the traceback."""

from __future__ import annotations

import json

import pytest
from cli_support import InProcessReef


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the flux capacitor failed\nsecond line")

    monkeypatch.setattr("reef.api.detect", explode)


def test_an_unexpected_exception_is_one_line_and_exit_3(cli: InProcessReef, broken: None) -> None:
    result = cli("detect")
    assert result.rc == 3, str(result)
    assert "Traceback" not in result.stderr
    assert result.says("error: unexpected RuntimeError: the flux capacitor failed", "--debug")
    assert "second line" not in result.stderr


def test_with_json_the_error_is_json(cli: InProcessReef, broken: None) -> None:
    result = cli("detect", "--json")
    assert result.rc == 3
    data = json.loads(result.stdout)
    assert data["error"] == "InternalError"
    assert data["message"] == "unexpected RuntimeError: the flux capacitor failed"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_prints_the_traceback(cli: InProcessReef, broken: None, how: str) -> None:
    args, env = (["--debug"], {}) if how == "option" else ([], {"REEF_DEBUG": "1"})
    result = cli(*args, "detect", env=env)
    assert result.rc == 3
    assert "Traceback" in result.stderr
    assert "RuntimeError: the flux capacitor failed" in result.stderr
