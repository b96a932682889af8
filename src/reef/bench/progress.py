"""Progress of a benchmark, reported as it goes; faces decide how to show it."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

PROGRESS_PREFIX = "reef-progress "


class Reporter(Protocol):
    def run(self, scenario: str) -> None:
        """A scenario's run begins; the phases that follow belong to it."""

    def phase(self, name: str, *, seconds: float | None = None, queries: int | None = None) -> None:
        """A new phase began; ``seconds`` / ``queries`` say how long it should take."""

    def tick(self, done: int) -> None:
        """``done`` queries (batches in Offline) of the current phase have completed."""

    def note(self, message: str) -> None:
        """Something the user should know that is not an error."""


class NullReporter:
    def run(self, scenario: str) -> None:
        pass

    def phase(self, name: str, *, seconds: float | None = None, queries: int | None = None) -> None:
        pass

    def tick(self, done: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class JsonLinesReporter:
    """Writes events to stderr for the parent process of a worker to read."""

    def _emit(self, event: dict[str, Any]) -> None:
        sys.stderr.write(PROGRESS_PREFIX + json.dumps(event) + "\n")
        sys.stderr.flush()

    def run(self, scenario: str) -> None:
        self._emit({"run": scenario})

    def phase(self, name: str, *, seconds: float | None = None, queries: int | None = None) -> None:
        self._emit({"phase": name, "seconds": seconds, "queries": queries})

    def tick(self, done: int) -> None:
        self._emit({"tick": done})

    def note(self, message: str) -> None:
        self._emit({"note": message})


def replay(line: str, reporter: Reporter) -> bool:
    """Feed one line of a worker's stderr to ``reporter``; False if it was not an event."""
    if not line.startswith(PROGRESS_PREFIX):
        return False
    try:
        event = json.loads(line[len(PROGRESS_PREFIX) :])
    except json.JSONDecodeError:
        return False
    if "run" in event:
        reporter.run(str(event["run"]))
    elif "phase" in event:
        reporter.phase(event["phase"], seconds=event.get("seconds"), queries=event.get("queries"))
    elif "tick" in event:
        reporter.tick(int(event["tick"]))
    elif "note" in event:
        reporter.note(str(event["note"]))
    return True


class Ticker:
    """Calls ``tick(count())`` every ``interval`` seconds on a thread of its own."""

    def __init__(self, reporter: Reporter, count: Callable[[], int], interval: float = 0.25):
        self._reporter, self._count, self._interval = reporter, count, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reef-progress", daemon=True)

    def __enter__(self) -> Ticker:
        if not isinstance(self._reporter, NullReporter):
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._reporter.tick(self._count())

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._reporter.tick(self._count())
