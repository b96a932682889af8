"""Detectors: the registry and the runner that asks every one of them what this machine is.

A detector has a ``name``, the ``group`` its facts belong to (``hardware``, ``os`` or
``software``) and a ``detect()`` returning a JSON object. The built-in ones and third-party
plugins of the ``reef.detectors`` entry-point group are ``DETECTORS``, their group in
``reef.plugins`` (a plugin with a built-in's name is not used), each imported only when
detection runs; ``detector`` components become ``CommandDetector``s (see
``component_detectors``), which the caller passes in as ``extra``: the components layer sits
beside this one, so the caller that may see both wires them together.

Every detector runs in its own thread, so those that shell out or import a framework overlap.
One that raises, times out, exits non-zero or prints something other than a JSON object
becomes a ``Problem`` naming it, and the others still run.

Two keys of a detector's object are taken out of its facts: ``volatile`` (an object of facts
that change between processes or name the machine: paths, free memory, the hostname; they are
kept but not hashed) and ``problems`` (a list of strings, for a partial failure).

The built-in detectors that cost most and whose answer cannot change until the machine
restarts or software is installed (``BOOT_STABLE``: importing numpy and onnxruntime, running
the compilers, reading package metadata) keep what they found under the cache folder, keyed
by everything it depends on (``boot_stamp``), and run again when any of that changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from reef.errors import PluginError, ReefError
from reef.plugins import PluginGroup

ENTRY_POINT_GROUP = "reef.detectors"
GROUPS = ("hardware", "os", "software")
Group = Literal["hardware", "os", "software"]
DEFAULT_TIMEOUT_S = 15.0  # for the whole run; a command's own limit is shorter
COMMAND_TIMEOUT_S = 10.0

# The built-in detectors, also declared under the entry-point group (an entry point with the
# same target is that declaration, not a clash); listed here so that a checkout whose metadata
# predates the group (an editable install not re-installed) finds them.
BUILTINS: dict[str, str] = {
    "system": "reef.environment.detectors.system:system",
    "cpu": "reef.environment.detectors.cpu:cpu",
    "memory": "reef.environment.detectors.memory:memory",
    "gpu": "reef.environment.detectors.gpu:gpu",
    "python": "reef.environment.detectors.python:python",
    "packages": "reef.environment.detectors.python:packages",
    "compilers": "reef.environment.detectors.compilers:compilers",
    "frameworks": "reef.environment.detectors.frameworks:frameworks",
    "blas": "reef.environment.detectors.blas:blas",
}


@runtime_checkable
class Detector(Protocol):
    """What the runner needs of a detector. An optional ``key`` attribute names where its facts
    go inside the group (the ``name`` otherwise)."""

    @property
    def name(self) -> str: ...

    @property
    def group(self) -> str: ...

    def detect(self) -> dict[str, Any]: ...


class DetectorFailed(Exception):
    """Raised by a detector to report a failure in its own words (no traceback type)."""


class DetectorSkipped(Exception):
    """Raised by a detector that was not allowed to run."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class FunctionDetector:
    """A detector made of a function; ``@detector(name, group)`` builds one."""

    name: str
    group: str
    function: Callable[[], dict[str, Any]]

    def detect(self) -> dict[str, Any]:
        return self.function()


def detector(name: str, group: Group) -> Callable[[Callable[[], dict[str, Any]]], FunctionDetector]:
    def wrap(function: Callable[[], dict[str, Any]]) -> FunctionDetector:
        return FunctionDetector(name, group, function)

    return wrap


@dataclass(frozen=True)
class CommandDetector:
    """Runs ``argv`` and reads the JSON object it prints on stdout."""

    name: str
    key: str  # where its facts go in the group: the software it detects
    argv: tuple[str, ...]
    cwd: str | None = None
    group: str = "software"
    timeout_s: float = COMMAND_TIMEOUT_S

    def detect(self) -> dict[str, Any]:
        try:
            # A session of its own, so that a time-out ends the whole process group and no
            # grandchild (a shell's sleep, say) is left running.
            child = subprocess.Popen(
                list(self.argv),
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise DetectorFailed(f"cannot run {self.argv[0]!r}: {exc.strerror or exc}") from exc
        try:
            stdout, stderr = child.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise DetectorFailed(f"timed out after {self.timeout_s:g} s") from exc
        proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        if proc.returncode != 0:
            tail = _tail(proc.stderr or proc.stdout)
            raise DetectorFailed(
                f"exited with status {proc.returncode}" + (f": {tail}" if tail else "")
            )
        try:
            data = json.loads(proc.stdout)
        except ValueError as exc:
            raise DetectorFailed(
                f"printed invalid JSON: {_tail(proc.stdout) or '(nothing)'}"
            ) from exc
        if not isinstance(data, dict):
            raise DetectorFailed(f"printed JSON that is not an object: {_tail(proc.stdout)}")
        return data


@dataclass(frozen=True)
class Unavailable:
    """A detector that could not be set up: running it reports why."""

    name: str
    message: str
    hint: str | None = None
    skipped: bool = False  # refused (untrusted) rather than broken
    group: str = "software"

    def detect(self) -> dict[str, Any]:
        if self.skipped:
            raise DetectorSkipped(self.message, self.hint)
        raise DetectorFailed(self.message)


@dataclass(frozen=True)
class Problem:
    """A detector that did not give its facts, or gave only part of them."""

    detector: str
    message: str
    kind: Literal["failed", "skipped"] = "failed"
    hint: str | None = None

    def __str__(self) -> str:
        return f"detector {self.detector!r} {self.kind}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Detection:
    """What the detectors found: ``facts`` and ``volatile`` facts by group, then by detector."""

    facts: dict[str, dict[str, Any]] = field(default_factory=lambda: {g: {} for g in GROUPS})
    volatile: dict[str, dict[str, Any]] = field(default_factory=lambda: {g: {} for g in GROUPS})
    problems: list[Problem] = field(default_factory=list)
    durations_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "facts": self.facts,
            "volatile": self.volatile,
            "problems": [p.to_json() for p in self.problems],
        }


def _tail(text: str, limit: int = 300) -> str:
    text = " ".join(text.strip().split())
    return text if len(text) <= limit else "…" + text[-limit:]


# -- the registry -------------------------------------------------------------------------------


class DetectorPluginError(PluginError):
    """A detector plugin (or a built-in detector's module) could not be loaded. Detection
    reports it as that detector's problem and runs the others."""


def _as_detector(name: str, obj: Any) -> Detector:
    if isinstance(obj, type):
        obj = obj()
    if isinstance(obj, Detector):
        return obj
    if callable(obj):
        return FunctionDetector(name, getattr(obj, "group", "software"), obj)
    raise TypeError(f"it provides {type(obj).__name__}, neither a detector nor a function")


DETECTORS: PluginGroup[Detector] = PluginGroup(
    ENTRY_POINT_GROUP,
    kind="detector",
    builtins=BUILTINS,
    error=DetectorPluginError,
    accept=_as_detector,
)


def registered() -> dict[str, str]:
    """Every detector in use: name -> ``module:attribute``, built-ins first."""
    return {e.name: e.target or "" for e in DETECTORS.entries()}


@dataclass(frozen=True)
class _Lazy:
    """A registered detector not imported yet: the import happens in its thread."""

    name: str
    value: str  # module:attribute

    def load(self) -> Detector:
        try:
            return DETECTORS.load(self.name)
        except PluginError as exc:
            raise DetectorFailed(exc.message) from exc


# -- detector components ------------------------------------------------------------------------


class ComponentEntry(Protocol):
    """What ``component_detectors`` needs of an index entry."""

    @property
    def name(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def manifest_path(self) -> Path: ...

    @property
    def directory(self) -> Path: ...


TrustCheck = Callable[[str, Path, str], None]


def component_detectors(
    entries: Iterable[ComponentEntry], ensure_trusted: TrustCheck
) -> list[Detector]:
    """A detector for each ``detector`` component: a ``CommandDetector`` where
    ``ensure_trusted(ref, manifest, wants)`` allows it, else one that reports it as skipped
    with the trust hint. Nothing is run here."""
    out: list[Detector] = []
    for entry in entries:
        # Imported here, for the first entry: the manifests' schemas cost ~0.3 s to build,
        # which a machine without detector components should not pay on every detection.
        from reef.meta.component import DetectorManifest
        from reef.meta.load import load_manifest

        try:
            manifest = load_manifest(entry.manifest_path)
        except ReefError as exc:
            out.append(Unavailable(entry.name, exc.message))
            continue
        if not isinstance(manifest, DetectorManifest):
            continue
        try:
            ensure_trusted(entry.ref, entry.manifest_path, "run its detector command")
        except ReefError as exc:
            out.append(Unavailable(entry.name, exc.message, exc.hint, skipped=True))
            continue
        folder = str(entry.directory)
        argv = tuple(arg.replace("{dir}", folder) for arg in manifest.command)
        out.append(CommandDetector(entry.name, manifest.software, argv, cwd=folder))
    return out


# -- the boot's memo ---------------------------------------------------------------------------

# The built-in detectors whose facts change only when the machine restarts or software is
# installed, and which cost most (tens to hundreds of milliseconds each).
BOOT_STABLE = ("packages", "compilers", "frameworks", "blas")
# What the compilers detector looks for (reef.environment.detectors.compilers.COMPILERS),
# named here so that stamping them imports nothing.
_COMPILERS = ("gcc", "clang", "nvcc")
# Environment variables that change what the BLAS and ONNX Runtime libraries load or report
# (thread pools, library paths); any other *_NUM_THREADS too.
_STAMPED_ENV = ("LD_LIBRARY_PATH", "LD_PRELOAD", "DYLD_LIBRARY_PATH", "VECLIB_MAXIMUM_THREADS")


def boot_stamp() -> dict[str, Any]:
    """Everything the ``BOOT_STABLE`` detectors' facts depend on besides the machine itself:
    this boot, this interpreter and Reef, the change times of the folders software is
    installed in (``sys.path`` but the script's own, ``PATH``: installing or removing
    anything changes its folder), the compilers' files, the detectors' own code, and the
    environment variables the libraries read. A few dozen ``stat`` calls, no import."""
    import sys

    import reef

    stamp: dict[str, Any] = {
        "boot": _boot_id(),
        "python": [sys.executable, sys.version],
        "reef": reef.__version__,
        "env": {
            k: v for k, v in os.environ.items() if k in _STAMPED_ENV or k.endswith("_NUM_THREADS")
        },
    }
    if hasattr(os, "sched_getaffinity"):
        stamp["cpus"] = len(os.sched_getaffinity(0))
    # sys.path[0] is the script's folder or the current one, where files come and go (/tmp):
    # not where software is installed, and no folder is stamped for being the current one.
    here = os.getcwd()
    folders = sys.path[1:] + os.environ.get("PATH", "").split(os.pathsep)
    stamp["folders"] = {
        folder: _mtime(folder)
        for folder in dict.fromkeys(folders)
        if folder and folder != "." and os.path.abspath(folder) != here
    }
    import shutil

    compilers = {}
    for name in _COMPILERS:
        found = shutil.which(name)
        if found is not None:
            real = os.path.realpath(found)
            compilers[name] = [found, real, _mtime(real)]
    stamp["compilers"] = compilers
    code = Path(__file__).parent / "detectors"
    stamp["code"] = {name: _mtime(str(code / f"{name}.py")) for name in ("python", *BOOT_STABLE)}
    return stamp


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        pass
    try:
        import psutil

        return str(psutil.boot_time())
    except Exception:
        return None


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _stable(unit: Detector | _Lazy) -> bool:
    """A built-in (not a plugin by its name) whose answer the memo may keep."""
    return (
        isinstance(unit, _Lazy) and unit.name in BOOT_STABLE and BUILTINS[unit.name] == unit.value
    )


def _heavy(unit: Detector | _Lazy) -> bool:
    if isinstance(unit, _Lazy):
        return not (unit.name in _LIGHT and BUILTINS.get(unit.name) == unit.value)
    return not isinstance(unit, CommandDetector | Unavailable)  # those import nothing here


class _BootMemo:
    """The ``BOOT_STABLE`` detectors' outcomes of this boot, in
    ``<cache>/detect/<stamp hash>.json``; any change to ``boot_stamp`` names another file.
    Unreadable or unwritable, it is as if empty: detection never fails for its sake."""

    def __init__(self, path: Path, kept: dict[str, Any]) -> None:
        self.path, self.kept = path, kept

    @classmethod
    def load(cls) -> _BootMemo | None:
        import hashlib

        from reef import config

        try:
            key = hashlib.sha256(json.dumps(boot_stamp(), sort_keys=True).encode()).hexdigest()
            path = config.cache_dir() / "detect" / f"{key[:32]}.json"
        except Exception:
            return None  # no cache folder to be had: detect as if nothing were kept
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = {}
        return cls(path, kept if isinstance(kept, dict) else {})

    def outcome(self, unit: Detector | _Lazy) -> _Outcome | None:
        entry = self.kept.get(unit.name) if _stable(unit) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            return None
        # A copy: merging takes the volatile facts and notes out of the object.
        data = json.loads(json.dumps(entry["data"]))
        return _Outcome(unit.name, str(entry.get("group")), str(entry.get("key")), data)

    def keep(self, ran: list[tuple[Detector | _Lazy, _Outcome | None]]) -> None:
        """Remember the stable detectors that answered fully (no problem, no partial failure:
        a compiler timing out on a loaded machine is asked again next time)."""
        added = False
        for unit, outcome in ran:
            if not _stable(unit) or outcome is None or outcome.problem is not None:
                continue
            data = outcome.data or {}
            if data.get("problems"):
                continue
            self.kept[unit.name] = {"group": outcome.group, "key": outcome.key, "data": data}
            added = True
        if not added:
            return
        from reef.files import write_atomic

        with contextlib.suppress(OSError):
            write_atomic(self.path, json.dumps(self.kept, sort_keys=True).encode())
            # Other boots' and installs' memos go, but not the last few: interpreters with
            # another sys.path (a worker, a provisioned environment) keep their own.
            memos = sorted(self.path.parent.glob("*.json"), key=_mtime_of, reverse=True)
            for old in memos[_MEMOS_KEPT:]:
                with contextlib.suppress(OSError):
                    old.unlink()


_MEMOS_KEPT = 8


def _mtime_of(path: Path) -> int:
    return _mtime(str(path)) or 0


# -- the runner ---------------------------------------------------------------------------------


@dataclass
class _Outcome:
    name: str
    group: str = "software"
    key: str = ""
    data: dict[str, Any] | None = None
    problem: Problem | None = None
    seconds: float = 0.0


def _run_one(unit: Detector | _Lazy) -> _Outcome:
    started = time.perf_counter()
    outcome = _Outcome(unit.name)
    try:
        found = unit.load() if isinstance(unit, _Lazy) else unit
        outcome.group = str(found.group)
        outcome.key = str(getattr(found, "key", None) or found.name)
        data = found.detect()
        if not isinstance(data, dict):
            raise DetectorFailed(f"returned {type(data).__name__}, not a JSON object")
        try:
            # A round trip makes tuples lists and proves the facts can be stored.
            outcome.data = json.loads(json.dumps(data, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise DetectorFailed(f"returned facts that are not JSON: {exc}") from exc
    except DetectorSkipped as exc:
        outcome.problem = Problem(unit.name, str(exc), "skipped", exc.hint)
    except DetectorFailed as exc:
        outcome.problem = Problem(unit.name, str(exc))
    except Exception as exc:
        # A plugin's bug must not take the other detectors down with it.
        outcome.problem = Problem(unit.name, f"raised {type(exc).__name__}: {exc}")
    outcome.seconds = time.perf_counter() - started
    return outcome


def _merge(detection: Detection, outcome: _Outcome) -> None:
    if outcome.problem is not None:
        detection.problems.append(outcome.problem)
        return
    data = outcome.data or {}
    if outcome.group not in GROUPS:
        detection.problems.append(
            Problem(outcome.name, f"unknown group {outcome.group!r}; use {', '.join(GROUPS)}")
        )
        return
    facts = detection.facts[outcome.group]
    if outcome.key in facts:
        detection.problems.append(
            Problem(
                outcome.name,
                f"{outcome.group}.{outcome.key} was already detected by another detector",
                "skipped",
            )
        )
        return
    volatile = data.pop("volatile", None)
    notes = data.pop("problems", None)
    facts[outcome.key] = data
    if isinstance(volatile, dict) and volatile:
        detection.volatile[outcome.group][outcome.key] = volatile
    for note in notes if isinstance(notes, list) else []:
        detection.problems.append(Problem(outcome.name, str(note)))


_PRELOAD = ("numpy", "onnxruntime")


def _preload() -> None:
    """Import the heavy modules several detectors read, once, before the threads start.

    Two threads importing numpy at once can each see it half-initialised (onnxruntime then
    fails to import, and the BLAS facts come back empty), which changed the fingerprint's
    hash from one run to the next. A failure here is left for the detectors to report.
    """
    import importlib
    import importlib.util

    for name in _PRELOAD:
        if importlib.util.find_spec(name) is not None:
            with contextlib.suppress(Exception):
                importlib.import_module(name)


# Built-in detectors that import no heavy module: the others, plugins included, may import
# numpy or onnxruntime, which _preload imports first.
_LIGHT = frozenset({"system", "cpu", "memory", "gpu", "python", "packages", "compilers"})


def detect_all(
    *,
    extra: Iterable[Detector] = (),
    registry: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    reuse: bool = True,
) -> Detection:
    """Run every registered detector (unless ``registry`` is False) and ``extra`` concurrently.

    The result does not depend on which finished first: facts are merged in registration
    order. A detector still running after ``timeout_s`` is reported and left behind (its
    thread is a daemon, so it cannot keep the process alive). With ``reuse``, the
    ``BOOT_STABLE`` built-ins answer from the boot's memo where it holds their facts.
    """
    units: list[Detector | _Lazy] = []
    if registry:
        units.extend(_Lazy(name, value) for name, value in registered().items())
    units.extend(extra)
    outcomes: list[_Outcome | None] = [None] * len(units)
    memo = _BootMemo.load() if reuse and any(_stable(u) for u in units) else None
    if memo is not None:
        for i, unit in enumerate(units):
            outcomes[i] = memo.outcome(unit)
    waiting = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if any(_heavy(units[i]) for i in waiting):
        _preload()

    def run(i: int, unit: Detector | _Lazy) -> None:
        outcomes[i] = _run_one(unit)

    threads = [
        threading.Thread(
            target=run, args=(i, units[i]), name=f"reef-detect-{units[i].name}", daemon=True
        )
        for i in waiting
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if memo is not None:
        memo.keep([(units[i], outcomes[i]) for i in waiting])
    detection = Detection()
    for unit, outcome in zip(units, outcomes, strict=True):
        if outcome is None:
            outcome = _Outcome(
                unit.name, problem=Problem(unit.name, f"timed out after {timeout_s:g} s")
            )
        detection.durations_s[unit.name] = outcome.seconds
        _merge(detection, outcome)
    return detection
