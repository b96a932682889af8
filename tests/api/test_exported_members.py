"""``reef.api.__all__`` is pinned (as httpx's test_exported_members does): adding or removing a
public name is a decision, made here. Every name resolves, is documented, and is imported only
when it is first used."""

from __future__ import annotations

import inspect
import subprocess
import sys

import reef.api

EXPORTED = [
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

# Types defined by other subsystems whose own docstring is missing: a docstring on a pydantic
# model becomes its JSON Schema's description, and `reef schema run` prints RunRecord's.
# docs/python-api.md describes them (tests/api/test_python_api_docs.py checks it).
WITHOUT_DOCSTRING = {"ImportReport", "PredictorSettings", "RunRecord", "SolutionRun"}


def test_all_is_pinned_and_sorted() -> None:
    assert reef.api.__all__ == EXPORTED
    assert sorted(EXPORTED) == EXPORTED


def test_every_name_resolves_to_a_verb_or_a_type() -> None:
    for name in reef.api.__all__:
        value = getattr(reef.api, name)
        assert callable(value), name
        assert not inspect.ismodule(value), name
        assert name in dir(reef.api)


def test_every_name_is_documented() -> None:
    for name in reef.api.__all__:
        value = getattr(reef.api, name)
        # A class's own docstring: inspect.getdoc would fall back to BaseModel's.
        doc = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
        if name in WITHOUT_DOCSTRING:
            assert not doc, f"{name} has a docstring now: drop it from WITHOUT_DOCSTRING"
            continue
        assert doc and doc.strip(), f"reef.api.{name} has no docstring"


def test_verbs_return_typed_results() -> None:
    """No verb says it returns ``Any``: what comes back is a model, a list of them, a record,
    a plain value or None."""
    for name in reef.api.__all__:
        value = getattr(reef.api, name)
        if inspect.isclass(value):
            continue
        returns = inspect.signature(value).return_annotation
        assert returns is not inspect.Signature.empty, name
        assert "Any" not in str(returns).replace("dict[str, Any]", ""), (name, returns)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        reef.api.no_such_verb  # noqa: B018
    except AttributeError as exc:
        assert "no_such_verb" in str(exc)
    else:
        raise AssertionError("reef.api.no_such_verb resolved")


def test_importing_the_api_imports_no_verb_yet() -> None:
    """The names are imported on first use: ``import reef.api`` brings no pydantic, numpy or
    database, so that the faces stay fast to start."""
    code = (
        "import sys, reef.api\n"
        "heavy = ('pydantic', 'numpy', 'sqlalchemy', 'pandas', 'onnxruntime', 'reef.meta')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_verb_named_like_a_module_of_the_package_stays_the_verb() -> None:
    """A submodule imported after the name was read must not replace it (``import
    reef.api.X`` sets the attribute X): no submodule is named like a verb."""
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(reef.api.__path__)}
    assert not modules & set(reef.api.__all__)
