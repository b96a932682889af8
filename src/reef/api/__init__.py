"""Reef's Python API: every verb in one flat namespace, with typed, JSON-serialisable results.

::

    from reef import api

    runs = api.bench("digits-classifier", scenarios=["SingleStream", "Offline"], duration_s=2)
    api.compare(runs).versus[0].latency.sentence
    api.latencies(runs[0])                      # a numpy array, in ms
    api.runs_frame(api.RunFilter(model="digits-classifier"))  # a pandas DataFrame

Results are pydantic models (``.model_dump(mode="json")`` is what ``reef ... --json``
prints), lists of them, or ``RunRecord``s; verbs that read runs take ids (a unique prefix is
enough) or ``RunRecord``s. The CLI is a thin face over these functions; so are the server and
the cluster agents.

Names are imported on first use (module ``__getattr__``), so that ``import reef.api`` costs
nothing and ``reef --help`` stays fast; the verbs live in the submodules named below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reef.api.analysis import Board, Comparison, Frontier, Objective, board, compare, pareto
    from reef.api.cache import cache_clean, cache_list
    from reef.api.components import (
        fetch,
        install,
        lock_for,
        lock_shadows,
        new,
        pack,
        repo_add,
        repo_list,
        repo_remove,
        repo_trust,
        repo_trusted,
        repo_update,
        resolve,
        search,
        show,
    )
    from reef.api.config import ConfigReport, config_show
    from reef.api.conformance import check_outputs, convert
    from reef.api.dashboard import (
        LatencyDistribution,
        RunFiles,
        RunRows,
        dashboard_choices,
        dashboard_latencies,
        dashboard_run_file,
        dashboard_run_files,
        dashboard_runs,
        dashboard_solutions,
    )
    from reef.api.deploy import export_compose, export_k8s, export_kserve
    from reef.api.drift import (
        DriftDetector,
        DriftProfile,
        DriftReport,
        DriftResult,
        drift_check,
        drift_dataset_profile,
        drift_detector,
        drift_profile,
    )
    from reef.api.environment import detect, env_check, env_diff
    from reef.api.export import mlflow_log, mlflow_target, runs_export
    from reef.api.manifests import check, schema
    from reef.api.mlperf import check_mlperf, export_mlperf
    from reef.api.mlperf_import import import_mlperf
    from reef.api.plugin_list import PluginsReport, plugins
    from reef.api.registry import (
        RegistryPage,
        publish,
        registry_manifest,
        registry_pack_path,
        registry_page,
        registry_publish,
        registry_search,
        registry_versions,
        registry_yank,
    )
    from reef.api.reports import plot, report
    from reef.api.runs import (
        bench,
        demo,
        latencies,
        predictor_settings,
        run_latencies,
        runs_frame,
        runs_import,
        runs_list,
        runs_show,
        runs_summaries,
    )
    from reef.api.server import (
        RunsPage,
        ServerDatabase,
        ServerDbStatus,
        runs_page,
        server_board,
        server_compare,
        server_db_url,
        server_files_root,
        server_init_db,
        server_open,
        server_pareto,
        server_run,
    )
    from reef.api.serving import ServedModel, TensorMetadata, open_served
    from reef.api.solutions import reproduce, run, validate
    from reef.api.submissions import (
        Accepted,
        SubmitReport,
        accept_bundles,
        submit,
        submit_pending,
    )
    from reef.api.sweeps import (
        agent_profile,
        cluster_trial_runner,
        evaluation_choices,
        runs_receive,
        sweep_cancel,
        sweep_cancel_requested,
        sweep_cell_done,
        sweep_cell_failed,
        sweep_cell_run,
        sweep_cells_pending,
        sweep_list,
        sweep_save,
        sweep_start,
        sweep_start_spec,
        sweep_status,
        trial_cell_run,
    )
    from reef.api.tokens import (
        AuditEvent,
        NewToken,
        TokenInfo,
        audit_log,
        audit_record,
        token_actor,
        token_authenticate,
        token_create,
        token_list,
        token_require,
        token_revoke,
    )
    from reef.api.trace import trace_export, trace_otel, trace_settings, trace_summary
    from reef.api.tune import TuneReport, tune_report, tune_study
    from reef.api.verification import (
        Submission,
        Verification,
        configuration_key,
        server_submission,
        server_submissions,
    )
    from reef.bench.conformance import Conformance
    from reef.bench.convert import Converted
    from reef.bench.job import PredictorSettings, TraceSettings
    from reef.bench.settings import bench_settings
    from reef.components.details import ComponentDetails, RepoInfo, SearchHit
    from reef.components.fetch import Fetched
    from reef.components.pack import InstallReport, PackReport
    from reef.components.registry import ComponentManifest, Published, RegistryEntry
    from reef.components.shadow import Shadow
    from reef.deploy.export import ExportReport
    from reef.environment.noise import NoiseReport
    from reef.environment.report import EnvDiff, Fingerprint
    from reef.meta.run import RunRecord
    from reef.meta.settings import BenchSettings
    from reef.meta.summary import RunSummary
    from reef.mlperf.check import MlperfCheck
    from reef.mlperf.export import MlperfExport
    from reef.mlperf.importer import MlperfImportReport
    from reef.report.write import PlotResult, ReportResult
    from reef.results.imports import ImportReport
    from reef.results.mlflow_export import MlflowExport, MlflowTarget
    from reef.results.query import RunFilter
    from reef.solutions.caches import CacheClean, CacheItem
    from reef.solutions.init import InitReport, init
    from reef.solutions.manifest_check import CheckResult
    from reef.solutions.rerun import ReproduceReport
    from reef.solutions.tracker import SolutionRun
    from reef.solutions.validate import Validation
    from reef.sweep.spec import Cell, SweepSpec
    from reef.sweep.state import SweepState
    from reef.trace.stored import TraceReport

# Where each name lives: the module is imported when the name is first used.
_WHERE: dict[str, str] = {
    # benchmarking and recorded runs
    "bench": "reef.api.runs",
    "bench_settings": "reef.bench.settings",
    "predictor_settings": "reef.api.runs",
    "demo": "reef.api.runs",
    "runs_list": "reef.api.runs",
    "runs_summaries": "reef.api.runs",
    "runs_show": "reef.api.runs",
    "runs_frame": "reef.api.runs",
    "runs_import": "reef.api.runs",
    "import_mlperf": "reef.api.mlperf_import",
    "run_latencies": "reef.api.runs",
    "latencies": "reef.api.runs",
    "runs_export": "reef.api.export",
    "mlflow_target": "reef.api.export",
    "mlflow_log": "reef.api.export",
    "export_mlperf": "reef.api.mlperf",
    "check_mlperf": "reef.api.mlperf",
    "check_outputs": "reef.api.conformance",
    "convert": "reef.api.conformance",
    # sweeps on a cluster (reef.cluster runs them)
    "trial_cell_run": "reef.api.sweeps",
    "cluster_trial_runner": "reef.api.sweeps",
    "sweep_start_spec": "reef.api.sweeps",
    "evaluation_choices": "reef.api.sweeps",
    "sweep_cancel_requested": "reef.api.sweeps",
    "agent_profile": "reef.api.sweeps",
    "runs_receive": "reef.api.sweeps",
    "sweep_cancel": "reef.api.sweeps",
    "sweep_cell_done": "reef.api.sweeps",
    "sweep_cell_failed": "reef.api.sweeps",
    "sweep_cell_run": "reef.api.sweeps",
    "sweep_cells_pending": "reef.api.sweeps",
    "sweep_list": "reef.api.sweeps",
    "sweep_save": "reef.api.sweeps",
    "sweep_start": "reef.api.sweeps",
    "sweep_status": "reef.api.sweeps",
    "Cell": "reef.sweep.spec",
    "SweepSpec": "reef.sweep.spec",
    "SweepState": "reef.sweep.state",
    # serving a model (reef serve)
    "open_served": "reef.api.serving",
    "ServedModel": "reef.api.serving",
    "TensorMetadata": "reef.api.serving",
    # deployment files (reef export compose|k8s|kserve)
    "export_compose": "reef.api.deploy",
    "export_k8s": "reef.api.deploy",
    "export_kserve": "reef.api.deploy",
    "ExportReport": "reef.deploy.export",
    # drift: a reference profile, offline checks (reef drift), detectors for live traffic
    "drift_profile": "reef.api.drift",
    "drift_check": "reef.api.drift",
    "drift_dataset_profile": "reef.api.drift",
    "drift_detector": "reef.api.drift",
    "DriftDetector": "reef.api.drift",
    "DriftProfile": "reef.api.drift",
    "DriftReport": "reef.api.drift",
    "DriftResult": "reef.api.drift",
    # analysis and reports
    "compare": "reef.api.analysis",
    "pareto": "reef.api.analysis",
    "board": "reef.api.analysis",
    "report": "reef.api.reports",
    "plot": "reef.api.reports",
    "trace_settings": "reef.api.trace",
    "trace_summary": "reef.api.trace",
    "trace_export": "reef.api.trace",
    "trace_otel": "reef.api.trace",
    # tuning: a search for the noise-aware Pareto frontier of a space of settings
    "tune_study": "reef.api.tune",
    "tune_report": "reef.api.tune",
    "TuneReport": "reef.api.tune",
    # components
    "check": "reef.api.manifests",
    "schema": "reef.api.manifests",
    "new": "reef.api.components",
    "search": "reef.api.components",
    "show": "reef.api.components",
    "repo_add": "reef.api.components",
    "repo_list": "reef.api.components",
    "repo_remove": "reef.api.components",
    "repo_trust": "reef.api.components",
    "repo_trusted": "reef.api.components",
    "repo_update": "reef.api.components",
    "resolve": "reef.api.components",
    "lock_for": "reef.api.components",
    "lock_shadows": "reef.api.components",
    "fetch": "reef.api.components",
    "pack": "reef.api.components",
    "install": "reef.api.components",
    # environment, solutions, configuration
    "detect": "reef.api.environment",
    "env_diff": "reef.api.environment",
    "env_check": "reef.api.environment",
    "init": "reef.solutions.init",
    "run": "reef.api.solutions",
    "validate": "reef.api.solutions",
    "reproduce": "reef.api.solutions",
    "cache_list": "reef.api.cache",
    "cache_clean": "reef.api.cache",
    "plugins": "reef.api.plugin_list",
    "config_show": "reef.api.config",
    # the server: its database, runs a page at a time, tokens and the audit log
    "audit_log": "reef.api.tokens",
    "audit_record": "reef.api.tokens",
    "runs_page": "reef.api.server",
    "server_board": "reef.api.server",
    "server_compare": "reef.api.server",
    "server_db_url": "reef.api.server",
    "server_files_root": "reef.api.server",
    "server_init_db": "reef.api.server",
    "server_open": "reef.api.server",
    "server_pareto": "reef.api.server",
    "server_run": "reef.api.server",
    # the web dashboard's reads
    "dashboard_choices": "reef.api.dashboard",
    "dashboard_latencies": "reef.api.dashboard",
    "dashboard_run_file": "reef.api.dashboard",
    "dashboard_run_files": "reef.api.dashboard",
    "dashboard_runs": "reef.api.dashboard",
    "dashboard_solutions": "reef.api.dashboard",
    "token_actor": "reef.api.tokens",
    "token_authenticate": "reef.api.tokens",
    "token_create": "reef.api.tokens",
    "token_list": "reef.api.tokens",
    "token_require": "reef.api.tokens",
    "token_revoke": "reef.api.tokens",
    # submitting runs to a server, and accepting them there
    "submit": "reef.api.submissions",
    "submit_pending": "reef.api.submissions",
    "accept_bundles": "reef.api.submissions",
    # verified runs: the configuration key, submissions and their verifications
    "configuration_key": "reef.api.verification",
    "server_submission": "reef.api.verification",
    "server_submissions": "reef.api.verification",
    # the component registry: publishing to a server, and the server's side
    "publish": "reef.api.registry",
    "registry_publish": "reef.api.registry",
    "registry_search": "reef.api.registry",
    "registry_page": "reef.api.registry",
    "RegistryPage": "reef.api.registry",
    "registry_versions": "reef.api.registry",
    "registry_manifest": "reef.api.registry",
    "registry_yank": "reef.api.registry",
    "registry_pack_path": "reef.api.registry",
    # what the verbs take
    "BenchSettings": "reef.meta.settings",
    "PredictorSettings": "reef.bench.job",
    "TraceSettings": "reef.bench.job",
    "RunFilter": "reef.results.query",
    "Objective": "reef.api.analysis",
    # what they return
    "RunRecord": "reef.meta.run",
    "RunSummary": "reef.meta.summary",
    "Board": "reef.api.analysis",
    "CacheClean": "reef.solutions.caches",
    "CacheItem": "reef.solutions.caches",
    "CheckResult": "reef.solutions.manifest_check",
    "Comparison": "reef.api.analysis",
    "ComponentDetails": "reef.components.details",
    "ConfigReport": "reef.api.config",
    "Conformance": "reef.bench.conformance",
    "Converted": "reef.bench.convert",
    "EnvDiff": "reef.environment.report",
    "NoiseReport": "reef.environment.noise",
    "Fetched": "reef.components.fetch",
    "Fingerprint": "reef.environment.report",
    "Frontier": "reef.api.analysis",
    "LatencyDistribution": "reef.api.dashboard",
    "RunFiles": "reef.api.dashboard",
    "RunRows": "reef.api.dashboard",
    "ImportReport": "reef.results.imports",
    "MlperfImportReport": "reef.mlperf.importer",
    "InitReport": "reef.solutions.init",
    "InstallReport": "reef.components.pack",
    "MlflowExport": "reef.results.mlflow_export",
    "MlflowTarget": "reef.results.mlflow_export",
    "MlperfCheck": "reef.mlperf.check",
    "MlperfExport": "reef.mlperf.export",
    "PackReport": "reef.components.pack",
    "PlotResult": "reef.report.write",
    "PluginsReport": "reef.api.plugin_list",
    "RepoInfo": "reef.components.details",
    "ReportResult": "reef.report.write",
    "ReproduceReport": "reef.solutions.rerun",
    "SearchHit": "reef.components.details",
    "Shadow": "reef.components.shadow",
    "SolutionRun": "reef.solutions.tracker",
    "TraceReport": "reef.trace.stored",
    "Validation": "reef.solutions.validate",
    "AuditEvent": "reef.api.tokens",
    "NewToken": "reef.api.tokens",
    "RunsPage": "reef.api.server",
    "ServerDatabase": "reef.api.server",
    "ServerDbStatus": "reef.api.server",
    "TokenInfo": "reef.api.tokens",
    "Accepted": "reef.api.submissions",
    "SubmitReport": "reef.api.submissions",
    "Submission": "reef.api.verification",
    "Verification": "reef.api.verification",
    "ComponentManifest": "reef.components.registry",
    "Published": "reef.components.registry",
    "RegistryEntry": "reef.components.registry",
}

__all__ = [
    "Accepted",
    "AuditEvent",
    "BenchSettings",
    "Board",
    "CacheClean",
    "CacheItem",
    "Cell",
    "CheckResult",
    "Comparison",
    "ComponentDetails",
    "ComponentManifest",
    "ConfigReport",
    "Conformance",
    "Converted",
    "DriftDetector",
    "DriftProfile",
    "DriftReport",
    "DriftResult",
    "EnvDiff",
    "ExportReport",
    "Fetched",
    "Fingerprint",
    "Frontier",
    "ImportReport",
    "InitReport",
    "InstallReport",
    "LatencyDistribution",
    "MlflowExport",
    "MlflowTarget",
    "MlperfCheck",
    "MlperfExport",
    "MlperfImportReport",
    "NewToken",
    "NoiseReport",
    "Objective",
    "PackReport",
    "PlotResult",
    "PluginsReport",
    "PredictorSettings",
    "Published",
    "RegistryEntry",
    "RegistryPage",
    "RepoInfo",
    "ReportResult",
    "ReproduceReport",
    "RunFiles",
    "RunFilter",
    "RunRecord",
    "RunRows",
    "RunSummary",
    "RunsPage",
    "SearchHit",
    "ServedModel",
    "ServerDatabase",
    "ServerDbStatus",
    "Shadow",
    "SolutionRun",
    "Submission",
    "SubmitReport",
    "SweepSpec",
    "SweepState",
    "TensorMetadata",
    "TokenInfo",
    "TraceReport",
    "TraceSettings",
    "TuneReport",
    "Validation",
    "Verification",
    "accept_bundles",
    "agent_profile",
    "audit_log",
    "audit_record",
    "bench",
    "bench_settings",
    "board",
    "cache_clean",
    "cache_list",
    "check",
    "check_mlperf",
    "check_outputs",
    "cluster_trial_runner",
    "compare",
    "config_show",
    "configuration_key",
    "convert",
    "dashboard_choices",
    "dashboard_latencies",
    "dashboard_run_file",
    "dashboard_run_files",
    "dashboard_runs",
    "dashboard_solutions",
    "demo",
    "detect",
    "drift_check",
    "drift_dataset_profile",
    "drift_detector",
    "drift_profile",
    "env_check",
    "env_diff",
    "evaluation_choices",
    "export_compose",
    "export_k8s",
    "export_kserve",
    "export_mlperf",
    "fetch",
    "import_mlperf",
    "init",
    "install",
    "latencies",
    "lock_for",
    "lock_shadows",
    "mlflow_log",
    "mlflow_target",
    "new",
    "open_served",
    "pack",
    "pareto",
    "plot",
    "plugins",
    "predictor_settings",
    "publish",
    "registry_manifest",
    "registry_pack_path",
    "registry_page",
    "registry_publish",
    "registry_search",
    "registry_versions",
    "registry_yank",
    "repo_add",
    "repo_list",
    "repo_remove",
    "repo_trust",
    "repo_trusted",
    "repo_update",
    "report",
    "reproduce",
    "resolve",
    "run",
    "run_latencies",
    "runs_export",
    "runs_frame",
    "runs_import",
    "runs_list",
    "runs_page",
    "runs_receive",
    "runs_show",
    "runs_summaries",
    "schema",
    "search",
    "server_board",
    "server_compare",
    "server_db_url",
    "server_files_root",
    "server_init_db",
    "server_open",
    "server_pareto",
    "server_run",
    "server_submission",
    "server_submissions",
    "show",
    "submit",
    "submit_pending",
    "sweep_cancel",
    "sweep_cancel_requested",
    "sweep_cell_done",
    "sweep_cell_failed",
    "sweep_cell_run",
    "sweep_cells_pending",
    "sweep_list",
    "sweep_save",
    "sweep_start",
    "sweep_start_spec",
    "sweep_status",
    "token_actor",
    "token_authenticate",
    "token_create",
    "token_list",
    "token_require",
    "token_revoke",
    "trace_export",
    "trace_otel",
    "trace_settings",
    "trace_summary",
    "trial_cell_run",
    "tune_report",
    "tune_study",
    "validate",
]

# Reachable here too, though not part of the documented namespace.
_WHERE |= {
    "DEMO_MODEL": "reef.api.runs",
    "DEMO_DURATION_S": "reef.api.runs",
    "ImportedRun": "reef.results.imports",
    # superseded by mlflow_target and mlflow_log (reef.api.export)
    "mlflow_check": "reef.api.runs",
    "mlflow_export": "reef.api.runs",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value  # the next use is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
