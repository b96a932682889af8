"""The ``reef`` command: a thin face over ``reef.api``."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import typer
from typer._click.exceptions import UsageError  # Typer ships click as its own copy
from typer.core import TyperGroup

from reef.cli import _coerce
from reef.errors import EXIT_ENVIRONMENT, EXIT_SIGINT, InternalError, ReefError, Terminated

_coerce.install()  # command-line values converted without pydantic where certain

# Every command, in the order ``reef --help`` lists them, and where it lives: a function, or a
# Typer app of subcommands. A module is imported only when its command runs or its help is
# shown, so that ``reef runs list`` does not pay for importing every other command.
COMMANDS: dict[str, str] = {
    "bench": "reef.cli.bench:bench",
    "demo": "reef.cli.demo:demo",
    "check-outputs": "reef.cli.check_outputs:check_outputs",
    "convert": "reef.cli.convert:convert",
    "check": "reef.cli.check:check",
    "schema": "reef.cli.check:schema",
    "show": "reef.cli.show:show",
    "search": "reef.cli.components:search",
    "new": "reef.cli.components:new",
    "resolve": "reef.cli.lock:resolve",
    "fetch": "reef.cli.lock:fetch",
    "pack": "reef.cli.lock:pack",
    "install": "reef.cli.lock:install",
    "init": "reef.cli.init:init",
    "detect": "reef.cli.detect:detect",
    "run": "reef.cli.solution:run",
    "validate": "reef.cli.solution:validate",
    "reproduce": "reef.cli.solution:reproduce",
    "compare": "reef.cli.compare:compare",
    "pareto": "reef.cli.pareto:pareto",
    "plugins": "reef.cli.plugins:plugins",
    "trace": "reef.cli.trace:trace",
    "board": "reef.cli.board:board",
    "report": "reef.cli.report:report",
    "plot": "reef.cli.report:plot",
    "cache": "reef.cli.cache:app",
    "runs": "reef.cli.runs:app",
    "repo": "reef.cli.repo:app",
    "env": "reef.cli.env:app",
    "config": "reef.cli.config:app",
    "server": "reef.cli.server:app",
    "token": "reef.cli.token:app",
    "submit": "reef.cli.submit:submit",
    "publish": "reef.cli.publish:publish",
    "tune": "reef.cli.tune:tune",
    "agent": "reef.cli.cluster:agent",
    "cluster": "reef.cli.cluster:app",
    "sweep": "reef.cli.sweep:app",
    "serve": "reef.cli.serve:serve",
    "drift": "reef.cli.drift:drift",
    "export": "reef.cli.export:app",
    "completion": "reef.cli.completion:completion",
}


class LazyGroup(TyperGroup):
    """The root group: commands are built from ``COMMANDS`` when first asked for."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.TyperCommand | None:  # type: ignore[override]
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = _build(cmd_name, COMMANDS[cmd_name])
        return self.commands[cmd_name]  # type: ignore[return-value]

    def resolve_command(  # type: ignore[override]
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, typer.core.TyperCommand | None, list[str]]:
        # Typer suggests the nearest command from those already built; here, from them all.
        try:
            return self._click_resolve_command(ctx, args)  # type: ignore[return-value]
        except UsageError as exc:
            from difflib import get_close_matches

            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches:
                suggestions = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


def _build(name: str, target: str) -> typer.core.TyperCommand:
    import importlib

    module, attr = target.split(":")
    found = getattr(importlib.import_module(module), attr)
    if isinstance(found, typer.Typer):
        # As add_typer would: the root's plain help (no Rich panels) reaches the subcommands.
        group = typer.main.get_group_from_info(
            typer.models.TyperInfo(found, name=name),
            pretty_exceptions_short=True,
            suggest_commands=True,
            rich_markup_mode=None,
        )
        return group  # type: ignore[return-value]
    info = typer.models.CommandInfo(name=name, callback=found)
    command = typer.main.get_command_from_info(
        info, pretty_exceptions_short=True, rich_markup_mode=None
    )
    return command  # type: ignore[return-value]


app = typer.Typer(
    name="reef",
    cls=LazyGroup,
    help="Portable, reproducible ML benchmarking: measure models under MLPerf LoadGen scenarios.",
    no_args_is_help=True,
    # --install-completion and --show-completion, and the answers to the shell's completion
    # requests (typer.main imports typer.completion already: nothing is added to start-up).
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from reef import __version__

        typer.echo(f"reef {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print Reef's version."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="On an unexpected error, print its traceback (also REEF_DEBUG=1)."
    ),
) -> None:
    pass


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated()


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    from reef import _quiet_exit

    if signal.getsignal(signal.SIGINT) is _quiet_exit:
        # reef.__main__ made an early Ctrl-C quiet; from here on it unwinds like any error.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    want_json = "--json" in sys.argv[1:]
    debug = "--debug" in sys.argv[1:] or os.environ.get("REEF_DEBUG", "") not in ("", "0")
    try:
        # Without standalone mode Typer returns exit codes instead of exiting.
        code = app(standalone_mode=False)
    except ReefError as exc:
        _report(exc, want_json)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_SIGINT)
    except Terminated:
        sys.exit(143)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        # Click turns a Ctrl-C it sees into Abort; say so, as for any other interrupt.
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_SIGINT)
    except typer.TyperException as exc:
        # Typer's usage errors (bad option, missing argument): its own message, exit 2.
        if want_json:
            from reef.cli._common import emit_json

            fmt = getattr(exc, "format_message", None)
            message = fmt() if fmt is not None else str(exc)
            emit_json({"error": "UsageError", "message": message, "hint": None})
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:
        # A bug in Reef or a failure nothing anticipated: one line (exit 3), not a traceback,
        # so that exit 1 keeps meaning "the result is not valid".
        if debug:
            import traceback

            traceback.print_exc()
        _report(InternalError(exc), want_json)
        sys.exit(EXIT_ENVIRONMENT)
    sys.exit(code if isinstance(code, int) else 0)


def _report(exc: ReefError, want_json: bool) -> None:
    from rich.markup import escape

    from reef.cli._common import emit_json, stderr

    if want_json:
        emit_json(exc.to_json())
    stderr.print(f"[bold red]error:[/bold red] {escape(exc.message)}", markup=True, highlight=False)
    if exc.hint:
        stderr.print(f"[dim]hint:[/dim] {escape(exc.hint)}", markup=True, highlight=False)
