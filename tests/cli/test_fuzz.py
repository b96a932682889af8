"""Fuzzing the manifest loader and the CLI's option parsing (hypothesis, a bounded number of
examples each): whatever comes in, Reef answers with a result or one clean error, exit 0 or 2,
never a traceback, never exit 3 (an unexpected exception), never a hang, and writes nothing.

The manifests start from the tiny model's valid one, so most examples get past the YAML and
reach the schema and the model checks; the option values mix the boundaries that crashed the
worker before (huge integers, NaN, infinity, negative and empty values) with arbitrary text.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import tiny_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reef.errors import ReefError
from reef.meta.load import load_manifest

# Bounded: CI runs these on every push; `--hypothesis-seed` replays a failure.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PER_CALL_S = 10.0  # anything slower is a hang, as far as a user can tell

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 10**11, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 5e-324, -0.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

# Paths into the tiny manifest worth breaking (see e2e_support.tiny_manifest).
FIELDS = [
    ("name",), ("version",), ("kind",), ("description",), ("framework",),
    ("framework", "name"), ("framework", "version"), ("sources",), ("sources", 0),
    ("sources", 0, "path"), ("sources", 0, "sha256"), ("inputs",), ("inputs", 0),
    ("inputs", 0, "name"), ("inputs", 0, "shape"), ("inputs", 0, "shape", 0),
    ("inputs", 0, "shape", 1), ("inputs", 0, "element_type"), ("inputs", 0, "steps"),
    ("outputs",), ("outputs", 0), ("outputs", 0, "type"), ("outputs", 0, "steps"),
    ("accuracy",), ("dataset",), ("tags",), ("attributes",),
]  # fmt: skip
STEPS = [
    {"scale": {"factor": 0.5}}, {"normalize": {"mean": [0.5], "std": [0.5]}},
    {"top_k": {"k": 1}}, {"resize": {"dimensions": [1, 4, 4]}}, {"cast": {"to": "float32"}},
]  # fmt: skip


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    with contextlib.suppress(IndexError, TypeError):
        node[path[-1]] = value


@st.composite
def manifests(draw: st.DrawFn, base: dict[str, Any]) -> str:
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(FIELDS))
        choice = draw(st.integers(0, 3))
        if choice == 0:
            _set(data, path, draw(values))
        elif choice == 1:
            _set(data, path, draw(numbers))
        elif choice == 2 and path[-1] == "steps":
            _set(data, path, draw(st.lists(st.sampled_from(STEPS), max_size=3)))
        else:
            _set(data, path, draw(scalars))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if draw(st.booleans()):
        # Cut or splice the text too: malformed YAML, anchors, aliases, tags.
        junk = draw(st.text(alphabet="[]{}:&*!|>-#%@`'\"\n\t ,?abc123", max_size=40))
        at = draw(st.integers(0, len(text)))
        text = text[:at] + junk + text[at:]
    return text


@pytest.fixture
def model_folder(tiny_onnx: Path) -> tuple[Path, dict[str, Any]]:
    return tiny_onnx.parent, tiny_manifest(tiny_onnx)


def _timed(cli: InProcessReef, *args: str) -> Any:
    started = time.perf_counter()
    result = cli(*args)
    assert time.perf_counter() - started < PER_CALL_S, f"reef {' '.join(args)} took too long"
    assert "Traceback" not in result.stderr, str(result)
    assert result.rc in (0, 2), str(result)
    if result.rc == 2:
        assert "error" in result.stderr.lower() or "usage" in result.stderr.lower(), str(result)
    return result


def test_fuzz_the_manifest_loader_and_reef_check(
    cli: InProcessReef, model_folder: tuple[Path, dict[str, Any]]
) -> None:
    folder, base = model_folder
    path = folder / "model.yaml"

    @FUZZ
    @given(text=manifests(base))
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        # A clean refusal is fine; anything else fails the test with its traceback.
        with contextlib.suppress(ReefError):
            load_manifest(path)
        _timed(cli, "check", str(path))
        cli.assert_nothing_written()

    check()


BENCH_OPTIONS = [
    "--threads", "--seed", "--duration", "--queries", "--target-qps", "--latency-bound-ms",
    "--samples-per-query", "--batch-size", "--warmup", "--samples", "--scenario", "--mode",
    "--shape", "--graph-optimization", "--provider", "--trace",
]  # fmt: skip
option_values = st.one_of(
    numbers.map(str),
    st.sampled_from(["", "-", "1e12", "nan", "inf", "-inf", "x=1x100000000000", "x=0", "x=-1"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=20),
)  # fmt: skip


def test_fuzz_bench_options(cli: InProcessReef) -> None:
    """The target does not exist, so every example ends in exit 2: the option's own error
    when a value is refused, 'file not found' when all are accepted."""

    @FUZZ
    @given(options=st.lists(st.tuples(st.sampled_from(BENCH_OPTIONS), option_values), max_size=4))
    def bench(options: list[tuple[str, str]]) -> None:
        args = [part for option, value in options for part in (option, value)]
        result = _timed(cli, "bench", "absent/model.onnx", *args)
        assert result.rc == 2, str(result)
        cli.assert_nothing_written()

    bench()


RUNS_OPTIONS = [
    "--since", "--until", "--sort", "--limit", "--format", "--model", "--scenario", "--status",
    "--tag", "--text", "--backend", "--version",
]  # fmt: skip


def test_fuzz_run_selection_options(cli: InProcessReef) -> None:
    @FUZZ
    @given(
        command=st.sampled_from([["runs", "list"], ["board"], ["pareto", "-o", "latency_p90:min"]]),
        options=st.lists(st.tuples(st.sampled_from(RUNS_OPTIONS), option_values), max_size=3),
    )
    def select(command: list[str], options: list[tuple[str, str]]) -> None:
        args = [part for option, value in options for part in (option, value)]
        _timed(cli, *command, *args)

    select()
