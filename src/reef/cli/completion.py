"""reef completion SHELL: the shell completion script, to eval or to save where the shell
reads completions (``reef --install-completion`` does the latter for the current shell)."""

from __future__ import annotations

import typer

from reef.cli._choices import choice
from reef.meta.choices import SHELL

# What the shell sets to ask `reef` for completions (Typer's convention: _<PROG>_COMPLETE).
PROG = "reef"
COMPLETE_VAR = "_REEF_COMPLETE"

_HOW = {
    "bash": 'eval "$(reef completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(reef completion zsh)"    # in ~/.zshrc',
    "fish": "reef completion fish > ~/.config/fish/completions/reef.fish",
    "powershell": "reef completion powershell | Out-String | Invoke-Expression  # in $PROFILE",
    "pwsh": "reef completion pwsh | Out-String | Invoke-Expression  # in $PROFILE",
}


def completion(
    shell: str = typer.Argument(
        ...,
        **choice(SHELL, metavar="SHELL"),
        help="bash, zsh, fish, powershell or pwsh",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="print the shell, the script and how to load it as JSON"
    ),
) -> None:
    """Print the completion script of a shell: commands, options and their values complete
    with TAB once the shell has read it.

    bash and zsh: add `eval "$(reef completion bash)"` (or zsh) to ~/.bashrc (~/.zshrc).
    fish: `reef completion fish > ~/.config/fish/completions/reef.fish`.
    `reef --install-completion` writes it for the current shell instead.
    """
    # Typer's own module: the script matches the protocol its completion classes answer.
    from typer._completion_shared import get_completion_script

    from reef.cli._common import emit_json, stderr

    script = get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell)
    if json_out:
        emit_json({"shell": shell, "script": script, "load": _HOW[shell]})
        return
    typer.echo(script)
    stderr.print(f"# load it with: {_HOW[shell]}", markup=False)
