"""Deployment verbs: the files that run a target under ``reef serve`` in a container
(docker-compose), on Kubernetes or on KServe. The work is in ``reef.deploy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reef.deploy.export import ExportReport


def export_compose(target: str, out_dir: str | Path, **options: Any) -> ExportReport:
    """A Dockerfile, docker-compose.yml (reef serve, Prometheus, with ``with_server=True`` a
    reef server) and prometheus.yml for ``target`` in ``out_dir``; options as
    ``reef export compose`` takes them (docs/deploy.md)."""
    return _export("compose", target, out_dir, options)


def export_k8s(target: str, out_dir: str | Path, **options: Any) -> ExportReport:
    """A Dockerfile and Kubernetes objects (Deployment, Service, ConfigMap,
    HorizontalPodAutoscaler on the in-flight gauge) for ``target`` in ``out_dir``."""
    return _export("k8s", target, out_dir, options)


def export_kserve(target: str, out_dir: str | Path, **options: Any) -> ExportReport:
    """A Dockerfile, a KServe ServingRuntime and an InferenceService (``protocolVersion: v2``)
    for ``target`` in ``out_dir``."""
    return _export("kserve", target, out_dir, options)


def _export(kind: str, target: str, out_dir: str | Path, options: dict[str, Any]) -> ExportReport:
    from dataclasses import fields

    from reef.deploy.export import export
    from reef.deploy.options import ExportOptions
    from reef.errors import SettingsError

    known = {f.name for f in fields(ExportOptions)} - {"kind"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise SettingsError(f"export_{kind}: unknown options {', '.join(unknown)}")
    return export(target, Path(out_dir), ExportOptions(kind=kind, **options))  # type: ignore[arg-type]
