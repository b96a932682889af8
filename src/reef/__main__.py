"""Where ``reef`` and ``python -m reef`` start.

Importing the CLI takes about a tenth of a second, and a Ctrl-C meanwhile would print a
KeyboardInterrupt traceback from the middle of some import. So before anything else is
imported, Ctrl-C is made to end the process quietly with 130: nothing has been done yet that
would need undoing. ``reef.cli.main`` puts Python's own handler back when its error handling
is in place.
"""

from __future__ import annotations

import signal

from reef._quiet import quiet_exit


def main() -> None:
    # A SIGINT the parent made us ignore (nohup, a backgrounded job) stays ignored.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, quiet_exit)
    from reef.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
