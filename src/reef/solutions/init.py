"""``reef init``: resolve a target (or read its lock), fetch its sources and provision an
isolated environment for it, then write the lock with what was installed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, Field

from reef.components.fetch import Fetched
from reef.errors import ReefError

if TYPE_CHECKING:
    from reef.environment.provision import Plan, Provisioned
    from reef.meta.lock import Lock


class PlannedSource(BaseModel):
    """A source of the lock and what fetching it would do (a dry run fetches nothing)."""

    component: str  # name@version
    location: str
    sha256: str
    status: Literal["package", "local", "cached", "download"]


class Interpreter(BaseModel):
    """The Python an environment is made with."""

    executable: str
    version: str
    implementation: str


class EnvironmentPlan(BaseModel):
    """The isolated environment ``init`` decided on (``reef.environment.provision.Plan``)."""

    hash: str
    path: Path
    action: Literal["reuse", "create"]
    interpreter: Interpreter
    installer: str
    requirements: list[str]
    find_links: list[str]
    no_index: bool
    only_binary: bool
    commands: list[list[str]]  # the installer's, when it is to be created


class ProvisionedEnvironment(BaseModel):
    """An environment made or reused (``reef.environment.provision.Provisioned``)."""

    hash: str
    path: Path
    python: Path
    status: str
    installer: str
    python_version: str
    implementation: str
    packages: dict[str, str]
    seconds: float


class EnvironmentReport(EnvironmentPlan):
    """The plan, and what provisioning it gave: the plan's fields, then the environment's."""

    python: Path
    status: str
    python_version: str
    implementation: str
    packages: dict[str, str]
    seconds: float


class InitReport(BaseModel):
    """What ``init`` did (or, for a dry run, would do)."""

    target: str
    dry_run: bool
    lock: Path  # the lock file
    lock_written: bool = False
    root: str
    components: list[str]  # name@version
    sources: list[Fetched | PlannedSource]
    # A dry run's is the plan alone.
    environment: EnvironmentReport | EnvironmentPlan
    fingerprint: str | None = None  # this machine's environment fingerprint hash
    # The same environment as provisioned (None for a dry run), as ``reef reproduce`` reports
    # it; left out of the JSON, where ``environment`` holds it.
    provisioned: ProvisionedEnvironment | None = Field(default=None, exclude=True)

    @property
    def lock_path(self) -> Path:
        return self.lock


def _report(
    target: str,
    lock_path: Path,
    lock: Lock,
    sources: Sequence[Fetched | PlannedSource],
    chosen: Plan,
    env: Provisioned | None = None,
    written: bool = False,
    fingerprint: str | None = None,
) -> InitReport:
    plan = chosen.to_json()
    provisioned = None if env is None else ProvisionedEnvironment.model_validate(env.to_json())
    return InitReport(
        target=target,
        dry_run=env is None,
        lock=lock_path,
        lock_written=written,
        root=lock.root,
        components=[f"{c.name}@{c.version}" for c in lock.components],
        sources=list(sources),
        environment=(
            EnvironmentPlan.model_validate(plan)
            if env is None
            else EnvironmentReport.model_validate(plan | env.to_json())
        ),
        fingerprint=fingerprint,
        provisioned=provisioned,
    )


P = ParamSpec("P")
R = TypeVar("R")


def _index_in_memory_when_dry(fn: Callable[P, R]) -> Callable[P, R]:
    """A dry run promises to write nothing, the component index included."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not kwargs.get("dry_run"):
            return fn(*args, **kwargs)
        from reef.components.index import scratch

        with scratch():
            return fn(*args, **kwargs)

    return wrapper


@_index_in_memory_when_dry
def init(
    target: str,
    *,
    python: str | None = None,
    find_links: Sequence[str | Path] = (),
    no_index: bool = False,
    installer: str = "auto",
    dry_run: bool = False,
    output: Path | None = None,
    progress: Callable[[str], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    download_progress: Any = None,
) -> InitReport:
    """Resolve ``target`` (or read its lock), fetch its sources and provision an isolated
    environment for it under ``REEF_HOME/envs``; write the lock, with the versions installed,
    to ``output`` (default: the lock file given, else ``./reef.lock``).

    A dry run decides everything (the interpreter included) and writes nothing. On any error
    no lock is written and no environment is left half-made.
    """
    from reef.components import install_policy
    from reef.components.fetch import fetch_lock
    from reef.components.lockfile import LOCK_FILE, is_lock_file, lock_bytes, lock_for, write_lock
    from reef.environment import provision as prov

    say = progress or (lambda _message: None)
    given = is_lock_file(target)
    lock = lock_for(target)
    lock_path = output or Path(target if given else LOCK_FILE)
    if not dry_run:
        from reef.files import check_output

        check_output(lock_path, "lock file")  # before an environment is built for nothing
    how = "read" if given else "resolved"
    say(f"{how} {target}: {len(lock.components)} components, root {lock.root}")
    # Before anything is planned or fetched: what an untrusted component may install.
    policy = install_policy.check(lock)
    if policy.only_binary:
        say(
            f"untrusted components ({', '.join(policy.untrusted)}): installing wheels only, "
            "no source builds"
        )
    chosen = prov.plan(
        lock,
        python=python,
        installer=installer,
        find_links=find_links,
        no_index=no_index,
        where=str(lock_path),
        only_binary=policy.only_binary,
        frameworks=lock_frameworks(lock),
    )
    if dry_run:
        return _report(target, lock_path, lock, _planned_sources(lock), chosen)
    fetched = fetch_lock(lock, progress=download_progress)
    if fetched:
        downloaded = sum(1 for f in fetched if f.status == "downloaded")
        say(f"{len(fetched)} sources verified, {downloaded} downloaded")
    env = prov.provision(chosen, progress=say, on_line=on_line)
    provisioned = lock.model_copy(update={"environment": env.locked()})
    data = lock_bytes(provisioned)
    written = not (lock_path.is_file() and lock_path.read_bytes() == data)
    if written:
        write_lock(provisioned, lock_path)
    from reef.bench.fingerprint import host_fingerprint_hash

    fingerprint = host_fingerprint_hash()
    say(f"environment fingerprint {fingerprint[:16]}")
    return _report(target, lock_path, provisioned, fetched, chosen, env, written, fingerprint)


def _planned_sources(lock: Lock) -> list[PlannedSource]:
    """Every source of the lock and whether fetching it would download it; reads nothing."""
    from reef.components.checksums import cached_path

    out: list[PlannedSource] = []
    seen: set[str] = set()
    for c in lock.components:
        for source in c.sources:
            if source.sha256 in seen:
                continue
            seen.add(source.sha256)
            if source.package is not None:
                status = "package"  # installed with its package when the lock is provisioned
            elif source.url is None:
                status = "local"
            else:
                status = "cached" if cached_path(source.sha256).is_file() else "download"
            out.append(
                PlannedSource(
                    component=f"{c.name}@{c.version}",
                    location=source.location,
                    sha256=source.sha256,
                    status=status,
                )
            )
    return out


def lock_frameworks(lock: Lock) -> list[str]:
    """The ``framework.name`` of every model the lock pins, whose runtimes the environment
    gets (ONNX Runtime when it pins none, or none can be read)."""
    from reef.components.index import MANIFEST, catalog
    from reef.components.lockfile import locate
    from reef.meta.load import load_model_manifest

    entries = catalog()
    names = set()
    for component in lock.components:
        if component.kind != "model":
            continue
        try:
            entry = locate(component, entries)
            names.add(load_model_manifest(entry.directory / MANIFEST).framework.name)
        except ReefError:
            continue  # fetched later; its runtime is the default's
    return sorted(names) or ["onnxruntime"]
