"""The ``reef`` command: a thin face over ``reef.api``."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import typer

from reef.cli import (
    bench,
    board,
    cache,
    check,
    compare,
    components,
    config,
    demo,
    detect,
    env,
    init,
    lock,
    pareto,
    plugins,
    repo,
    report,
    runs,
    show,
    solution,
    trace,
)
from reef.errors import EXIT_ENVIRONMENT, EXIT_SIGINT, InternalError, ReefError, Terminated

app = typer.Typer(
    name="reef",
    help="Portable, reproducible ML benchmarking: measure models under MLPerf LoadGen scenarios.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("bench")(bench.bench)
app.command("demo")(demo.demo)
app.command("check")(check.check)
app.command("schema")(check.schema)
app.command("show")(show.show)
app.command("search")(components.search)
app.command("new")(components.new)
app.command("resolve")(lock.resolve)
app.command("fetch")(lock.fetch)
app.command("pack")(lock.pack)
app.command("install")(lock.install)
app.command("init")(init.init)
app.command("detect")(detect.detect)
app.command("run")(solution.run)
app.command("validate")(solution.validate)
app.command("reproduce")(solution.reproduce)
app.command("compare")(compare.compare)
app.command("pareto")(pareto.pareto)
app.command("plugins")(plugins.plugins)
app.command("trace")(trace.trace)
app.command("board")(board.board)
app.command("report")(report.report)
app.command("plot")(report.plot)
app.add_typer(cache.app, name="cache")
app.add_typer(runs.app, name="runs")
app.add_typer(repo.app, name="repo")
app.add_typer(env.app, name="env")
app.add_typer(config.app, name="config")


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
    from reef.cli._common import emit_json, stderr

    if want_json:
        emit_json(exc.to_json())
    stderr.print(f"[bold red]error:[/bold red] {exc.message}", markup=True, highlight=False)
    if exc.hint:
        stderr.print(f"[dim]hint:[/dim] {exc.hint}", markup=True, highlight=False)
