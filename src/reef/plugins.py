"""The one registry behind Reef's six entry-point groups.

Each pluggable subsystem declares one ``PluginGroup``: its entry-point group, its built-ins, the
error a plugin that cannot be loaded becomes, and how to accept what a plugin provides::

    reef.predictors   reef.predictors.registry.PREDICTORS   a predictor class
    reef.steps        reef.predictors.steps.registry.STEPS  a processing-step factory
    reef.metrics      reef.bench.metrics.METRICS            a Metric
    reef.detectors    reef.environment.detect.DETECTORS     a detector
    reef.checks       reef.solutions.checks.CHECKS          a solution-check factory
    reef.drift        reef.drift.checkers.DRIFT_CHECKERS    a drift checker's factory

Every group follows the same rules:

- **Lazy.** Entry points are listed when the group is first asked about a name, and a plugin's
  module is imported only when that plugin is used (``load``), so the CLI starts without
  scanning installed packages or importing them.
- **A built-in wins a clash.** A plugin with a built-in's name is not used; it is kept in
  ``shadowed()`` (``reef plugins`` lists it) and a ``PluginShadowed`` warning names it when
  the built-in is first used. Between two plugins of one name, the first listed wins and the
  other is shadowed the same way. An entry point that points at the built-in's own target is
  that built-in declared in Reef's package metadata, not a clash.
- **A failure is one error.** A plugin whose import fails, whose attribute is missing, or
  whose object the group does not accept raises the group's ``error``: a ``PluginError``
  (exit 3) naming the plugin, the group and the distribution it came from. The cause is kept
  (``raise ... from``) for ``--debug``; the user sees one line, never a traceback.
- **Entries say where they come from:** ``built-in``, or the distribution's name and version.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from reef.errors import PluginError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

# The six groups, in the order ``reef plugins`` lists them.
GROUPS = (
    "reef.predictors",
    "reef.steps",
    "reef.metrics",
    "reef.detectors",
    "reef.checks",
    "reef.drift",
)
BUILT_IN = "built-in"
UNKNOWN_PACKAGE = "an unknown package"
_MAX_REASON = 300

T = TypeVar("T")


class PluginShadowed(UserWarning):
    """A plugin was not used because a built-in (or an earlier plugin) has its name."""


@dataclass(frozen=True)
class Entry:
    """One name in a group: a built-in, or a plugin's entry point."""

    group: str
    name: str
    target: str | None  # ``module:attribute``; None for a built-in given as an object
    builtin: bool = False
    package: str | None = None  # the distribution's name (None: a built-in, or not known)
    version: str | None = None
    shadowed_by: str | None = None  # the source of the entry used instead of this one

    @property
    def source(self) -> str:
        """``built-in``, the distribution's ``name version``, or ``an unknown package``."""
        if self.builtin:
            return BUILT_IN
        if self.package is None:
            return UNKNOWN_PACKAGE
        return f"{self.package} {self.version}" if self.version else self.package


@dataclass(frozen=True)
class EntryReport:
    """An entry and what happened when it was loaded (``reef plugins``)."""

    entry: Entry
    status: Literal["ok", "error", "shadowed", "not loaded"]
    error: str | None = None
    hint: str | None = None


@dataclass
class _Listing:
    entries: dict[str, Entry]  # the entries in use, by name
    points: dict[str, EntryPoint]  # the entry point of each plugin in use
    shadowed: list[Entry]


_ALL: list[PluginGroup[Any]] = []
_scanned: Any = None  # what importlib.metadata.entry_points() answered
_scan_lock = threading.Lock()


def refresh() -> None:
    """Forget what every group listed and loaded, e.g. after installing a plugin in a running
    process (or a test's fake one)."""
    _forget_scan()
    for group in list(_ALL):
        group.refresh()


def _forget_scan() -> None:
    global _scanned
    with _scan_lock:
        _scanned = None


def _entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group``. Every group's are read in one pass over the installed
    distributions, the first time any group is asked: a pass costs ~10 ms whether it keeps
    one group or all of them, and a benchmark asks three."""
    global _scanned
    with _scan_lock:
        if _scanned is None:
            # Imported here: importlib.metadata costs milliseconds that `reef --version` and
            # the commands that use no plugin should not pay.
            import importlib.metadata

            _scanned = importlib.metadata.entry_points()
        return list(_scanned.select(group=group))


class PluginGroup(Generic[T]):
    """One entry-point group: its built-ins and the plugins installed for it.

    ``builtins`` maps a name to the object itself or to its ``module:attribute`` (imported on
    first use, like a plugin). ``accept(name, obj)`` turns what was loaded into what the
    subsystem uses, raising ``TypeError`` with the reason when it cannot (anything else it
    raises, a detector class's constructor failing say, is reported with its type).
    ``kind`` names one entry in messages (``step``, ``metric``).
    """

    def __init__(
        self,
        group: str,
        *,
        kind: str,
        builtins: Mapping[str, str | T],
        error: type[PluginError],
        accept: Callable[[str, Any], T],
    ) -> None:
        self.group, self.kind, self.error = group, kind, error
        self._builtins = dict(builtins)
        self._accept = accept
        self._lock = threading.Lock()
        self._listing: _Listing | None = None
        self._loaded: dict[str, T] = {}
        self._errors: dict[str, PluginError] = {}
        self._warned: set[tuple[str, str]] = set()
        _ALL.append(self)

    # -- what is there (no plugin is imported) ---------------------------------------------------

    def names(self) -> list[str]:
        """Every name in use, built-ins and plugins, sorted."""
        return sorted(self._list().entries)

    def __contains__(self, name: object) -> bool:
        return name in self._builtins or name in self._list().entries

    def get(self, name: str) -> Entry | None:
        return self._list().entries.get(name)

    def entries(self) -> list[Entry]:
        """The entries in use, built-ins first, then plugins in the order they were listed."""
        return list(self._list().entries.values())

    def shadowed(self) -> list[Entry]:
        """Plugins not used because an entry in use has their name."""
        return list(self._list().shadowed)

    # -- using one --------------------------------------------------------------------------------

    def load(self, name: str) -> T:
        """What ``name`` provides, imported on first use; raises the group's error if it cannot
        be loaded and ``KeyError`` if no entry has that name (callers say "unknown" their way)."""
        if name in self._loaded:
            return self._loaded[name]
        if name in self._errors:
            raise self._errors[name]
        listing = self._list()
        entry = listing.entries[name]
        self._warn_shadowed(name)
        try:
            point = listing.points.get(name)
            found = point.load() if point is not None else self._builtin_object(name)
        except Exception as exc:  # whatever a plugin's import raises, it must not escape raw
            raise self._failed(entry, _reason(exc)) from exc
        try:
            value = self._accept(name, found)
        except TypeError as exc:  # accept's own words: "it provides int, not a Metric"
            raise self._failed(entry, str(exc)) from exc
        except Exception as exc:  # a detector class whose constructor raises, say
            raise self._failed(entry, _reason(exc)) from exc
        # Detectors load in threads of their own: the first to finish keeps its object.
        return self._loaded.setdefault(name, value)

    def report(self, *, load: bool = True) -> list[EntryReport]:
        """Every entry, shadowed plugins included; with ``load``, each entry in use is loaded
        so that a broken one shows its error."""
        out: list[EntryReport] = []
        for entry in self.entries():
            if not load:
                out.append(EntryReport(entry, "not loaded"))
                continue
            try:
                with warnings.catch_warnings():
                    # The report lists shadowed plugins itself.
                    warnings.simplefilter("ignore", PluginShadowed)
                    self.load(entry.name)
            except PluginError as exc:
                out.append(EntryReport(entry, "error", exc.message, exc.remedy))
            else:
                out.append(EntryReport(entry, "ok"))
        out.extend(EntryReport(e, "shadowed") for e in self.shadowed())
        return out

    def refresh(self) -> None:
        """Forget this group's listing and loads; the installed distributions' entry points are
        read again when a group is next asked."""
        _forget_scan()
        with self._lock:
            self._listing = None
            self._loaded.clear()
            self._errors.clear()
            self._warned.clear()

    # -- inside -----------------------------------------------------------------------------------

    def _list(self) -> _Listing:
        listing = self._listing
        if listing is not None:
            return listing
        with self._lock:
            if self._listing is None:
                self._listing = self._scan()
            return self._listing

    def _scan(self) -> _Listing:
        entries: dict[str, Entry] = {
            name: Entry(self.group, name, value if isinstance(value, str) else None, builtin=True)
            for name, value in self._builtins.items()
        }
        points: dict[str, EntryPoint] = {}
        shadowed: list[Entry] = []
        for point in _entry_points(self.group):
            builtin = self._builtins.get(point.name)
            if isinstance(builtin, str) and builtin == point.value:
                continue  # Reef's own metadata declaring its built-in
            dist = getattr(point, "dist", None)
            entry = Entry(
                self.group,
                point.name,
                point.value,
                package=getattr(dist, "name", None),
                version=getattr(dist, "version", None),
            )
            winner = entries.get(point.name)
            if winner is not None:
                shadowed.append(_shadowed(entry, winner))
                continue
            entries[point.name] = entry
            points[point.name] = point
        return _Listing(entries, points, shadowed)

    def _builtin_object(self, name: str) -> Any:
        value = self._builtins[name]
        if not isinstance(value, str):
            return value
        from importlib.metadata import EntryPoint

        # Loaded as an entry point is, so a built-in and a plugin fail the same way.
        return EntryPoint(name, value, self.group).load()

    def _warn_shadowed(self, name: str) -> None:
        for entry in self._list().shadowed:
            key = (entry.name, entry.source)
            if entry.name != name or key in self._warned:
                continue
            self._warned.add(key)
            warnings.warn(shadow_message(self.kind, entry), PluginShadowed, stacklevel=4)

    def _failed(self, entry: Entry, reason: str) -> PluginError:
        error = self.error(
            group=self.group,
            name=entry.name,
            kind=self.kind,
            source=entry.source,
            package=entry.package,
            reason=reason,
        )
        # Kept, so that using it again fails the same way without importing it again.
        self._errors.setdefault(entry.name, error)
        return error


def _reason(exc: BaseException) -> str:
    """``Type: message`` on one line, cut to a length a terminal line can hold."""
    detail = " ".join(str(exc).split())
    if len(detail) > _MAX_REASON:
        detail = detail[:_MAX_REASON] + "…"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _shadowed(entry: Entry, winner: Entry) -> Entry:
    return dataclasses.replace(entry, shadowed_by=winner.source)


def shadow_message(kind: str, entry: Entry) -> str:
    by = (
        f"Reef's built-in {kind} has that name"
        if entry.shadowed_by == BUILT_IN
        else f"the one from {entry.shadowed_by} has that name"
    )
    return f"{entry.group} plugin {entry.name!r} from {entry.source} is not used: {by}"
