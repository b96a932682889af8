"""One target, several backends: ``reef bench MODEL --backend onnxruntime --backend openvino``.

Each backend gets one job per settings, all made (and checked) before the first runs, so that
a bad name or an option a backend does not take is refused with nothing recorded. The jobs
share their settings, seed included: every backend is fed the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reef.errors import SettingsError

if TYPE_CHECKING:
    from reef.bench.job import BenchJob, PredictorSettings
    from reef.bench.target import ResolvedTarget
    from reef.meta.run import RunRecord
    from reef.meta.settings import BenchSettings


def check_backends(backends: Sequence[str]) -> list[str]:
    """``backends`` as ``--backend`` gives them: each named once, each known and installed.

    A SettingsError (exit 2) names a repeated or an unknown one (and lists those installed);
    a built-in whose framework is missing is ``MissingRuntime``, naming the extra to install.
    """
    from reef.predictors import registry

    seen: set[str] = set()
    for name in backends:
        if name in seen:
            raise SettingsError(
                f"--backend {name}: given twice",
                hint="name each backend once; each gives one run per scenario",
            )
        seen.add(name)
    known = registry.available()
    for name in backends:
        if name not in known:
            installed = [n for n in known if registry.installed(n)]
            raise SettingsError(
                f"--backend {name}: no such backend",
                hint=f"installed backends: {', '.join(installed) or 'none'}",
            )
        registry.ensure_runtime(name)
    return list(backends)


def default_backend(resolved: ResolvedTarget) -> str:
    """The backend that runs ``resolved`` without ``--backend``: the manifest's framework,
    else the one the model file's suffix names, else ONNX Runtime."""
    from reef.predictors import registry

    if resolved.manifest is not None:
        return resolved.manifest.framework.name
    return resolved.backend or registry.backend_for_suffix(resolved.model_path) or "onnxruntime"


def check_options(predictor: PredictorSettings | None, backends: Sequence[str]) -> None:
    """Refuse ONNX Runtime's options (``--session-config``, ...) for a run on another backend,
    naming the options and the backend."""
    given = predictor.ort_only() if predictor is not None else []
    others = [b for b in backends if b != "onnxruntime"]
    if given and others:
        many = len(given) > 1
        raise SettingsError(
            f"{', '.join(given)}: ONNX Runtime's option{'s' if many else ''}, but the "
            f"backend is {others[0]}",
            hint="give ONNX Runtime's options with --backend onnxruntime only",
        )


def jobs_for(
    resolved: ResolvedTarget,
    settings: Sequence[BenchSettings],
    backends: Sequence[str],
    *,
    shapes: dict[str, list[int]] | None = None,
    predictor: PredictorSettings | None = None,
) -> list[BenchJob]:
    """One job per backend and settings, in that order, each checked as ``job_for`` checks
    it (an untrusted pickle's backend included)."""
    from reef.bench import target as targets
    from reef.bench.job import backend_settings

    check_options(predictor, backends)
    jobs = []
    for backend in backends:
        for one in settings:
            # job_for refuses a backend that would unpickle an untrusted model
            # (check_backend_allowed) and, for a bare file, one that is not installed.
            job = targets.job_for(
                resolved, one, shapes=shapes, predictor=predictor, backend=backend
            )
            backend_settings(job, backend)
            jobs.append(job)
    return jobs


def keep_lock(resolved: ResolvedTarget, record: RunRecord) -> None:
    """What the session keeps with a record made from ``resolved``'s jobs: the lock it
    resolved to, for ``reef reproduce``."""
    if resolved.lock is not None:
        record.lock = resolved.lock.model_dump(mode="json")
