"""Checking a manifest of any kind (``reef check``): the schema, the source files and their
checksums, a solution's steps and checks, a model's steps, metric, dataset and declared
signature against the model file itself.

It lives with the solutions because it reaches every kind's own checks: the components'
(sources), the benchmark's (models) and the solutions' (steps and checks).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from reef.components.checksums import verified_source
from reef.components.index import MANIFEST
from reef.errors import ManifestError, Problem, ReefError
from reef.meta.common import package_folder
from reef.meta.load import load_manifest
from reef.meta.model import ModelManifest
from reef.meta.solution import SolutionManifest

__all__ = ["CheckResult", "check_manifest"]


class CheckResult(BaseModel):
    """What ``check`` verified of a manifest, and what it could not check here."""

    path: str
    kind: str
    name: str
    version: str
    checks: list[str]
    skipped: list[str] = []


def check_manifest(path: Path) -> CheckResult:
    """Validate the manifest at ``path`` (or in the component folder ``path``); every problem
    found is reported at once, as one ``ManifestError``."""
    if path.is_dir() and (path / MANIFEST).is_file():
        path = path / MANIFEST  # a component folder, as `reef bench` accepts it
    manifest = load_manifest(path)
    file = str(path)
    done = ["schema"]
    problems: list[Problem] = []
    base = path.parent

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
