"""Export verbs: stored runs to an MLflow tracking store.

MLflow's own settings are honoured: ``MLFLOW_TRACKING_URI`` is the store when no URI is given
(``reef runs export``), and ``MLFLOW_EXPERIMENT_NAME`` the experiment (default ``reef``). Every
URI a result or message shows is redacted (``reef.config.redact_url``): a password in it
never reaches a terminal or a log. The work is done in ``reef.results.mlflow_export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from reef.errors import SettingsError
from reef.meta.run import RunRecord

if TYPE_CHECKING:
    from reef.results.query import RunFilter

__all__ = [
    "ExportedRun",
    "MlflowExport",
    "MlflowTarget",
    "mlflow_log",
    "mlflow_target",
    "runs_export",
]


class MlflowTarget(BaseModel):
    """Where runs go: the tracking store (redacted) and the experiment."""

    uri: str
    experiment: str


class ExportedRun(BaseModel):
    run_id: str
    mlflow_run_id: str


class MlflowExport(BaseModel):
    """What was exported: the store (redacted), experiment, parent run, and each run's MLflow
    run id (a run exported before keeps its first id: exporting is idempotent)."""

    uri: str
    experiment: str
    parent: str | None = None
    runs: list[ExportedRun]


def mlflow_target(uri: str | None = None, *, experiment: str | None = None) -> MlflowTarget:
    """Check, before any work, that runs can be exported to ``uri`` (else
    ``MLFLOW_TRACKING_URI``); writes nothing. The result holds the URI redacted."""
    from reef import config
    from reef.results import mlflow_export

    chosen = mlflow_export.tracking_uri(uri)
    mlflow_export.check_uri(chosen)
    name = experiment or mlflow_export.experiment_name()
    return MlflowTarget(uri=config.redact_url(chosen), experiment=name)


def mlflow_log(
    runs: Sequence[str | RunRecord],
    uri: str | None = None,
    *,
    experiment: str | None = None,
    parent_name: str | None = None,
) -> MlflowExport:
    """Log stored runs (ids, unique prefixes or records) to the MLflow store at ``uri`` (else
    ``MLFLOW_TRACKING_URI``), in ``experiment`` (else ``MLFLOW_EXPERIMENT_NAME``, else
    ``reef``), as nested runs of a parent named ``parent_name`` when given."""
    from reef import api, config
    from reef.results import mlflow_export

    chosen = mlflow_export.tracking_uri(uri)
    name = experiment or mlflow_export.experiment_name()
    records = [r if isinstance(r, RunRecord) else api.runs_show(r) for r in runs]
    ids = mlflow_export.export_records(records, chosen, experiment=name, parent_name=parent_name)
    return MlflowExport(
        uri=config.redact_url(chosen),
        experiment=name,
        parent=parent_name,
        runs=[ExportedRun(run_id=r.id, mlflow_run_id=i) for r, i in zip(records, ids, strict=True)],
    )


def runs_export(
    runs: Sequence[str | RunRecord] = (),
    run_filter: RunFilter | None = None,
    *,
    mlflow: str | None = None,
    experiment: str | None = None,
    limit: int | None = None,
) -> MlflowExport:
    """Export runs already stored to MLflow: ``runs`` (ids or records), or those
    ``run_filter`` selects (every run by default; newest ``limit`` first when given). The
    store is ``mlflow``, else ``MLFLOW_TRACKING_URI``. Everything is checked (the URI, the
    runs, a filter that selects none) before anything is exported."""
    from reef import api

    if runs and run_filter is not None and not run_filter.is_empty():
        raise SettingsError(
            "give run ids or filters, not both", hint="the filters select runs when no id is given"
        )
    mlflow_target(mlflow, experiment=experiment)
    if runs:
        records = [r if isinstance(r, RunRecord) else api.runs_show(r) for r in runs]
    else:
        records = api.runs_list(run_filter, limit=limit or None, allow_empty=False)
        if not records:
            raise SettingsError("no runs recorded yet: nothing to export", hint="try reef demo")
    return mlflow_log(records, mlflow, experiment=experiment)
