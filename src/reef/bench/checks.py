"""Checks of a model manifest that need the registries: its steps, metric and dataset.

Both ``reef check`` and ``reef bench`` run them before anything is measured, so a manifest
that names a step or metric nobody provides is refused up front, with its field path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reef.errors import ManifestError, Problem, ReefError
from reef.meta.model import ModelManifest


def plugin_problems(manifest: ModelManifest, file: str) -> list[Problem]:
    from reef.bench.metrics import get_metric
    from reef.predictors.steps import build_step

    problems = []
    specs: list[tuple[str, int, list[Any], list[str] | None]]
    specs = [("inputs", i, s.steps, None) for i, s in enumerate(manifest.inputs)]
    specs += [("outputs", i, s.steps, s.labels) for i, s in enumerate(manifest.outputs)]
    for kind, i, steps, labels in specs:
        for j, step in enumerate(steps):
            try:
                build_step(step, labels=labels)
            except ReefError as exc:
                problems.append(Problem(file, f"{kind}[{i}].steps[{j}]", exc.message))
    if manifest.accuracy:
        try:
            get_metric(manifest.accuracy.metric)
        except ReefError as exc:
            problems.append(Problem(file, "accuracy.metric", f"{exc.message} ({exc.hint})"))
    return problems


def check_plugins(manifest: ModelManifest, file: str) -> None:
    problems = plugin_problems(manifest, file)
    if problems:
        raise ManifestError(problems)


def dataset_problems(manifest: ModelManifest, path: Path) -> list[Problem]:
    """The dataset a manifest names must resolve, its file must match its sha256, and an npz
    archive must be loadable by its headers (what ``reef bench`` refuses, ``reef check`` finds
    too)."""
    if not manifest.dataset:
        return []
    from reef.bench.samples import check_npz
    from reef.bench.target import find_dataset
    from reef.components.checksums import verified_source
    from reef.meta.load import load_dataset_manifest

    try:
        dataset_file = find_dataset(manifest.dataset, path)
        dataset = load_dataset_manifest(dataset_file)
        data = verified_source(
            dataset.sources[0], dataset_file.parent, str(dataset_file), "sources[0]"
        )
        if dataset.format == "npz":
            check_npz(dataset, data)
    except ManifestError as exc:
        return list(exc.problems)
    except ReefError as exc:
        return [Problem(str(path), "dataset", exc.message)]
    return []


def model_problems(manifest: ModelManifest, model_path: Path, file: str) -> list[Problem]:
    """The framework (known, version in range) and the model's real signature, each checked
    so that one problem does not hide the next."""
    from reef.predictors import registry
    from reef.predictors.base import PredictorOptions
    from reef.predictors.compat import check_framework_version
    from reef.predictors.signature import check_signature

    try:
        predictor = registry.create(manifest.framework.name)
    except ReefError as exc:
        return [Problem(file, "framework.name", f"{exc.message} ({exc.hint})")]
    problems: list[Problem] = []
    try:
        check_framework_version(manifest, predictor.version(), file)
    except ManifestError as exc:
        problems.extend(exc.problems)
    try:
        signature = predictor.open(model_path, PredictorOptions(threads=1))
    except ReefError as exc:
        return [*problems, Problem(file, "sources[0]", exc.message)]
    try:
        check_signature(manifest, signature, file)
    except ManifestError as exc:
        problems.extend(exc.problems)
    finally:
        predictor.close()
    return problems
