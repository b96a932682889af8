"""Export verbs: stored runs to an MLflow tracking store.

MLflow's own settings are honoured: ``MLFLOW_TRACKING_URI`` is the store when no URI is given
(``reef runs export``), and ``MLFLOW_EXPERIMENT_NAME`` the experiment (default ``reef``). Every
URI a result or message shows is redacted (``reef.config.redact_url``): a password in it
never reaches a terminal or a log. The work, and the results' models, are in
``reef.results.mlflow_export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reef.errors import SettingsError
from reef.meta.run import RunRecord
from reef.results import mlflow_export

if TYPE_CHECKING:
    from reef.results.mlflow_export import MlflowExport, MlflowTarget
    from reef.results.query import RunFilter


def mlflow_target(uri: str | None = None, *, experiment: str | None = None) -> MlflowTarget:
    """Check, before any work, that runs can be exported to ``uri`` (else
    ``MLFLOW_TRACKING_URI``); writes nothing. The result holds the URI redacted."""
    return mlflow_export.target(uri, experiment=experiment)


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
    from reef.api.runs import runs_show

    mlflow_export.tracking_uri(uri)  # no store named is refused before any run is read
    records = [r if isinstance(r, RunRecord) else runs_show(r) for r in runs]
    return mlflow_export.export(records, uri, experiment=experiment, parent_name=parent_name)


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
    from reef.api.runs import runs_list, runs_show

    if runs and run_filter is not None and not run_filter.is_empty():
        raise SettingsError(
            "give run ids or filters, not both", hint="the filters select runs when no id is given"
        )
    mlflow_target(mlflow, experiment=experiment)
    if runs:
        records = [r if isinstance(r, RunRecord) else runs_show(r) for r in runs]
    else:
        records = runs_list(run_filter, limit=limit or None, allow_empty=False)
        if not records:
            raise SettingsError("no runs recorded yet: nothing to export", hint="try reef demo")
    return mlflow_log(records, mlflow, experiment=experiment)
