"""Isolated virtual environments for locks: built once, found again by hash, never half-made.

An environment lives at ``envs/<hash>`` in Reef's cache folder (``reef.config.envs_dir``).
The hash is the sha256 of the lock without
its ``environment`` section and ``target`` spelling, the interpreter (implementation and
major.minor: any 3.11 serves a 3.11 environment) and Reef's version, so writing the installed
versions back into the lock does not move it; an environment whose marker does not hold the
lock's pinned versions is rebuilt and swapped in. It is built in a temporary folder beside that
path and renamed onto it only once complete, with a marker file (``reef-env.json``) recording
what was installed: a folder without a valid marker is never used, and temporary folders of
builds that died are swept.

Reef itself is not installed by the installer (the environment must run this very Reef, which
may be a development checkout): its package folder ``reef`` is copied into the environment's
site-packages with a ``dist-info`` of its distribution, ``reef-bench`` (its metadata and entry
points, which the predictor registry and the fingerprint read). Beside the lock's requirements
go only those of Reef's that the benchmark worker imports (``WORKER_REQUIREMENTS``) and the
runtime of each framework the lock's models name (``RUNTIMES``): for ONNX Runtime, the build
this machine has (``onnxruntime-gpu`` stays the GPU build), since every build installs the one
module ``onnxruntime`` and a second one would overwrite the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from reef import config, owner
from reef.environment.installers import (
    Installer,
    InstallerError,
    LineCallback,
    child_environment,
    choose,
    find_uv,
    run,
)
from reef.errors import EnvError
from reef.meta.lock import Lock, LockedEnvironment

MARKER = "reef-env.json"
# The distribution Reef is installed as (the import package and the command are `reef`).
DISTRIBUTION = "reef-bench"
TMP_KIND = "tmp"  # build folders are .tmp-<owner>-<hash>-<token>
Progress = Callable[[str], None]
Status = Literal["created", "reused", "rebuilt"]

_VERSION_REQUEST = re.compile(r"\d+(\.\d+){0,2}")
_PROBE = (
    "import json, platform, sys; print(json.dumps({'executable': sys.executable, "
    "'version': platform.python_version(), 'implementation': sys.implementation.name}))"
)
_INSPECT = (
    "import importlib.metadata as m, json, sysconfig; print(json.dumps({"
    "'site': sysconfig.get_paths()['purelib'], 'packages': {d.metadata['Name']: d.version "
    "for d in m.distributions() if d.metadata['Name']}}))"
)
_PROBE_TIMEOUT_S = 30.0


class ProvisionError(EnvError):
    pass


def envs_dir() -> Path:
    return config.envs_dir()


def env_python(env: Path) -> Path:
    """The interpreter of a virtual environment."""
    if os.name == "nt":
        return env / "Scripts" / "python.exe"
    return env / "bin" / "python"


# --- interpreters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str  # e.g. 3.11.7
    implementation: str  # sys.implementation.name, e.g. cpython

    @property
    def key(self) -> str:
        """What an environment's hash takes from its interpreter."""
        return interpreter_key(self.implementation, self.version)

    def to_json(self) -> dict[str, str]:
        return {
            "executable": self.executable,
            "version": self.version,
            "implementation": self.implementation,
        }


def interpreter_key(implementation: str, version: str) -> str:
    return f"{implementation.lower()}-{'.'.join(version.split('.')[:2])}"


def current_interpreter() -> Interpreter:
    import platform

    return Interpreter(sys.executable, platform.python_version(), sys.implementation.name)


def _ask(executable: str, script: str) -> tuple[Any, str]:
    """What ``script`` prints as JSON when ``executable`` runs it in isolated mode (None when
    it fails), and what it said on stderr."""
    proc = subprocess.run(
        [executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=child_environment(),
        timeout=_PROBE_TIMEOUT_S,
    )
    return (json.loads(proc.stdout) if proc.returncode == 0 else None), proc.stderr


def _probe(executable: str) -> Interpreter | None:
    """What ``executable`` is, or None when it does not run as a Python."""
    try:
        data, _ = _ask(executable, _PROBE)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not isinstance(data, dict):
        return None
    version, implementation = data.get("version"), data.get("implementation")
    # A program that prints JSON of another shape is not a Python that ran the probe.
    if not isinstance(version, str) or not isinstance(implementation, str):
        return None
    # The path as given, not sys.executable: a venv's interpreter reports the venv's path,
    # which is what should be used, but a symlink farm (pyenv) may report another.
    return Interpreter(executable, version, implementation)


def _matches(interpreter: Interpreter, request: str) -> bool:
    return interpreter.version.split(".")[: len(request.split("."))] == request.split(".")


def find_interpreter(request: str | None) -> Interpreter:
    """The interpreter ``--python`` names: None for this one, a version (``3.12``), a command
    (``python3.12``) or a path. Only interpreters already installed: none is downloaded or
    built."""
    if request is None:
        return _supported(current_interpreter(), "this Python")
    current = current_interpreter()
    looked: list[str] = []
    if _VERSION_REQUEST.fullmatch(request):
        if _matches(current, request):
            return _supported(current, request)
        parts = request.split(".")
        names = [f"python{'.'.join(parts[:2])}"] if len(parts) > 1 else [f"python{parts[0]}"]
        for name in names:
            found = shutil.which(name)
            looked.append(f"{name} on PATH")
            probed = _probe(found) if found else None
            if probed is not None and _matches(probed, request):
                return _supported(probed, request)
        uv = find_uv()
        if uv is not None:
            looked.append("uv's list of installed Pythons")
            probed = _uv_find(uv, request)
            if probed is not None and _matches(probed, request):
                return _supported(probed, request)
    else:
        found = shutil.which(request) or (request if Path(request).is_file() else None)
        looked.append(request)
        probed = _probe(os.path.abspath(found)) if found else None
        if probed is not None:
            return _supported(probed, request)
        if found:
            # It exists but did not answer as a Python: saying "not found" would mislead.
            raise ProvisionError(
                f"--python {request}: {found} is not a usable Python interpreter (it did not "
                "report its version and implementation)",
                hint="give --python an installed Python's version (e.g. 3.11) or its path",
            )
    raise ProvisionError(
        f"--python {request}: no such Python found (looked at {', '.join(looked)})",
        hint="give --python a version that is installed (e.g. 3.11) or an interpreter's path; "
        "Reef never downloads or builds an interpreter",
    )


def _uv_find(uv: str, request: str) -> Interpreter | None:
    try:
        proc = subprocess.run(
            [uv, "python", "find", request],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=child_environment() | {"UV_PYTHON_DOWNLOADS": "never"},
            timeout=_PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = proc.stdout.strip()
    return _probe(path) if proc.returncode == 0 and path else None


def _supported(interpreter: Interpreter, request: str) -> Interpreter:
    """The worker runs Reef itself in the environment: its interpreter must be one Reef runs on."""
    try:
        needs = distribution(DISTRIBUTION).metadata["Requires-Python"]
    except PackageNotFoundError:
        needs = None
    if needs and not SpecifierSet(needs).contains(interpreter.version, prereleases=True):
        raise ProvisionError(
            f"--python {request}: Python {interpreter.version} ({interpreter.executable}) "
            f"cannot run Reef, which needs Python {needs}",
            hint="choose a newer interpreter with --python",
        )
    return interpreter


def interpreter_for(lock: Lock, request: str | None) -> Interpreter:
    """``--python`` when given; else the lock's own Python when it was provisioned before (so
    the environment is rebuilt as it was); else this one."""
    if request is None and lock.environment is not None:
        wanted = ".".join(lock.environment.python.split(".")[:2])
        if wanted != ".".join(current_interpreter().version.split(".")[:2]):
            try:
                return find_interpreter(wanted)
            except ProvisionError as exc:
                raise ProvisionError(
                    f"the lock was provisioned with Python {lock.environment.python}, and "
                    f"{exc.message.removeprefix(f'--python {wanted}: ')}",
                    hint="install that Python, or choose another with --python (the lock's "
                    "pinned versions are still installed exactly)",
                ) from exc
    return find_interpreter(request)


def _recorded_interpreter(lock: Lock) -> Interpreter | None:
    """The interpreter of the complete environment already built for a provisioned lock: it
    is reused as it is, even where that Python is not on PATH (as ``reef bench`` finds it)."""
    if lock.environment is None:
        return None
    digest = environment_hash(lock, _lock_key(lock))
    marker = _read_marker(envs_dir() / digest, digest)
    python = marker.get("python") if marker is not None else None
    if not isinstance(python, dict):
        return None
    try:
        return Interpreter(
            str(python["executable"]), str(python["version"]), str(python["implementation"])
        )
    except KeyError:
        return None


def _lock_key(lock: Lock) -> str:
    if lock.environment is not None:
        return interpreter_key(lock.environment.implementation, lock.environment.python)
    return current_interpreter().key


# --- what goes in ----------------------------------------------------------------------------


def environment_hash(lock: Lock, interpreter: str) -> str:
    """The name of the environment of ``lock`` for an interpreter key (``cpython-3.11``)."""
    import reef

    # The target is left out too: `NAME` and `NAME@VERSION` resolving to the same components
    # are the same lock and share one environment.
    body = {
        "lock": lock.model_dump(mode="json", exclude={"environment", "target"}),
        "python": interpreter,
        "reef": reef.__version__,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# Reef's base requirements the benchmark worker (``python -m reef.bench.worker``) imports: the
# only ones of Reef's an environment gets. LoadGen, numpy, pydantic, psutil (the footprint
# check, interference sampling) and packaging (version constraints) on every run; platformdirs
# where REEF_HOME is not set; PyYAML when the worker's component index reads manifests again;
# Pillow for the image steps. The database, the command line and the resolver (alembic,
# sqlalchemy, typer, rich, resolvelib) serve the Reef that runs `reef init` or `reef bench`.
WORKER_REQUIREMENTS = frozenset(
    {
        "mlcommons-loadgen",
        "numpy",
        "packaging",
        "pillow",
        "platformdirs",
        "psutil",
        "pydantic",
        "pyyaml",
    }
)
# A model manifest's ``framework.name`` -> the extra of reef-bench that installs its runtime,
# and what that extra holds when Reef's metadata does not say (an older install). ONNX Runtime
# is the default framework, and its build follows this machine's (``runtime_requirements``).
RUNTIMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "onnxruntime": ("cpu", ("onnxruntime",)),
    "torch": ("torch", ("torch",)),
    "tflite": ("tflite", ("ai-edge-litert",)),
    "openvino": ("openvino", ("openvino",)),
    "sklearn": ("sklearn", ("scikit-learn", "joblib")),
}
DEFAULT_FRAMEWORKS = ("onnxruntime",)
# The extra that installs a build of ONNX Runtime other than the CPU one.
_ORT_EXTRAS = {"onnxruntime-gpu": "gpu"}


def _reef_requires() -> list[Requirement]:
    try:
        listed = distribution(DISTRIBUTION).requires or []
    except PackageNotFoundError as exc:
        raise ProvisionError(
            "Reef is not installed as a package, so its requirements are unknown",
            hint="install it (pip install -e . in its source tree, or pip install reef-bench)",
        ) from exc
    return [Requirement(text) for text in listed]


def reef_requirements() -> list[str]:
    """Reef's own base requirements (no extras) that the benchmark worker imports, as Reef's
    metadata specifies them."""
    return [
        str(r)
        for r in _reef_requires()
        if (r.marker is None or "extra" not in str(r.marker))
        and canonicalize_name(r.name) in WORKER_REQUIREMENTS
    ]


def extra_requirements(extra: str) -> list[str]:
    """What Reef's ``extra`` installs, as its metadata says (without the marker)."""
    out = []
    for r in _reef_requires():
        if r.marker is not None and r.marker.evaluate({"extra": extra}):
            r.marker = None
            out.append(str(r))
    return out


def host_onnxruntime() -> str:
    """The distribution that provides ``onnxruntime`` here, else the CPU build. Where several
    are installed (one overwrote the other: ``reef detect`` says so), a GPU or vendor build
    was chosen on purpose, and the CPU build more likely came with something else."""
    from reef.environment.detectors.frameworks import installed_distributions

    names = list(installed_distributions("onnxruntime"))
    vendor = [n for n in names if canonicalize_name(n) != "onnxruntime"]
    return canonicalize_name((vendor or names or ["onnxruntime"])[0])


def runtime_requirements(
    frameworks: Sequence[str], named: AbstractSet[str] = frozenset()
) -> list[str]:
    """The runtime of each of ``frameworks`` (a model manifest's ``framework.name``), with the
    specifier of the extra that installs it; none for a distribution ``named`` already (the
    lock's requirements and pins, normalised names: they win) and, for ONNX Runtime, none when
    any of its builds is named (two builds overwrite each other's module). A framework Reef
    has no extra for (a plugin's) gets nothing: its component lists what it needs."""
    from reef.environment.detectors.frameworks import FRAMEWORKS

    out: list[str] = []
    for framework in dict.fromkeys(frameworks):
        if framework not in RUNTIMES:
            continue
        extra, fallback = RUNTIMES[framework]
        wanted = list(fallback)
        if framework == "onnxruntime":
            builds = {canonicalize_name(n) for n in FRAMEWORKS["onnxruntime"]}
            if any(b in named for b in builds):
                continue
            wanted = [host_onnxruntime()]
            extra = _ORT_EXTRAS.get(wanted[0], extra)
        listed = {canonicalize_name(Requirement(r).name): r for r in extra_requirements(extra)}
        for name in wanted:
            if canonicalize_name(name) not in named:
                out.append(listed.get(canonicalize_name(name), name))
    return out


def several_builds(packages: dict[str, str]) -> str | None:
    """What is wrong with an environment that holds several builds of ONNX Runtime (a
    requirement of the lock's depends on another build than the one Reef chose), else None."""
    from reef.environment.detectors.frameworks import FRAMEWORKS

    builds = {canonicalize_name(n) for n in FRAMEWORKS["onnxruntime"]}
    found = sorted(n for n in packages if canonicalize_name(n) in builds)
    if len(found) < 2:
        return None
    return (
        f"the environment holds {len(found)} builds of ONNX Runtime ({', '.join(found)}), "
        "which all install the module `onnxruntime`: the one installed last overwrote the "
        "others' files and providers; name one build in the component's python requirements"
    )


def gpu_requirements(pins: dict[str, str]) -> list[str]:
    """The ``gpu`` extra's NVML binding at the host's version when the host has it, so runs
    inside the environment still see the GPU; a version the lock pins already wins (two
    different exact pins could not both be installed)."""
    if "nvidia-ml-py" in pins:
        return []
    try:
        version = distribution("nvidia-ml-py").version
    except PackageNotFoundError:
        return []
    return [f"nvidia-ml-py=={version}"]


def requirements(
    lock: Lock, where: str = "reef.lock", frameworks: Sequence[str] = DEFAULT_FRAMEWORKS
) -> list[str]:
    """The lock's Python requirements, those of Reef's the worker imports, the runtime of each
    of the lock's ``frameworks``, and the lock's exact pins when it has them.

    They are given to the installer as they are: pip and uv both intersect several
    requirements of one package.
    """
    named: list[tuple[str, str]] = [(f"python[{i}]", r) for i, r in enumerate(lock.python)]
    for location, text in named:
        _check(location, text, where)
    pins = lock.environment.packages if lock.environment is not None else {}
    taken: set[str] = {canonicalize_name(Requirement(r).name) for r in lock.python}
    taken |= {canonicalize_name(name) for name in pins}
    named += [("reef", r) for r in reef_requirements()]
    named += [("runtime", r) for r in runtime_requirements(frameworks, taken)]
    named += [("gpu", r) for r in gpu_requirements(pins)]
    if lock.environment is not None:
        named += [
            (f"environment.packages.{name}", f"{name}=={version}")
            for name, version in sorted(lock.environment.packages.items())
        ]
    for location, text in named:
        _check(location, text, where)
    return list(dict.fromkeys(text for _, text in named))


def _check(location: str, text: str, where: str) -> None:
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        raise ProvisionError(
            f"{where}: {location}: {text!r} is not a Python requirement: {exc}"
        ) from exc


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What ``provision`` will do, decided before anything is written."""

    hash: str
    path: Path
    interpreter: Interpreter
    installer: Installer
    requirements: list[str]
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    pins: dict[str, str] = field(default_factory=dict)  # the lock's environment.packages
    only_binary: bool = False  # an untrusted component is in the lock: no source builds

    @property
    def ready(self) -> bool:
        """A complete environment with this hash, holding the lock's pins, exists: it will be
        reused."""
        marker = _read_marker(self.path, self.hash)
        return marker is not None and not pin_mismatches(self.pins, marker)

    def commands(self) -> list[list[str]]:
        """The installer's commands, shown against the final path (they run against a
        temporary folder beside it)."""
        return [
            self.installer.create_argv(self.interpreter.executable, self.path),
            self.installer.install_argv(
                env_python(self.path),
                self.requirements,
                self.find_links,
                self.no_index,
                self.only_binary,
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        ready = self.ready
        return {
            "hash": self.hash,
            "path": str(self.path),
            "action": "reuse" if ready else "create",
            "interpreter": self.interpreter.to_json(),
            "installer": self.installer.name,
            "requirements": self.requirements,
            "find_links": self.find_links,
            "no_index": self.no_index,
            "only_binary": self.only_binary,
            "commands": [] if ready else self.commands(),
        }


def plan(
    lock: Lock,
    *,
    python: str | None = None,
    installer: str = "auto",
    find_links: Sequence[str | Path] = (),
    no_index: bool = False,
    where: str = "reef.lock",
    only_binary: bool = False,
    frameworks: Sequence[str] = DEFAULT_FRAMEWORKS,
) -> Plan:
    """Decide the interpreter, installer and requirements for ``lock``; writes nothing.
    ``frameworks``: the ``framework.name`` of the lock's models, whose runtimes go in."""
    chosen = choose(installer)
    links = []
    for folder in find_links:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise ProvisionError(
                f"--find-links {folder}: no such folder", hint="give a folder of wheels"
            )
        links.append(str(path.resolve()))
    interpreter = _recorded_interpreter(lock) if python is None else None
    interpreter = interpreter or interpreter_for(lock, python)
    digest = environment_hash(lock, interpreter.key)
    return Plan(
        hash=digest,
        path=envs_dir() / digest,
        interpreter=interpreter,
        installer=chosen,
        requirements=requirements(lock, where, frameworks),
        find_links=links,
        no_index=no_index,
        pins=dict(lock.environment.packages) if lock.environment is not None else {},
        only_binary=only_binary,
    )


def pin_mismatches(pins: dict[str, str], marker: dict[str, Any]) -> dict[str, str | None]:
    """The lock's pins the environment does not hold, each with what it holds (None when it
    does not record the package): the hash leaves the pins out, so an environment of the
    same name may hold other versions than a lock edited (or written elsewhere) asks for."""
    raw = marker.get("packages")
    installed = {canonicalize_name(str(k)): str(v) for k, v in (raw or {}).items()}
    out: dict[str, str | None] = {}
    for name, version in pins.items():
        held = installed.get(canonicalize_name(name))
        if held != version:
            out[name] = held
    return out


# --- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provisioned:
    """An environment ready to run a lock's benchmark."""

    hash: str
    path: Path
    status: Status
    installer: str
    python_version: str
    implementation: str
    packages: dict[str, str]
    seconds: float
    site: str = ""  # its site-packages, relative to its folder

    @property
    def python(self) -> Path:
        return env_python(self.path)

    @property
    def site_packages(self) -> list[Path]:
        """Where its packages are installed: what a ``package`` source is looked up in."""
        return [self.path / self.site] if self.site else []

    def locked(self) -> LockedEnvironment:
        """The lock's ``environment`` section for it."""
        return LockedEnvironment(
            python=self.python_version,
            implementation=self.implementation,
            packages=dict(sorted(self.packages.items())),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "path": str(self.path),
            "python": str(self.python),
            "status": self.status,
            "installer": self.installer,
            "python_version": self.python_version,
            "implementation": self.implementation,
            "packages": dict(sorted(self.packages.items())),
            "seconds": round(self.seconds, 3),
        }

    def record_entry(self) -> dict[str, str]:
        """What a run record says about the environment it ran in."""
        return {"hash": self.hash, "path": str(self.path), "python": str(self.python)}


def _provisioned(path: Path, marker: dict[str, Any], status: Status, seconds: float) -> Provisioned:
    python = marker.get("python") or {}
    return Provisioned(
        hash=str(marker["hash"]),
        path=path,
        status=status,
        installer=str(marker.get("installer", "")),
        python_version=str(python.get("version", "")),
        implementation=str(python.get("implementation", "")),
        packages={str(k): str(v) for k, v in (marker.get("packages") or {}).items()},
        seconds=seconds,
        site=str(marker.get("site", "")),
    )


def _read_marker(path: Path, digest: str) -> dict[str, Any] | None:
    """The marker of a complete environment for ``digest`` at ``path``, else None."""
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("hash") != digest:
        return None
    if not env_python(path).exists() or not isinstance(data.get("site"), str):
        return None
    return data


def find_provisioned(lock: Lock) -> Provisioned | None:
    """The complete environment provisioned for ``lock`` (for its own Python when it records
    one, else for this one), or None. Nothing is built."""
    root = envs_dir()
    if not root.is_dir():
        return None
    started = time.monotonic()
    path = root / environment_hash(lock, _lock_key(lock))
    marker = _read_marker(path, path.name)
    if marker is None or not _lease(path):
        return None
    _sync_reef(path, marker)
    return _provisioned(path, marker, "reused", time.monotonic() - started)


def _lease(path: Path) -> bool:
    """This process runs in the environment at ``path``: ``reef cache clean`` leaves it alone
    while the process lives (``reef.environment.cache``). False when it was just removed."""
    from reef.environment.cache import lease

    return lease(path)


def any_provisioned() -> bool:
    """Whether any complete environment exists: lets a caller skip the work of finding one."""
    root = envs_dir()
    try:
        return any((p / MARKER).is_file() for p in root.iterdir() if len(p.name) == 64)
    except OSError:
        return False


# --- building --------------------------------------------------------------------------------


def provision(
    chosen: Plan, *, progress: Progress | None = None, on_line: LineCallback | None = None
) -> Provisioned:
    """The environment ``chosen`` describes: reused when complete, else built and renamed
    into place. On any failure (or interrupt) nothing of the new environment is left."""
    say = progress or (lambda _message: None)
    started = time.monotonic()
    marker = _read_marker(chosen.path, chosen.hash)
    if marker is not None and _lease(chosen.path):
        stale = pin_mismatches(chosen.pins, marker)
        if not stale:
            _sync_reef(chosen.path, marker)
            return _provisioned(chosen.path, marker, "reused", time.monotonic() - started)
        shown = ", ".join(
            f"{n}=={chosen.pins[n]} (has {stale[n] or 'none'})" for n in sorted(stale)[:3]
        )
        say(f"the environment does not hold the lock's pins ({shown}): rebuilding it")
        return _rebuild(chosen, say, on_line, started)
    root = chosen.path.parent
    root.mkdir(parents=True, exist_ok=True)
    _sweep(root)
    if chosen.path.exists() or chosen.path.is_symlink():
        marker = _read_marker(chosen.path, chosen.hash)
        if marker is not None and _lease(chosen.path):  # another `reef init` made it just now
            return _provisioned(chosen.path, marker, "reused", time.monotonic() - started)
        say(f"removing an incomplete environment at {chosen.path}")
        _discard(chosen.path)
    tmp = _tmp_path(root, chosen.hash)
    try:
        data = _build(chosen, tmp, say, on_line)
        data["build_seconds"] = round(time.monotonic() - started, 3)
        (tmp / MARKER).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        try:
            os.rename(tmp, chosen.path)
        except OSError:
            # Another `reef init` of the same lock finished first: its environment is as good.
            other = _read_marker(chosen.path, chosen.hash)
            if other is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            _lease(chosen.path)
            return _provisioned(chosen.path, other, "reused", time.monotonic() - started)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _lease(chosen.path)
    return _provisioned(chosen.path, data, "created", time.monotonic() - started)


def _rebuild(
    chosen: Plan, say: Progress, on_line: LineCallback | None, started: float
) -> Provisioned:
    """Build a new environment beside the one at ``chosen.path`` and swap it in; the old one
    stays in use until the new one is complete, and is put back if the swap fails."""
    root = chosen.path.parent
    _sweep(root)
    tmp = _tmp_path(root, chosen.hash)
    old = _tmp_path(root, chosen.hash)  # named for this process, so no sweep takes it
    try:
        data = _build(chosen, tmp, say, on_line)
        data["build_seconds"] = round(time.monotonic() - started, 3)
        (tmp / MARKER).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.rename(chosen.path, old)
        try:
            os.rename(tmp, chosen.path)
        except BaseException:
            if not chosen.path.exists():
                os.rename(old, chosen.path)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    _lease(chosen.path)
    return _provisioned(chosen.path, data, "rebuilt", time.monotonic() - started)


def _tmp_path(root: Path, digest: str) -> Path:
    """A build folder named by its owner (``reef.owner``), so a later sweep can tell one whose
    process died from one still being built."""
    return root / f"{owner.staging_prefix(TMP_KIND)}{digest[:16]}-{secrets.token_hex(4)}"


def _build(chosen: Plan, tmp: Path, say: Progress, on_line: LineCallback | None) -> dict[str, Any]:
    interp, installer = chosen.interpreter, chosen.installer
    say(
        f"creating the environment with {installer.name} "
        f"({interp.implementation} {interp.version}, {interp.executable})"
    )
    create = installer.create_argv(interp.executable, tmp)
    run(create, f"{installer.name}: creating the environment", on_line=on_line, cwd=tmp.parent)
    python = env_python(tmp)
    seeded = _inspect(python)
    site = Path(seeded["site"])
    # Before the install: a requirement that depends on Reef then finds it already there
    # instead of looking for it on an index, where it is not.
    _install_reef(site)
    say(f"installing {len(chosen.requirements)} requirements with {installer.name}")
    argv = installer.install_argv(
        python, chosen.requirements, chosen.find_links, chosen.no_index, chosen.only_binary
    )
    run(argv, f"{installer.name}: installing the requirements", on_line=on_line, cwd=tmp.parent)
    installed = _inspect(python)["packages"]
    before = seeded["packages"]
    # The installer's own seed (pip, setuptools in a venv) is not something the lock asked
    # for, unless the install changed it; Reef is the copy made above.
    packages = {
        name: version
        for name, version in installed.items()
        if name not in (DISTRIBUTION, "reef") and before.get(name) != version
    }
    if warning := several_builds(packages):
        say(f"warning: {warning}")
    _relocate(tmp, chosen.path)
    import reef

    return {
        "hash": chosen.hash,
        "installer": installer.name,
        "python": interp.to_json(),
        "packages": dict(sorted(packages.items())),
        "requirements": chosen.requirements,
        "find_links": chosen.find_links,
        "no_index": chosen.no_index,
        "reef_version": reef.__version__,
        "reef_stamp": _reef_stamp(),
        "site": site.relative_to(tmp).as_posix(),
        "created_at": datetime.now(UTC).isoformat(),
    }


def _inspect(python: Path) -> dict[str, Any]:
    """The environment's site-packages and installed distributions (normalised names).

    Asked of its own interpreter, so pip need not be there (uv's environments have none);
    isolated mode keeps PYTHONPATH and the user's site out of the answer.
    """
    try:
        data, stderr = _ask(str(python), _INSPECT)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise InstallerError(
            f"cannot inspect the new environment's Python {python}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise InstallerError(f"cannot inspect the new environment's Python {python}:\n{tail}")
    packages = {canonicalize_name(k): str(v) for k, v in data["packages"].items()}
    return {"site": str(data["site"]), "packages": packages}


def _relocate(tmp: Path, final: Path) -> None:
    """Point the scripts the tools wrote (shebangs, activate) at the path the environment is
    renamed to; the interpreter itself finds its prefix from where it is run."""
    old = {str(tmp).encode(), str(tmp.resolve()).encode()}
    new = str(final).encode()
    scripts = tmp / ("Scripts" if os.name == "nt" else "bin")
    candidates = [tmp / "pyvenv.cfg"]
    if scripts.is_dir():
        candidates += sorted(scripts.iterdir())
    for path in candidates:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # a binary: the path is not in it, and a different length would break it
        changed = data
        for before in old:
            changed = changed.replace(before, new)
        if changed != data:
            mode = path.stat().st_mode
            path.write_bytes(changed)
            path.chmod(mode)


def _sweep(root: Path) -> None:
    """Remove build folders whose process died (SIGKILL, power loss)."""
    owner.sweep(root, TMP_KIND)


def _discard(path: Path) -> None:
    """Move a folder out of the way (one rename, so it stops being found) and delete it."""
    gone = path.parent / f"{owner.staging_prefix(TMP_KIND)}{path.name[:16]}-{secrets.token_hex(4)}"
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    os.rename(path, gone)
    shutil.rmtree(gone, ignore_errors=True)


# --- Reef inside the environment -------------------------------------------------------------


def _reef_package() -> Path:
    return Path(__file__).resolve().parent.parent


def _reef_stamp() -> str:
    """Identifies the Reef code that runs here (file names, sizes, times): when it changes
    (a development checkout edited, same version) the environment's copy is refreshed."""
    root = _reef_package()
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        st = path.stat()
        entry = f"{path.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n"
        digest.update(entry.encode())
    return digest.hexdigest()


def _install_reef(site: Path) -> None:
    """Copy Reef's package and a dist-info for it into ``site``, replacing any copy there."""
    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError as exc:
        raise ProvisionError(
            "Reef is not installed as a package, so it cannot be copied into the environment",
            hint="install it (pip install -e . in its source tree, or pip install reef-bench)",
        ) from exc
    version = dist.version
    token = secrets.token_hex(4)
    package = site / f".reef-{token}"
    info = site / f".reef-info-{token}"
    try:
        shutil.copytree(_reef_package(), package, ignore=shutil.ignore_patterns("__pycache__"))
        info.mkdir()
        metadata = dist.read_text("METADATA") or (
            f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {version}\n"
        )
        (info / "METADATA").write_text(metadata, encoding="utf-8")
        entry_points = dist.read_text("entry_points.txt")
        if entry_points:
            (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
        (info / "INSTALLER").write_text("reef\n")
        (info / "top_level.txt").write_text("reef\n")
        # The normalised name, as installers spell a dist-info folder: reef_bench-1.0.dist-info.
        info_name = f"{DISTRIBUTION.replace('-', '_')}-{version}.dist-info"
        # A RECORD lets pip (or uv) uninstall or replace this copy like any other package.
        listed = [f"reef/{p.relative_to(package).as_posix()}" for p in package.rglob("*")]
        listed += [f"{info_name}/{p.name}" for p in info.iterdir()]
        record = "".join(f"{name},,\n" for name in sorted(listed))
        (info / "RECORD").write_text(record + f"{info_name}/RECORD,,\n")
        for staged, final in ((package, site / "reef"), (info, site / info_name)):
            if final.exists():
                _discard_in(final, site)
            os.rename(staged, final)
        # A copy made when the distribution was still called `reef`: two dist-infos of one
        # package would list its entry points twice.
        for old in site.glob("reef-*.dist-info"):
            _discard_in(old, site)
    finally:
        shutil.rmtree(package, ignore_errors=True)
        shutil.rmtree(info, ignore_errors=True)


def _discard_in(path: Path, folder: Path) -> None:
    gone = folder / f".reef-old-{secrets.token_hex(4)}"
    os.rename(path, gone)
    shutil.rmtree(gone, ignore_errors=True)


def _sync_reef(env: Path, marker: dict[str, Any]) -> None:
    """Refresh the environment's copy of Reef when the Reef running now is different code, so
    that the worker always speaks this Reef's job format."""
    stamp = _reef_stamp()
    if marker.get("reef_stamp") == stamp:
        return
    _install_reef(env / str(marker["site"]))
    marker["reef_stamp"] = stamp
    _write_json(env / MARKER, marker)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
