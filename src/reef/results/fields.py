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
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, FromClause

Path: TypeAlias = tuple[str, ...]
Field: TypeAlias = str | Path

# Record values the runs table keeps a copy of, by their path in the record.
PATH_COLUMNS: dict[Path, str] = {
    ("performance", "latency_ms", "p50"): "p50_ms",
    ("performance", "latency_ms", "p90"): "p90_ms",
    ("performance", "latency_ms", "p99"): "p99_ms",
    ("performance", "throughput_qps"): "throughput_qps",
    ("accuracy", "value"): "accuracy_value",
    ("accuracy", "metric"): "accuracy_metric",
}


class FieldReader:
    """The SQL columns reading ``fields`` from ``table``, and how to finish each row read."""

    def __init__(self, table: FromClause, fields: Sequence[Field], *, json_in_sql: bool) -> None:
        from sqlalchemy import func, null

        self.columns: list[ColumnElement[Any]] = []
        # Positions of the paths the database cannot read, which are dug out of the record.
        self._dug: list[tuple[int, Path]] = []
        for at, field in enumerate(fields):
            if isinstance(field, str):
                if field not in table.c or field == "record_json":
                    raise ValueError(f"the runs table has no field {field!r}")
                self.columns.append(table.c[field])
            elif field in PATH_COLUMNS:
                self.columns.append(table.c[PATH_COLUMNS[field]])
            elif json_in_sql:
                # Each key quoted, so that no key is read as JSON path syntax.
                path = "$" + "".join(f'."{key}"' for key in field)
                self.columns.append(func.json_extract(table.c.record_json, path))
            else:
                self._dug.append((at, field))
                self.columns.append(null())  # a placeholder, replaced by the dug value
        if self._dug:
            self.columns.append(table.c.record_json)

    def finish(self, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows read, as tuples of the fields asked for (made one at a time, as they are
        fetched)."""
        if not self._dug:
            return [tuple(row) for row in rows]
        finished = []
        for row in rows:
            values = list(row[:-1])
            data = json.loads(row[-1])
            for at, path in self._dug:
                values[at] = dig(data, path)
            finished.append(tuple(values))
        return finished


def dig(data: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` in parsed JSON; None where any step is missing."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data
