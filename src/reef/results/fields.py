"""A few fields of many runs, without building their records: what ``Store.field_rows``
reads for analyses over 100,000 runs (Pareto frontiers, scoreboards).

A field is a column of the runs table by name (``id``, ``target_name``, ``hardware``, ...),
or a value in the run's record by its path (``("performance", "latency_ms", "p95")``). A path
is read from the column that keeps a copy of it where there is one; else the database digs it
out of the stored record where it can (SQLite's ``json_extract``); else the record's text is
read and parsed here, once per run whatever the number of paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, TypeAlias

from reef.results.migrate import HEAD, RUNS_COLUMNS

Path: TypeAlias = tuple[str, ...]
Field: TypeAlias = str | Path

# The runs table's columns, as the newest revision leaves them.
RUNS_TABLE: frozenset[str] = RUNS_COLUMNS[HEAD]
# Its columns of times, read back as ``datetime``.
TIME_COLUMNS = frozenset({"created_at"})

# Record values the runs table keeps a copy of, by their path in the record.
PATH_COLUMNS: dict[Path, str] = {
    ("performance", "latency_ms", "p50"): "p50_ms",
    ("performance", "latency_ms", "p90"): "p90_ms",
    ("performance", "latency_ms", "p99"): "p99_ms",
    ("performance", "throughput_qps"): "throughput_qps",
    ("accuracy", "value"): "accuracy_value",
    ("accuracy", "metric"): "accuracy_metric",
}


def json_path(path: Sequence[str]) -> str:
    """``path`` as the database's JSON path, each key quoted so that none is read as path
    syntax."""
    return "$" + "".join(f'."{key}"' for key in path)


class FieldReader:
    """The SQL columns reading ``fields`` from the runs table (``table``: its column names),
    their parameters, and how to finish each row read."""

    def __init__(
        self, table: Collection[str], fields: Sequence[Field], *, json_in_sql: bool
    ) -> None:
        self.columns: list[str] = []  # SQL expressions, one per field (then the record)
        self.params: dict[str, Any] = {}
        # Positions of the paths the database cannot read, which are dug out of the record.
        self._dug: list[tuple[int, Path]] = []
        self._times: list[int] = []
        for at, field in enumerate(fields):
            if isinstance(field, str):
                if field not in table or field == "record_json":
                    raise ValueError(f"the runs table has no field {field!r}")
                self.columns.append(field)
                if field in TIME_COLUMNS:
                    self._times.append(at)
            elif field in PATH_COLUMNS:
                self.columns.append(PATH_COLUMNS[field])
            elif json_in_sql:
                self.params[f"path{at}"] = json_path(field)
                self.columns.append(f"json_extract(record_json, :path{at})")
            else:
                self._dug.append((at, field))
                self.columns.append("NULL")  # a placeholder, replaced by the dug value
        if self._dug:
            self.columns.append("record_json")

    @property
    def digs(self) -> bool:
        """Whether some value is dug out of the record's text here (the last column read)."""
        return bool(self._dug)

    def finish(
        self, rows: Iterable[Sequence[Any]], time: Callable[[Any], Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows read, as tuples of the fields asked for; ``time`` turns a time column as
        the driver gives it into a ``datetime``."""
        if not self._dug and not (self._times and time is not None):
            if isinstance(rows, list) and all(type(row) is tuple for row in rows[:1]):
                return rows  # the driver's own list of tuples: 100,000 copies saved
            return [tuple(row) for row in rows]
        finished = []
        for row in rows:
            values = list(row[:-1] if self._dug else row)
            if self._dug:
                data = json.loads(row[-1])
                for at, path in self._dug:
                    values[at] = dig(data, path)
            if time is not None:
                for at in self._times:
                    values[at] = time(values[at])
            finished.append(tuple(values))
        return finished


def dig(data: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` in parsed JSON; None where any step is missing."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data
