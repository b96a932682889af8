"""Where ``reef`` and ``python -m reef`` start.

Importing the CLI takes about a tenth of a second, and a Ctrl-C meanwhile would print a
KeyboardInterrupt traceback from the middle of some import. So before anything else is
imported, Ctrl-C is made to end the process quietly with 130: nothing has been done yet that
would need undoing. ``reef.cli.main`` puts Python's own handler back when its error handling
is in place.
"""

# The C module, not ``signal``: that one imports ``enum``, which alone costs some 7 ms of the
# window this module exists to close.
import _signal  # type: ignore[import-not-found]  # no stub: the C half of signal
import os
import sys

from reef import __version__, _quiet_exit


def _one_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """A warning as the CLI says everything else: one line, not Python's file, line number
    and source line (a plugin hidden by a built-in is worth a line, not a stack)."""
    sys.stderr.write(f"warning: {message}\n")


def _columns() -> int:
    """The terminal width click would wrap help to: ``COLUMNS``, else the terminal's, else 80
    (what ``shutil.get_terminal_size`` answers, without importing shutil)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # The commonest probe of an installation answers without importing the CLI.
        sys.stdout.write(f"reef {__version__}\n")
        return
    if sys.argv[1:] == ["--help"] and _columns() >= 80:
        # The same text the CLI would print (click wraps at 80 columns at most), kept in step
        # with it by tools/build_top_help.py and a test; it costs no Typer import.
        from reef._top_help import TEXT

        sys.stdout.write(TEXT)
        return
    # A SIGINT the parent made us ignore (nohup, a backgrounded job) stays ignored.
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _quiet_exit)
    import warnings

    warnings.showwarning = _one_line
    from reef.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
