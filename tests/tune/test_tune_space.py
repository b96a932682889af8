"""Parsing what `reef tune` is asked: the space, objectives, constraints and limits, each
refused with the option named."""

from __future__ import annotations

import pytest

from reef.errors import ReefError
from reef.tune import TuneError
from reef.tune.space import (
    config_key,
    parse_constraint,
    parse_objectives,
    parse_space,
    parse_time,
)


def test_space_values_are_typed_per_setting() -> None:
    dims = parse_space(["threads=1,2,4", "graph_optimization=Basic,all", "batch-size=8"])
    assert [(d.key, d.values, d.kind) for d in dims] == [
        ("threads", [1, 2, 4], "bench"),
        ("graph_optimization", ["basic", "all"], "predictor"),
        ("batch_size", [8], "bench"),
    ]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["threads=1,two"], "--space threads=two: 'two' is not an integer"),
        (["frobs=1,2"], "--space frobs: unknown setting"),
        (["threads"], "expected KEY=V1,V2"),
        (["threads=1,,2"], "empty value"),
        (["threads=1", "threads=2"], "given more than once"),
        (["threads=2,2"], "a value is given twice"),
        (["target_qps=fast"], "not a number"),
        ([], "at least one setting"),
    ],
)
def test_bad_space(given: list[str], says: str) -> None:
    with pytest.raises(TuneError) as exc:
        parse_space(given)
    assert says in exc.value.message
    assert exc.value.exit_code == 2


def test_objectives() -> None:
    assert parse_objectives(["latency_p99:min", "Throughput:MAX"]) == [
        "latency_p99:min",
        "throughput:max",
    ]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["speed:max"], "unknown metric 'speed'"),
        (["latency_p99"], "is not METRIC:DIRECTION"),
        (["latency_p99:down"], "unknown direction"),
        (["samples:max"], "how much was measured"),
        (["throughput:max", "throughput:min"], "given more than once"),
        ([], "give 1 to 3"),
    ],
)
def test_bad_objective(given: list[str], says: str) -> None:
    with pytest.raises(ReefError) as exc:
        parse_objectives(given)
    assert says in exc.value.message and "--objective" in exc.value.message
    assert exc.value.exit_code == 2


def test_constraints_parse_and_hold() -> None:
    c = parse_constraint("accuracy >= 0.99*reference")
    assert (c.metric, c.op, c.factor, c.of_reference) == ("accuracy", ">=", 0.99, True)
    assert c.holds(0.97, reference=0.97) is True
    assert c.holds(0.90, reference=0.97) is False
    assert c.holds(0.97, reference=None) is None
    assert c.violation(0.90, 0.97) == pytest.approx(0.9603 - 0.90)
    assert c.violation(0.99, 0.97) == 0
    plain = parse_constraint("latency_p99<=5")
    assert (plain.metric, plain.op, plain.factor, plain.of_reference) == (
        "latency_p99",
        "<=",
        5,
        False,
    )
    assert parse_constraint("accuracy > reference*0.5").factor == 0.5
    assert parse_constraint("accuracy >= reference").of_reference


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("accuracy >> 0.9", "does not parse"),
        ("accuracy", "does not parse"),
        ("speed >= 3", "unknown metric 'speed'"),
        ("accuracy >= lots", "does not parse as a bound"),
        ("latency_p99 <= 2*reference", "only accuracy has a reference"),
    ],
)
def test_bad_constraint(text: str, says: str) -> None:
    with pytest.raises(TuneError) as exc:
        parse_constraint(text)
    assert says in exc.value.message and "--constraint" in exc.value.message


def test_time() -> None:
    assert parse_time("90") == 90
    assert parse_time("10m") == 600
    assert parse_time("1h30m") == 5400
    for bad in ("0", "-5", "soon", "10x", "nan"):
        with pytest.raises(TuneError, match="--time"):
            parse_time(bad)


def test_config_key_is_stable() -> None:
    assert config_key({"threads": 2, "batch_size": 8}) == "batch_size=8,threads=2"
