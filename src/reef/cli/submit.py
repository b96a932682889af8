"""reef submit RUN... [--server URL] [--pending]"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, stderr
from reef.errors import EXIT_ENVIRONMENT, EXIT_USAGE

if TYPE_CHECKING:
    from reef.api.submissions import SubmitReport


class _Notes:
    """A reporter that prints what submitting says, on stderr."""

    def run(self, scenario: str) -> None:
        pass

    def phase(self, name: str, *, seconds: float | None = None, queries: int | None = None) -> None:
        pass

    def tick(self, done: int) -> None:
        pass

    def note(self, message: str) -> None:
        stderr.print(f"reef: {message}", markup=False, highlight=False)


def submit(
    runs: list[str] | None = typer.Argument(
        None, metavar="[RUN]...", help="run ids (a unique prefix is enough)"
    ),
    server: str | None = typer.Option(
        None,
        "--server",
        metavar="URL",
        help="the Reef server, e.g. https://reef.example.org [REEF_SERVER_URL, or server_url "
        "in the config file]",
    ),
    pending: bool = typer.Option(
        False, "--pending", help="also send the runs queued in REEF_HOME/outbox"
    ),
    json_out: bool = typer.Option(False, "--json", help="print what became of each run as JSON"),
) -> None:
    """Send recorded runs to a Reef server, with LoadGen's logs, which it checks them against.

    The token comes from REEF_TOKEN, else the file the token_file setting names. A server that
    cannot be reached loses nothing: the runs wait in REEF_HOME/outbox (exit 3) until
    `reef submit --pending` sends them. A run sent twice is stored once. Exit 2 when the
    server refuses a run (its message is shown), 3 when some were queued.
    """
    from reef.api import submissions

    if not runs and not pending:
        raise typer.BadParameter("name the runs to submit, or give --pending", param_hint="RUN")
    notes = _Notes()
    reports: list[SubmitReport] = []
    if runs:
        reports.append(submissions.submit(runs, server=server, token=None, reporter=notes))
    if pending:
        reports.append(submissions.submit_pending(server=server, token=None, reporter=notes))
    report = reports[0]
    if len(reports) > 1:
        servers = ", ".join(dict.fromkeys(r.server for r in reports if r.server))
        report = submissions.SubmitReport(
            server=servers, runs=[run for r in reports for run in r.runs]
        ).count()
    if json_out:
        emit_json(report.model_dump(mode="json"))
    finish(report, pending_only=not runs)


def finish(report: SubmitReport, *, pending_only: bool = False) -> None:
    """Say what became of each run on stderr; exit 2 when the server refused one, 3 when
    some were queued."""
    for run in report.runs:
        line = f"{run.result:<14}  {run.id}"
        if run.result == "queued":
            line += f"  (in {run.outbox})"
        elif run.result == "refused":
            line += f": {run.reason}"
        stderr.print(line, markup=False, highlight=False)
    if not report.runs:
        stderr.print("nothing pending in the outbox" if pending_only else "nothing to submit")
        return
    stderr.print(
        f"{report.accepted} accepted, {report.already_stored} already stored, "
        f"{report.queued} queued, {report.refused} refused ({report.server})",
        markup=False,
        highlight=False,
    )
    if report.refused:
        # The report is printed already (as JSON under --json): the exit code says the rest.
        stderr.print(
            f"error: {report.refused} run(s) refused by {report.server}; a refused run is "
            "not queued: sending it again as it is would not help",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)
    if report.queued:
        reason = next(run.reason for run in report.runs if run.result == "queued")
        stderr.print(
            f"{report.queued} run(s) queued in the outbox: {reason}; "
            "`reef submit --pending` sends them",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_ENVIRONMENT)


def check_before_bench(url: str) -> None:
    """``reef bench --submit URL``: the URL and the token are checked before any run."""
    from reef.api import submissions

    submissions.check_server_url(url)
    submissions.server_token(None)


def after_bench(run_ids: list[str], url: str) -> None:
    """``reef bench --submit URL``, once the runs are stored: send them. A run the server
    cannot take now is queued, which is a note; a refusal is an error (exit 2) that leaves
    the runs recorded here. The records were printed already (as JSON under --json), so an
    error is said on stderr alone."""
    from reef.api import submissions
    from reef.errors import ReefError

    notes = _Notes()
    try:
        report = submissions.submit(run_ids, server=url, token=None, reporter=notes)
    except ReefError as exc:
        stderr.print(f"error: the runs are recorded, but not submitted: {exc.message}",
                     markup=False, highlight=False)  # fmt: skip
        if exc.hint:
            stderr.print(f"hint: {exc.hint}", markup=False, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    for run in report.runs:
        if run.result == "refused":
            notes.note(f"run {run.id} refused by {report.server}: {run.reason}")
    summary = (
        f"submitted to {report.server}: {report.accepted} accepted, "
        f"{report.already_stored} already stored"
    )
    if report.queued:
        reason = next(run.reason for run in report.runs if run.result == "queued")
        summary += (
            f"; {report.queued} queued in the outbox ({reason}): `reef submit --pending` sends them"
        )
    notes.note(summary)
    if report.refused:
        stderr.print(
            f"error: {report.refused} run(s) refused by {report.server}; they are recorded here",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)
