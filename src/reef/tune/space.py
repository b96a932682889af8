"""What a study searches and for what, parsed from the command line's words and checked
before anything starts: ``--space KEY=V1,V2``, ``--objective METRIC:DIR``,
``--constraint "METRIC OP VALUE"``, ``--budget N``, ``--time 10m``.

A space key is a setting of ``reef bench``: a benchmark setting (``threads``, ``batch_size``,
``samples_per_query``, ``target_qps``) or an ONNX Runtime option (``graph_optimization``,
``inter_op_threads``, ``execution_mode``). Values are typed here (an integer setting takes
integers); whether each value can run is asked of the code ``reef bench`` checks its
options with (``reef.api.tune`` does, through ``bench_settings`` and ``predictor_settings``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reef.tune import TuneError

Kind = Literal["bench", "predictor"]

# Tunable settings: where each goes (BenchSettings or PredictorSettings) and its type.
SPACE_KEYS: dict[str, tuple[Kind, type]] = {
    "threads": ("bench", int),
    "batch_size": ("bench", int),
    "samples_per_query": ("bench", int),
    "target_qps": ("bench", float),
    "graph_optimization": ("predictor", str),
    "inter_op_threads": ("predictor", int),
    "execution_mode": ("predictor", str),
}
# Metrics that are not a property of a configuration: how long or how much was measured.
NOT_OBJECTIVES = ("samples", "queries", "duration")
MAX_OBJECTIVES = 3
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(>=|<=|>|<)\s*(.+?)\s*$")
_BOUND = re.compile(
    r"^(?:(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*\*\s*reference"
    r"|reference\s*\*\s*(?P<num2>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)"
    r"|(?P<ref>reference)"
    r"|(?P<plain>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?))$",
    re.IGNORECASE,
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Value = int | float | str


class Dimension(BaseModel):
    """One ``--space`` key and the values it takes, typed."""

    model_config = ConfigDict(frozen=True)

    key: str
    values: list[Value]

    @property
    def kind(self) -> Kind:
        return SPACE_KEYS[self.key][0]


class Constraint(BaseModel):
    """``metric op bound``; with ``of_reference``, the bound is ``factor`` times the model's
    accuracy reference (``accuracy >= 0.99*reference``)."""

    model_config = ConfigDict(frozen=True)

    text: str
    metric: str
    op: Literal[">=", "<=", ">", "<"]
    factor: float
    of_reference: bool = False

    def bound(self, reference: float | None) -> float | None:
        """The bound for a model whose accuracy reference is ``reference``; None: unknown."""
        if not self.of_reference:
            return self.factor
        return None if reference is None else self.factor * reference

    def holds(self, value: float | None, reference: float | None) -> bool | None:
        """Whether ``value`` meets the constraint; None when it cannot be told."""
        bound = self.bound(reference)
        if value is None or bound is None or not math.isfinite(value):
            return None
        return {
            ">=": value >= bound,
            "<=": value <= bound,
            ">": value > bound,
            "<": value < bound,
        }[self.op]

    def violation(self, value: float | None, reference: float | None) -> float:
        """How far ``value`` is on the wrong side (0 when it holds): Optuna's constraint
        value, where positive means violated. Unknown counts as violated by 1."""
        bound = self.bound(reference)
        if value is None or bound is None or not math.isfinite(value):
            return 1.0
        gap = bound - value if self.op in (">=", ">") else value - bound
        if self.op in (">", "<") and gap == 0:
            return 1e-12
        return max(0.0, gap)


class TuneSpec(BaseModel):
    """A study's definition: what is tuned, how each trial is measured and what counts.
    Stored with the study, so that ``--resume`` measures the same way."""

    model_config = ConfigDict(frozen=True)

    target: str
    space: list[Dimension]
    objectives: list[str] = Field(description="METRIC:DIR, as --objective takes them")
    constraints: list[Constraint] = Field(default_factory=list)
    scenario: str = "SingleStream"
    duration_s: float = Field(description="a trial's full measurement, seconds")
    probe: float = Field(description="the share of duration_s a trial is first measured for")
    prune_k: int = Field(description="finished configurations that must dominate a probe")
    tolerance: float = 0.05

    def grid_size(self) -> int:
        return math.prod(len(d.values) for d in self.space)

    def needs_accuracy(self) -> bool:
        return any(o.split(":")[0].startswith("accuracy") for o in self.objectives) or any(
            c.metric.startswith("accuracy") for c in self.constraints
        )


def parse_space(values: Sequence[str]) -> list[Dimension]:
    """``--space KEY=V1,V2,...``, repeatable; each key once, each value typed for its key."""
    if not values:
        raise TuneError(
            "--space: give at least one setting to tune",
            hint="e.g. --space threads=1,2,4 --space graph_optimization=basic,all",
        )
    dims: dict[str, Dimension] = {}
    for text in values:
        key, sep, rest = text.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not sep or not key:
            raise TuneError(
                f"--space {text!r}: expected KEY=V1,V2,...", hint="e.g. --space threads=1,2,4"
            )
        if key not in SPACE_KEYS:
            raise TuneError(
                f"--space {key}: unknown setting",
                hint="tunable settings: " + ", ".join(SPACE_KEYS),
            )
        if key in dims:
            raise TuneError(f"--space {key}: given more than once", hint="list its values once")
        items = [v.strip() for v in rest.split(",")]
        if not rest.strip() or any(not v for v in items):
            raise TuneError(f"--space {key}={rest}: empty value", hint="e.g. --space threads=1,2,4")
        typed = [_typed(key, v) for v in items]
        if len(set(typed)) != len(typed):
            raise TuneError(f"--space {key}={rest}: a value is given twice")
        dims[key] = Dimension(key=key, values=typed)
    return list(dims.values())


def _typed(key: str, text: str) -> Value:
    kind = SPACE_KEYS[key][1]
    if kind is int:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise TuneError(
                f"--space {key}={text}: {text!r} is not an integer",
                hint=f"{key} takes whole numbers, e.g. --space {key}=1,2,4",
            )
        return int(text)
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise TuneError(f"--space {key}={text}: {text!r} is not a number")
        return number
    return text.lower()


def parse_objectives(values: Sequence[str]) -> list[str]:
    """``--objective METRIC:DIR``, 1 to 3 of them, each metric once; as ``reef pareto``
    reads them (``reef.results.pareto.Objective``)."""
    from reef.results.pareto import Objective

    if not 1 <= len(values) <= MAX_OBJECTIVES:
        raise TuneError(
            f"--objective: give 1 to {MAX_OBJECTIVES} objectives, not {len(values)}",
            hint="e.g. --objective latency_p99:min --objective throughput:max",
        )
    parsed = [Objective.parse(v) for v in values]
    for o in parsed:
        if o.metric in NOT_OBJECTIVES:
            raise TuneError(
                f"--objective {o}: {o.metric} is how much was measured, not how well a "
                "configuration does",
                hint="tune latency_*, throughput or accuracy",
            )
    names = [o.name for o in parsed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TuneError(f"--objective: {', '.join(repeated)} given more than once")
    return [str(o) for o in parsed]


def parse_constraint(text: str) -> Constraint:
    """``accuracy >= 0.99*reference``, ``latency_p99 <= 5``, ``throughput > 1000``."""
    from reef.results.pareto import METRICS

    shape = (
        "expected METRIC OP VALUE with OP one of >=, <=, >, < and VALUE a number or "
        'NUMBER*reference, e.g. "accuracy >= 0.99*reference"'
    )
    found = _CONSTRAINT.match(text)
    if found is None:
        raise TuneError(f"--constraint {text!r}: does not parse", hint=shape)
    metric, op, rhs = found.group(1).lower(), found.group(2), found.group(3)
    base = metric.partition(".")[0]
    if base not in METRICS:
        raise TuneError(
            f"--constraint {text!r}: unknown metric {metric!r}",
            hint="known metrics: " + ", ".join(METRICS),
        )
    bound = _BOUND.match(rhs.replace(" ", ""))
    if bound is None:
        raise TuneError(f"--constraint {text!r}: {rhs!r} does not parse as a bound", hint=shape)
    number = bound.group("num") or bound.group("num2")
    of_reference = bound.group("ref") is not None or number is not None
    factor = float(number) if number is not None else 1.0
    if bound.group("plain") is not None:
        factor = float(bound.group("plain"))
    if of_reference and base != "accuracy":
        raise TuneError(
            f"--constraint {text!r}: only accuracy has a reference",
            hint='bound latency and throughput by a number, e.g. "latency_p99 <= 5"',
        )
    if not math.isfinite(factor):
        raise TuneError(f"--constraint {text!r}: the bound is not a finite number")
    return Constraint(
        text=text.strip(),
        metric=metric,
        op=op,
        factor=factor,
        of_reference=of_reference,
    )


def parse_time(text: str) -> float:
    """``--time``: seconds, or ``90s``, ``10m``, ``1h30m``, ``2d``."""
    value = text.strip().lower()
    seconds: float | None = None
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        if parts and "".join(f"{n}{u}" for n, u in parts) == value.replace(" ", ""):
            seconds = sum(float(n) * _SECONDS[u] for n, u in parts)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise TuneError(
            f"--time {text!r}: expected a positive duration", hint="e.g. --time 90s, 10m, 1h30m"
        )
    return seconds


def check_limits(budget: int | None, time_s: float | None) -> None:
    if budget is not None and budget < 1:
        raise TuneError(
            f"--budget {budget}: must be at least 1 trial",
            hint="give the number of configurations to measure, e.g. --budget 12",
        )


def check_measurement(duration_s: float, probe: float, prune_k: int, tolerance: float) -> None:
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise TuneError(f"--duration {duration_s:g}: must be a positive number of seconds")
    if not 0 < probe < 1:
        raise TuneError(
            f"--probe {probe:g}: must be a fraction between 0 and 1",
            hint="the share of --duration a trial is first measured for, e.g. 0.25",
        )
    if prune_k < 0:
        raise TuneError(f"--prune-k {prune_k}: must be 0 (no pruning) or more")
    if not 0 <= tolerance < 1:
        raise TuneError(f"--tolerance {tolerance:g}: must be a fraction from 0 to 1")


def check_study_name(name: str) -> str:
    """A study's name: lower-case letters, digits, ``.``, ``_``, ``-`` (its runs' tag is
    ``tune:NAME``, and tags are kept in lower case)."""
    lowered = name.strip().lower()
    if not _NAME.fullmatch(lowered):
        raise TuneError(
            f"--study {name!r}: a study name is letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)",
        )
    return lowered


def config_key(config: dict[str, Any]) -> str:
    """A configuration as one stable string: ``batch_size=8,threads=2``."""
    return ",".join(f"{k}={config[k]}" for k in sorted(config))
