"""Shows a benchmark's progress on stderr."""

from __future__ import annotations

import time
from typing import Self

from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from reef.cli._common import stderr


class _Bars:
    """Rich progress bars on stderr while inside ``with``, when stderr is a terminal."""

    def __init__(self, *columns: ProgressColumn) -> None:
        self._live = stderr.is_terminal
        self._progress = Progress(*columns, console=stderr, transient=True)

    def __enter__(self) -> Self:
        if self._live:
            self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._live:
            self._progress.stop()


class RichReporter(_Bars):
    """A progress bar per phase on a terminal; one line per phase otherwise."""

    def __init__(self) -> None:
        super().__init__(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[done]}"),
        )
        self._task: TaskID | None = None
        self._seconds: float | None = None
        self._started = 0.0
        self._label = ""

    def run(self, scenario: str) -> None:
        self._label = scenario

    def phase(self, name: str, *, seconds: float | None = None, queries: int | None = None) -> None:
        description = f"{self._label} {name}".strip()
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._seconds, self._started = seconds, time.monotonic()
        total = seconds if seconds else queries
        self._task = self._progress.add_task(description, total=total, done="")
        if not self._live:
            extra = f" ({seconds:g} s)" if seconds else f" ({queries} queries)" if queries else ""
            stderr.print(f"[dim]reef:[/dim] {description}{extra}")

    def tick(self, done: int) -> None:
        if self._task is None:
            return
        completed = time.monotonic() - self._started if self._seconds else done
        self._progress.update(self._task, completed=completed, done=f"{done:,} done")

    def note(self, message: str) -> None:
        stderr.print(f"[yellow]note:[/yellow] {escape(message)}")


class DownloadProgress(_Bars):
    """A byte-counting bar per download on a terminal; a line per finished file otherwise."""

    def __init__(self) -> None:
        super().__init__(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, label: str, done: int, total: int | None) -> None:
        task = self._tasks.get(label)
        if task is None:
            task = self._tasks[label] = self._progress.add_task(label, total=total)
        self._progress.update(task, completed=done, total=total)
        if not self._live and total is not None and done >= total:
            stderr.print(f"fetched {label} ({done:,} bytes)")
