"""Which runs to list, and in what order: ``RunFilter``, ``Sort`` and their text forms.

Everything here is checked when it is built, before any database is opened, so that bad input
fails with a message naming the option and changes nothing. The store turns a filter and a
sort into one SQL query (``Store.list``); ``explain_empty`` says which filter left nothing.

A run's *tags* are its target's kind (``onnx``, ``manifest``, ``component``, ``lock``,
``solution``), the name of the solution it was made for, and any ``tags`` its target carries;
``run_tags`` derives them from a record and the store keeps them in a column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from reef.errors import ResultsError
from reef.meta.choices import RUN_STATUS, SCENARIO

# The scenarios, as reef.meta.settings has them, read from the standard-library-only module
# of choices: a filter is built before any pydantic schema is needed (~35 ms of them).
SCENARIOS = SCENARIO.values

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

    from reef.meta.run import RunRecord

STATUSES = RUN_STATUS.values

# Sort field -> the ``runs`` column it orders by.
SORT_FIELDS = {
    "created_at": "created_at",
    "p50": "p50_ms",
    "p90": "p90_ms",
    "p99": "p99_ms",
    "throughput": "throughput_qps",
    "accuracy": "accuracy_value",
    "model": "target_name",
    "scenario": "scenario",
    "status": "status",
}

_AGE = re.compile(r"(\d+)\s*([smhdw])")
_AGES = re.compile(r"(?:\d+\s*[smhdw]\s*)+")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class QueryError(ResultsError):
    """A filter or sort that cannot be understood (exit 2)."""


class NoRunsMatch(ResultsError):
    """Filters were given and no run passes them all.

    ``option`` and ``value`` name the first filter (in ``RunFilter``'s order) whose addition
    left no run; ``before`` is how many runs the filters ahead of it, ``kept_by``, still let
    through (all runs when it is the first).
    """

    def __init__(self, option: str, value: str, before: int, kept_by: list[str]) -> None:
        self.option, self.value, self.before, self.kept_by = option, value, before, kept_by
        culprit = f"{option} {value}"
        if before == 0:
            message = f"no runs match {culprit}: no runs are recorded yet"
        elif kept_by:
            of = "the run" if before == 1 else f"the {before} runs"
            message = f"no runs match: {culprit} leaves none of {of} of {' '.join(kept_by)}"
        else:
            of = "the run" if before == 1 else f"the {before} runs"
            message = f"no runs match: {culprit} leaves none of {of} in the store"
        super().__init__(message, hint=f"drop or change {option}; `reef runs list` lists all")

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data.update(option=self.option, value=self.value, before=self.before)
        return data


@dataclass(frozen=True)
class RunFilter:
    """Runs to keep; every field given must hold (AND). ``None`` means any.

    ``model`` is the target's name; ``version`` a PEP 440 specifier (``>=1.2,<2``) or a bare
    version (``1.2``, meaning ``==1.2``); ``since``/``until`` bound ``created_at`` (``since`` is
    inclusive, ``until`` exclusive; naive times are UTC); ``text`` is found, in any case, in the
    target's name or version, the scenario, backend, status, reasons, solution name or tags.
    """

    model: str | None = None
    version: str | None = None
    scenario: str | None = None
    backend: str | None = None
    status: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    # True: only runs a server verified (an independent rerun reproduced them, schema
    # revision 0006); False: only runs it did not.
    verified: bool | None = None

    def __post_init__(self) -> None:
        if self.scenario is not None:
            object.__setattr__(self, "scenario", SCENARIO.parse(self.scenario, QueryError))
        if self.status is not None:
            object.__setattr__(self, "status", RUN_STATUS.parse(self.status, QueryError))
        if self.version is not None:
            version_spec(self.version)
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is not None:
                object.__setattr__(self, name, moment.astimezone(UTC).replace(tzinfo=None))
        for name in ("model", "backend", "tag", "text"):
            if getattr(self, name) == "":
                raise QueryError(
                    f"--{name}: empty value", hint=f"give a value or leave --{name} out"
                )

    def given(self) -> Iterator[tuple[str, str]]:
        """``(option, value)`` of each filter given, in field order."""
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            shown = (
                value.isoformat(sep=" ", timespec="seconds")
                if isinstance(value, datetime)
                else str(value)
            )
            yield f"--{f.name}", shown

    def is_empty(self) -> bool:
        return next(self.given(), None) is None

    def only(self, options: set[str]) -> RunFilter:
        """This filter keeping only the fields named (as options, ``--model``) in ``options``."""
        return replace(
            RunFilter(),
            **{f.name: getattr(self, f.name) for f in fields(self) if f"--{f.name}" in options},
        )

    def merged(self, **values: Any) -> RunFilter:
        """This filter with the non-None ``values`` set; ``since`` and ``until`` may be text as
        the options take it (a date, an ISO time or an age: ``parse_time``)."""
        for key, end in (("since", False), ("until", True)):
            if isinstance(values.get(key), str):
                values[key] = parse_time(values[key], f"--{key}", end=end)
        return replace(self, **{k: v for k, v in values.items() if v is not None})


@dataclass(frozen=True)
class Sort:
    """Order by ``field`` (a key of ``SORT_FIELDS``); runs with no value for it come last
    either way; ties go newest first."""

    field: str = "created_at"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.field not in SORT_FIELDS:
            raise QueryError(
                f"--sort: unknown field {self.field!r}",
                hint="sort by one of " + ", ".join(SORT_FIELDS) + " (prefix - for descending)",
            )

    @property
    def column(self) -> str:
        return SORT_FIELDS[self.field]

    @classmethod
    def parse(cls, text: str) -> Sort:
        """``p90`` ascending, ``-throughput`` descending (``+p90`` is ascending too)."""
        descending = text.startswith("-")
        name = text[1:] if text[:1] in "-+" and text else text
        return cls(name.strip().lower(), descending)

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field


NEWEST_FIRST = Sort("created_at", descending=True)


def parse_time(
    text: str, option: str, *, now: datetime | None = None, end: bool = False
) -> datetime:
    """A moment as naive UTC from ``2025-03-01``, an ISO datetime, or an age (``7d``, ``12h``,
    ``30m``, ``2w``, ``1d12h``) before ``now``. With ``end``, a bare date means the end of that
    day (so ``--until 2025-03-01`` includes the 1st)."""
    value = text.strip()
    out_of_range = QueryError(
        f"{option}: {text!r} is outside the dates this can read (years 1 to 9999)",
        hint="write 2025-03-01, 2025-03-01T14:30, or an age such as 7d, 12h, 30m, 2w",
    )
    if _AGES.fullmatch(value):
        try:
            delta = timedelta()
            for amount, unit in _AGE.findall(value):
                delta += timedelta(**{_UNITS[unit]: int(amount)})
            moment = (now or datetime.now(UTC)) - delta
        except (OverflowError, ValueError) as exc:  # ValueError: a number over int's limit
            raise out_of_range from exc
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError as exc:
                raise QueryError(
                    f"{option}: cannot read {text!r} as a date, a time or an age",
                    hint="write 2025-03-01, 2025-03-01T14:30, or an age such as 7d, 12h, 30m, 2w",
                ) from exc
        else:
            try:
                moment = datetime.combine(day + timedelta(days=1) if end else day, time())
            except OverflowError as exc:
                raise out_of_range from exc
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError as exc:
            raise out_of_range from exc
    return moment.replace(tzinfo=None)


def version_spec(text: str) -> SpecifierSet:
    """``text`` as a PEP 440 specifier set; a bare version means exactly that version."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    value = text.strip()
    try:
        if value and value[0].isalnum():
            Version(value)
            return SpecifierSet(f"=={value}")
        spec = SpecifierSet(value)
        for one in spec:  # each reads its version when first used: read it here
            one.contains("0", prereleases=True)
        return spec
    except ValueError as exc:  # InvalidSpecifier, InvalidVersion; a number over int's limit
        raise QueryError(
            f"--version: {text!r} is neither a version nor a PEP 440 specifier",
            hint="write 1.2.0, or a specifier such as '>=1.2,<2' or '~=1.4'",
        ) from exc


def explain_empty(run_filter: RunFilter, count: Callable[[RunFilter], int]) -> NoRunsMatch:
    """Why ``run_filter`` selects nothing: add its filters one at a time, in field order, and
    name the first after which ``count`` is zero."""
    kept: list[str] = []
    before = count(RunFilter())
    for option, value in run_filter.given():
        now = count(run_filter.only({*kept, option}))
        if now == 0:
            shown_kept = [f"{o} {v}" for o, v in run_filter.given() if o in kept]
            return NoRunsMatch(option, value, before, shown_kept)
        kept.append(option)
        before = now
    raise AssertionError("explain_empty called with a filter that matches runs")


def run_tags(record: RunRecord) -> list[str]:
    """The run's tags: target kind, solution name, and any tags the target carries."""
    tags: list[str] = [record.target.kind]
    if record.solution is not None:
        tags.append(record.solution.name)
    extra = getattr(record.target, "tags", None)
    if isinstance(extra, list):
        tags.extend(str(t) for t in extra)
    return list(dict.fromkeys(t.lower() for t in tags if t))


def search_text(record: RunRecord, tags: list[str]) -> str:
    """What free-text search looks in, lower-cased, one item a line."""
    parts = [
        record.target.name,
        record.target.version or "",
        record.scenario,
        record.predictor.name if record.predictor else "",
        record.status,
        *record.reasons,
        record.solution.name if record.solution else "",
        *tags,
    ]
    return "\n".join(p for p in parts if p).lower()


UNKNOWN_HARDWARE = "unknown hardware"


def hardware_label(cpu: Any, gpus: Any = None) -> str:
    """``AMD EPYC 7763 64-Core Processor``, or ``... + 2x NVIDIA H100`` with GPUs: the
    hardware a run's environment (``environment.hardware``) recorded."""
    label = cpu.strip() if isinstance(cpu, str) and cpu.strip() else UNKNOWN_HARDWARE
    if isinstance(gpus, list):
        names: dict[str, int] = {}
        for device in gpus:
            name = device.get("name") if isinstance(device, dict) else None
            if isinstance(name, str) and name:
                names[name] = names.get(name, 0) + 1
        parts = [name if n == 1 else f"{n}x {name}" for name, n in names.items()]
        if parts:
            label = f"{label} + {', '.join(parts)}"
    return label


def run_hardware(environment: dict[str, Any] | None) -> str:
    """The hardware label of a run's recorded environment (see ``hardware_label``)."""
    hardware = (environment or {}).get("hardware")
    if not isinstance(hardware, dict):
        return UNKNOWN_HARDWARE
    cpu = hardware.get("cpu")
    gpu = hardware.get("gpu")
    return hardware_label(
        cpu.get("model") if isinstance(cpu, dict) else None,
        gpu.get("devices") if isinstance(gpu, dict) else None,
    )


def like_pattern(text: str) -> str:
    """A LIKE pattern finding ``text`` anywhere, with ``\\`` escaping ``%``, ``_`` and itself."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
