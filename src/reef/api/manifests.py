"""The manifest verbs: validate a manifest (``check``) and print a kind's JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    SerializationInfo,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from reef.components.shadow import Shadow
from reef.errors import ManifestError, Problem, ReefError
from reef.meta.component import ComponentBase


class ComponentVersion(BaseModel):
    """One version of a component, and the repository that holds it."""

    version: str
    repository: str


class ComponentDetails(BaseModel):
    """A component's manifest, with where it is: its repository, manifest file, the absolute
    paths of its files, the versions of it available, and the copies it shadows.

    Its JSON (``model_dump``) is one flat mapping, as ``reef show --json`` prints it: the
    manifest's fields as written, then the others; ``shadows`` only when there are some.
    """

    manifest: SerializeAsAny[ComponentBase] = Field(exclude=True)  # laid out flat, below
    repository: str
    trusted: bool
    path: str  # the manifest file
    files: list[str]
    versions: list[ComponentVersion]
    shadows: list[Shadow] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _flat(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        where: dict[str, Any] = handler(self)
        if not self.shadows:
            where.pop("shadows", None)
        return self.manifest.model_dump(mode=info.mode, exclude_none=True) | where


class CheckResult(BaseModel):
    """What ``check`` verified of a manifest, and what it could not check here."""

    path: str
    kind: str
    name: str
    version: str
    checks: list[str]
    skipped: list[str] = []


def check(path: Path) -> CheckResult:
    """Validate a manifest: schema, steps, metric, source files and checksums, and for a model
    its declared signature against the model file itself. Every problem found is reported."""
    from reef.components.checksums import verified_source
    from reef.components.index import MANIFEST
    from reef.meta.load import load_manifest
    from reef.meta.model import ModelManifest

    if path.is_dir() and (path / MANIFEST).is_file():
        path = path / MANIFEST  # a component folder, as `reef bench` accepts it
    manifest = load_manifest(path)
    file = str(path)
    done = ["schema"]
    problems: list[Problem] = []
    base = path.parent

    from reef.meta.common import package_folder

    # A file inside a Python package is there once `reef init` installed the package; on a
    # host without it the manifest can still be checked, the file and what reads it cannot.
    missing = sorted(
        {s.package for s in manifest.sources if s.package and package_folder(s.package) is None}
    )
    skipped = [f"{p} is not installed here (`reef init` installs it)" for p in missing]
    paths: list[Path] = []
    for i, src in enumerate(manifest.sources):
        if src.package in missing:
            continue
        try:
            paths.append(verified_source(src, base, file, f"sources[{i}]"))
        except ManifestError as exc:
            problems.extend(exc.problems)
        except ReefError as exc:
            problems.append(Problem(file, f"sources[{i}].sha256", exc.message))
    done.append("sources")
    from reef.meta.solution import SolutionManifest

    if isinstance(manifest, SolutionManifest):
        from reef.solutions.load import solution_problems

        problems.extend(solution_problems(manifest, file))
        done.extend(["steps", "checks"])
    if isinstance(manifest, ModelManifest):
        from reef.bench.checks import dataset_problems, model_problems, plugin_problems

        if not missing:
            problems.extend(plugin_problems(manifest, file))
            done.extend(["steps", "metric"])
        problems.extend(dataset_problems(manifest, path))
        done.append("dataset")
        if paths and not missing:
            problems.extend(model_problems(manifest, paths[0], file))
            done.extend(["framework", "signature"])
    if problems:
        raise ManifestError(problems)
    return CheckResult(
        path=str(path.resolve()),
        kind=manifest.kind,
        name=manifest.name,
        version=manifest.version,
        checks=done,
        skipped=skipped,
    )


SCHEMA_KINDS = (
    "component",
    "model",
    "dataset",
    "solution",
    "program",
    "detector",
    "lock",
    "run",
    "settings",
)


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a manifest kind, of any component (``component``), of the lock file
    or of the run record."""
    from typing import Annotated

    from pydantic import Field, TypeAdapter

    from reef.meta.load import any_manifest, kinds
    from reef.meta.lock import Lock
    from reef.meta.run import RunRecord
    from reef.meta.settings import BenchSettings

    if kind not in SCHEMA_KINDS:
        raise ReefError(
            f"unknown schema kind {kind!r}", hint=f"choose from {', '.join(SCHEMA_KINDS)}"
        )
    if kind == "component":
        union: TypeAdapter[Any] = TypeAdapter(
            Annotated[any_manifest(), Field(discriminator="kind")]  # type: ignore[arg-type]
        )
        out: dict[str, Any] = union.json_schema()
        out["title"] = "Reef component (reef.yaml)"
        return out
    others: dict[str, type[BaseModel]] = {"lock": Lock, "run": RunRecord, "settings": BenchSettings}
    return (kinds().get(kind) or others[kind]).model_json_schema()
