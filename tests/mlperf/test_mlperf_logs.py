"""reef.mlperf.logs reads a detail log's lines as Reef's own runs do (reef.bench.logs)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reef.bench.logs import parse_detail, parse_event
from reef.mlperf.logs import read_detail

LINES = [
    ':::MLLOG {"key": "result_validity", "value": "VALID", "metadata": {}}',
    ':::MLLOG {"key": "result_mean_latency_ns", "value": nan, "metadata": {}}',
    ':::MLLOG {"key": "result_min_latency_ns", "value": -nan, "metadata": {}}',
    ':::MLLOG {"key": "result_validity", "value": "INVALID", "metadata": {}}',
    ':::MLLOG {"key": "oops", "value": 1',
    'garbage :::MLLOG {"key": "not_an_event", "value": 1}',
    ':::MLLOG {"key": "error_x", "value": "bad", "metadata": {"is_error": true}}',
]


def test_nan_values_are_read_and_the_first_event_of_a_key_wins(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    path.write_text("\n".join(LINES) + "\n")
    log = read_detail(path)
    assert log.get("result_validity") == "VALID"  # as MLCommons' checker reads it
    assert math.isnan(log.get("result_mean_latency_ns"))
    assert math.isnan(log.get("result_min_latency_ns"))
    assert log.bad_lines == 1  # the broken event; a line not starting with :::MLLOG is none
    assert "not_an_event" not in log
    assert log.errors == ["bad"]
    # Reef's own reading of the same lines: the same events, the last of a key kept
    detail = parse_detail(LINES)
    assert detail.values["result_validity"] == "INVALID"
    assert set(detail.values) == set(log.values)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (':::MLLOG {"key": "a", "value": 1', "Expecting"),
        (':::MLLOG ["key"]', "no key"),
        ('x:::MLLOG {"key": "a"}', "does not start with :::MLLOG"),
    ],
)
def test_a_line_that_is_no_event_says_why(line: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_event(line)
