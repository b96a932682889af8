"""Issue 14, item 6: shell completion. `reef completion SHELL` prints the script for bash, zsh,
fish and PowerShell, and `reef` answers the script's requests: commands, options, and the
values of options that take a fixed set (``--scenario``, ``--format``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error
from typer.testing import CliRunner

from reef.cli.completion import COMPLETE_VAR, completion


def wired() -> bool:
    """Whether `reef completion` is a command of the real app (reef.cli registers it)."""
    import reef.cli

    commands = getattr(reef.cli, "COMMANDS", None)
    if isinstance(commands, dict):
        return "completion" in commands
    return any(c.name == "completion" for c in reef.cli.app.registered_commands)


needs_wiring = pytest.mark.skipif(
    not wired(), reason="reef.cli does not register reef.cli.completion:completion yet"
)


def alone() -> typer.Typer:
    app = typer.Typer(add_completion=False, rich_markup_mode=None)
    app.command("completion")(completion)
    app.command("other")(lambda: None)
    return app


@pytest.mark.parametrize(
    ("shell", "start"),
    [
        ("bash", "_reef_completion() {"),
        ("zsh", "#compdef reef"),
        ("fish", "complete --command reef"),
        ("powershell", "Import-Module PSReadLine"),
        ("BASH", "_reef_completion() {"),
    ],
)
def test_the_script_of_each_shell(shell: str, start: str) -> None:
    result = CliRunner().invoke(alone(), ["completion", shell])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(start)
    assert COMPLETE_VAR in result.stdout


def test_an_unknown_shell_is_refused(tmp_path: Path) -> None:
    from reef.errors import SettingsError

    result = CliRunner().invoke(alone(), ["completion", "tcsh"])
    assert isinstance(result.exception, SettingsError)
    assert result.exception.message == "SHELL: unknown shell 'tcsh'"
    assert "bash, zsh, fish" in (result.exception.hint or "")


@needs_wiring
def test_reef_completion(cli: InProcessReef) -> None:
    script = cli.ok("completion", "bash").stdout
    assert script.startswith("_reef_completion() {")
    assert "complete -o default -F _reef_completion reef" in script
    data = cli.ok("completion", "fish", "--json").json()
    assert data["shell"] == "fish"
    assert data["script"].startswith("complete --command reef")
    assert "completions/reef.fish" in data["load"]
    result = cli("completion", "csh")
    assert_usage_error(result, "SHELL: unknown shell 'csh'", "bash, zsh, fish")
    assert_json_error(cli("completion", "csh", "--json"), "unknown shell")
    assert list(cli.cwd.iterdir()) == []


def complete(words: str, tmp_path: Path) -> list[str]:
    """What `reef` answers bash's completion request for the last word of ``words``."""
    reef = Path(sys.executable).parent / "reef"
    argv = [str(reef)] if reef.exists() else [sys.executable, "-m", "reef"]
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = os.environ | {
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
        COMPLETE_VAR: "complete_bash",
        "REEF_HOME": str(tmp_path),
    }
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


@needs_wiring
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("reef ben", ["bench"]),
        ("reef bench m.onnx --sce", ["--scenario"]),
        ("reef bench m.onnx -s ", ["SingleStream", "MultiStream", "Server", "Offline"]),
        ("reef bench m.onnx -s off", ["offline"]),
        ("reef runs list --format ", ["table", "json", "csv"]),
        ("reef init x --installer ", ["auto", "uv", "pip"]),
        ("reef completion ", ["bash", "zsh", "fish", "powershell", "pwsh"]),
    ],
)
def test_reef_answers_the_shell(words: str, expected: list[str], tmp_path: Path) -> None:
    assert complete(words, tmp_path) == expected


@needs_wiring
def test_install_completion_is_offered(cli: InProcessReef) -> None:
    shown = cli.ok("--help").stdout
    assert "--install-completion" in shown
    assert "--show-completion" in shown
