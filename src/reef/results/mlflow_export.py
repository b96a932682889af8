"""Export run records to an MLflow tracking store (the optional ``reef-bench[mlflow]`` extra).

One ``RunRecord`` becomes one MLflow run: tags say which Reef run it is, params say how it was
run, metrics say what came out, and artifacts hold the record itself, its lock and the files of
its run folder. Records from one ``reef run`` become nested runs under one parent run.

Exporting is idempotent: a record whose ``reef.run_id`` tag is already on a finished run of the
experiment is **skipped** (that run's id is returned and nothing is written). A run left
``RUNNING`` by an export that died midway is deleted and exported again. A parent run is found
again by its ``reef.parent_name`` tag and reused.

Supported stores: ``sqlite:///path.db`` (MLflow's own SQLite store; artifacts go to
``mlartifacts/`` beside the database), ``http(s)://`` tracking servers, ``postgresql://``,
``mysql://`` and ``mssql://`` databases (through SQLAlchemy and the driver you installed), and
the file store (``file:///dir`` or a bare path), which MLflow 3 keeps in maintenance mode and
refuses unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set.

MLflow's settings are honoured: ``MLFLOW_TRACKING_URI`` is the store where none is given
(``tracking_uri``) and ``MLFLOW_EXPERIMENT_NAME`` the experiment (``experiment_name``). A URI
is shown redacted (``reef.config.redact_url``) in every message.

MLflow is imported inside functions only: ``import reef`` never pays for it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from pydantic import BaseModel

from reef.config import redact_url
from reef.errors import ReefError, ResultsError
from reef.meta.run import RunRecord

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

__all__ = [
    "ExportedRun",
    "MlflowExport",
    "MlflowExportError",
    "MlflowTarget",
    "MlflowUnavailable",
    "check_uri",
    "experiment_name",
    "export",
    "export_records",
    "run_name",
    "target",
    "tracking_uri",
]

INSTALL_HINT = "pip install 'reef-bench[mlflow]'"
URI_ENV = "MLFLOW_TRACKING_URI"
EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "reef"
MAX_ARTIFACT_BYTES = 50 * 1024 * 1024

# MLflow's limits (mlflow.utils.validation): values longer than these are refused or cut.
_PARAM_VALUE_LIMIT = 6000
_TAG_VALUE_LIMIT = 8000
_KEY_LIMIT = 250
_PARAMS_TAGS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
# Param, metric and tag keys: MLflow allows word characters, '.', '-', ' ', ':' and '/'; '/'
# is left out here because keys must not look like paths that resolve to other names.
_BAD_KEY_CHARS = re.compile(r"[^\w.\- :]")

_DATABASES = ("postgresql", "mysql", "mssql")
_SCHEMES = ("sqlite", "file", "http", "https", *_DATABASES)
_STATUS = {"valid": "FINISHED", "invalid": "FAILED", "failed": "FAILED", "interrupted": "KILLED"}
_SEVERITY = {"FINISHED": 0, "FAILED": 1, "KILLED": 2}
_SQLITE_MAGIC = b"SQLite format 3\x00"


class MlflowUnavailable(ResultsError):
    """MLflow is not installed (or fails to import)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"exporting to MLflow needs the mlflow extra, which is not installed ({detail})",
            hint=f"install it with: {INSTALL_HINT}",
        )


class MlflowExportError(ResultsError):
    """The tracking URI is unusable or the store refused the export. ``uri`` hides passwords."""

    def __init__(self, uri: str, problem: str, hint: str | None = None) -> None:
        self.uri = redact_url(uri)
        super().__init__(f"MLflow store {self.uri}: {_hide_password(problem, uri)}", hint)


def tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``MLFLOW_TRACKING_URI``; neither is an error saying so."""
    chosen = uri if uri is not None else (os.environ.get(URI_ENV) or None)
    if chosen is None:
        raise ReefError(
            "no MLflow tracking URI: give --mlflow URI or set MLFLOW_TRACKING_URI",
            hint="e.g. --mlflow sqlite:///mlflow.db or --mlflow http://127.0.0.1:5000",
        )
    return chosen


def experiment_name() -> str:
    """``MLFLOW_EXPERIMENT_NAME``, else ``reef``."""
    return os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT


def _hide_password(text: str, uri: str) -> str:
    password = urlsplit(uri).password
    if not password:
        return text
    for form in {password, unquote(password)}:
        text = text.replace(form, "***")
    return text


# ---------------------------------------------------------------------------------------------
# The URI: checked before any benchmark runs, without creating anything.


@dataclass(frozen=True)
class _Location:
    scheme: str  # one of _SCHEMES
    path: Path | None  # the SQLite file or file-store folder; None for servers and databases


def check_uri(uri: str) -> None:
    """Fail now, before a benchmark runs, if exporting to ``uri`` cannot work. Writes nothing.

    For a server it asks once whether anything answers (5 s at most).
    """
    _checked(uri)


def _checked(uri: str) -> tuple[type[MlflowClient], _Location]:
    client_class = _import_client()
    location = _parse(uri)
    if location.scheme == "file":
        _require_file_store(uri, location)
    if location.path is not None:
        _check_local(uri, location)
    if location.scheme in _DATABASES:
        _check_driver(uri)
    if location.scheme in ("http", "https"):
        _probe_server(uri)
    return client_class, location


def _parse(uri: str) -> _Location:
    if not uri.strip():
        raise MlflowExportError(uri, "empty tracking URI", hint=_scheme_hint())
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "" or (len(scheme) == 1 and scheme.isalpha()):  # a bare (or Windows) path
        return _Location("file", Path(uri).expanduser())
    base = scheme.partition("+")[0]
    if base not in _SCHEMES:
        raise MlflowExportError(uri, f"unsupported scheme {scheme!r}", hint=_scheme_hint())
    if base == "file":
        if parts.netloc not in ("", "localhost"):
            raise MlflowExportError(uri, "a file: URI must name a local folder")
        return _Location("file", Path(url2pathname(parts.path)))
    if base == "sqlite":
        return _Location("sqlite", _sqlite_path(uri))
    if base in ("http", "https") and not parts.hostname:
        raise MlflowExportError(uri, "no host in the URI", hint="e.g. http://127.0.0.1:5000")
    return _Location(base, None)


def _scheme_hint() -> str:
    return (
        "use sqlite:///path/to/mlflow.db, http(s)://host:port, postgresql://..., mysql://... "
        "or (with MLFLOW_ALLOW_FILE_STORE=true) a folder for MLflow's file store"
    )


def _sqlite_path(uri: str) -> Path:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(uri).database
    except ArgumentError as exc:
        raise MlflowExportError(uri, str(exc), hint="e.g. sqlite:///path/to/mlflow.db") from exc
    if not database or database == ":memory:" or database.startswith("file:"):
        raise MlflowExportError(
            uri,
            "names no database file (an in-memory store is lost when Reef exits)",
            hint="e.g. sqlite:///path/to/mlflow.db",
        )
    return Path(database).expanduser()


def _require_file_store(uri: str, location: _Location) -> None:
    from mlflow import environment_variables

    allow = getattr(environment_variables, "MLFLOW_ALLOW_FILE_STORE", None)
    if allow is not None and not allow.get():
        assert location.path is not None
        raise MlflowExportError(
            uri,
            "this MLflow keeps the file store in maintenance mode and refuses to write to it",
            hint=f"use sqlite:///{location.path / 'mlflow.db'}, "
            "or set MLFLOW_ALLOW_FILE_STORE=true to use the file store anyway",
        )


def _check_local(uri: str, location: _Location) -> None:
    path = location.path
    assert path is not None
    if location.scheme == "sqlite":
        if path.exists():
            _check_sqlite_file(uri, path)
        folder = path.parent
    else:
        folder = path
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise MlflowExportError(uri, f"cannot create folder {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "write to" if existing == folder else f"create folder {folder} in"
        raise MlflowExportError(uri, f"cannot {what} {existing}: permission denied")


def _check_sqlite_file(uri: str, path: Path) -> None:
    if not path.is_file():
        raise MlflowExportError(uri, f"{path} exists and is not a file")
    if not os.access(path, os.R_OK | os.W_OK):
        raise MlflowExportError(uri, f"{path}: permission denied")
    with path.open("rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head and head != _SQLITE_MAGIC:
        raise MlflowExportError(
            uri, f"{path} is not an SQLite database", hint="name a new file or an MLflow database"
        )


def _check_driver(uri: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(uri).get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError) as exc:
        raise MlflowExportError(uri, str(exc)) from exc
    except ImportError as exc:
        raise MlflowExportError(
            uri,
            f"the database driver is not installed ({exc})",
            hint="install the driver SQLAlchemy uses for this URI, e.g. psycopg2-binary or pymysql",
        ) from exc


def _probe_server(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast when nothing answers at ``uri``: MLflow itself retries for minutes.

    Any HTTP answer counts (even 401 or 404): only a connection that fails or times out does not.
    """
    import urllib.error
    import urllib.request

    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    health = urlunsplit((parts.scheme, host, parts.path.rstrip("/") + "/health", "", ""))
    try:
        with urllib.request.urlopen(health, timeout=timeout_s):
            pass
    except urllib.error.HTTPError:
        pass  # the server answered
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MlflowExportError(
            uri,
            f"no tracking server answers ({reason})",
            hint="start it (mlflow server --backend-store-uri sqlite:///mlflow.db) "
            "or check the host and port",
        ) from exc


def _import_client() -> type[MlflowClient]:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise MlflowUnavailable(str(exc)) from exc
    client_class: type[MlflowClient] = MlflowClient  # typed even where mypy lacks mlflow
    return client_class


# ---------------------------------------------------------------------------------------------
# The export.


def export_records(
    records: Sequence[RunRecord],
    uri: str,
    *,
    experiment: str | None = None,
    parent_name: str | None = None,
    max_artifact_bytes: int = MAX_ARTIFACT_BYTES,
) -> list[str]:
    """Export ``records`` to the MLflow store at ``uri``, in ``experiment`` (else
    ``experiment_name()``); return their MLflow run ids, in order.

    With ``parent_name`` the records become nested runs of one parent run of that name (found
    again by name on a later export). Records already exported are skipped, not duplicated.
    The run folder's files go along up to ``max_artifact_bytes`` in all.
    """
    client_class, location = _checked(uri)
    if not records:
        return []
    if location.path is not None:
        folder = location.path.parent if location.scheme == "sqlite" else location.path
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MlflowExportError(uri, f"cannot create folder {folder}: {exc}") from exc
    try:
        with _quiet_mlflow():
            client = client_class(tracking_uri=uri)
            experiment_id = _experiment(client, experiment or experiment_name(), uri, location)
            parent_id = None
            if parent_name is not None:
                parent_id = _parent(client, experiment_id, parent_name, records)
            ids = [
                _export_one(client, experiment_id, record, parent_id, max_artifact_bytes)
                for record in records
            ]
            if parent_id is not None:
                _finish_parent(client, parent_id, records)
    except ReefError:
        raise
    except Exception as exc:
        raise MlflowExportError(uri, f"{type(exc).__name__}: {exc}") from exc
    return ids


# ---------------------------------------------------------------------------------------------
# What reef.api.mlflow_target and mlflow_log return: URIs redacted, as in every message.


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


def target(uri: str | None = None, *, experiment: str | None = None) -> MlflowTarget:
    """Check, before any work, that runs can be exported to ``uri`` (else
    ``MLFLOW_TRACKING_URI``), into ``experiment`` (else ``experiment_name()``); writes
    nothing."""
    chosen = tracking_uri(uri)
    check_uri(chosen)
    return MlflowTarget(uri=redact_url(chosen), experiment=experiment or experiment_name())


def export(
    records: Sequence[RunRecord],
    uri: str | None = None,
    *,
    experiment: str | None = None,
    parent_name: str | None = None,
) -> MlflowExport:
    """``export_records`` to ``uri`` (else ``MLFLOW_TRACKING_URI``), with what was exported
    where as its result."""
    chosen = tracking_uri(uri)
    name = experiment or experiment_name()
    ids = export_records(records, chosen, experiment=name, parent_name=parent_name)
    return MlflowExport(
        uri=redact_url(chosen),
        experiment=name,
        parent=parent_name,
        runs=[ExportedRun(run_id=r.id, mlflow_run_id=i) for r, i in zip(records, ids, strict=True)],
    )


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Hide MLflow's INFO lines ("Creating initial MLflow database tables...") meanwhile."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _experiment(client: MlflowClient, name: str, uri: str, location: _Location) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage != "active":
            raise MlflowExportError(
                uri,
                f"experiment {name!r} is deleted",
                hint=f"restore it (mlflow experiments restore --experiment-id "
                f"{found.experiment_id}) or export to another experiment",
            )
        return str(found.experiment_id)
    artifact_location = None
    if location.scheme == "sqlite" and location.path is not None:
        # MLflow's default for a database store is ./mlruns in the *current* folder.
        slug = _BAD_KEY_CHARS.sub("_", name).replace(" ", "_") or "experiment"
        root = location.path.parent.resolve() / "mlartifacts" / slug
        artifact_location = root.as_uri()
    return str(client.create_experiment(name, artifact_location=artifact_location))


def _find(
    client: MlflowClient, experiment_id: str, key: str, value: str, *, keep_running: bool
) -> Run | None:
    """The run tagged ``key=value``. A run left RUNNING by an export that died midway is
    deleted (to be exported again) unless ``keep_running``: a parent keeps its children."""
    quote = '"' if "'" in value else "'"
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{key}` = {quote}{value}{quote}",
        max_results=10,
        order_by=["attributes.start_time ASC"],
    )
    if keep_running:
        return runs[0] if runs else None
    finished = [run for run in runs if run.info.status != "RUNNING"]
    if finished:
        return finished[0]
    for run in runs:
        client.delete_run(run.info.run_id)
    return None


def _export_one(
    client: MlflowClient,
    experiment_id: str,
    record: RunRecord,
    parent_id: str | None,
    max_artifact_bytes: int,
) -> str:
    existing = _find(client, experiment_id, "reef.run_id", record.id, keep_running=False)
    if existing is not None:
        return str(existing.info.run_id)
    tags = _tags(record)
    if parent_id is not None:
        tags["mlflow.parentRunId"] = parent_id
    run = client.create_run(
        experiment_id, start_time=_ms(record.created_at), tags=tags, run_name=run_name(record)
    )
    run_id = str(run.info.run_id)
    try:
        end = record.finished_at or record.created_at
        metrics = _metrics(record)
        _log_batches(client, run_id, params=_params(record), metrics=metrics, timestamp=_ms(end))
        _log_artifacts(client, run_id, record, max_artifact_bytes)
        client.set_terminated(run_id, _STATUS[record.status], end_time=_ms(end))
    except BaseException:
        _delete_quietly(client, run_id)
        raise
    return run_id


def _delete_quietly(client: MlflowClient, run_id: str) -> None:
    try:
        client.delete_run(run_id)
    except Exception:  # the store is failing already; the original error is the one to show
        logging.getLogger(__name__).debug("could not delete run %s", run_id, exc_info=True)


def run_name(record: RunRecord) -> str:
    """``digits-classifier SingleStream 1a2b3c4d``."""
    return f"{record.target.name} {record.scenario} {record.id[:8]}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _tags(record: RunRecord) -> dict[str, str]:
    tags: dict[str, str | None] = {
        "mlflow.source.name": "reef",
        "reef.run_id": record.id,
        "reef.status": record.status,
        "reef.target": record.target.name,
        "reef.scenario": record.scenario,
        "reef.environment_hash": _str_or_none(record.environment.get("hash")),
        "reef.reproduces": record.reproduces,
        "reef.loadgen_result": record.loadgen.result if record.loadgen else None,
    }
    if record.solution is not None:
        tags["reef.solution"] = record.solution.name
        tags["reef.solution_version"] = record.solution.version
        tags["reef.solution_run"] = record.solution.run
        tags["reef.solution_step"] = record.solution.step
    if record.reasons:
        tags["mlflow.note.content"] = "Reasons:\n\n" + "\n".join(f"- {r}" for r in record.reasons)
    return {key: _cut(value, _TAG_VALUE_LIMIT) for key, value in tags.items() if value is not None}


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _params(record: RunRecord) -> dict[str, str]:
    params: dict[str, Any] = dict(record.settings.model_dump(mode="json"))
    params["target.kind"] = record.target.kind
    params["target.version"] = record.target.version
    params["target.sha256"] = record.target.sha256
    if record.predictor is not None:
        params["predictor.name"] = record.predictor.name
        params["predictor.version"] = record.predictor.version
        params["predictor.providers"] = ",".join(record.predictor.providers)
        for name, value in record.predictor.options.items():
            params[f"predictor.option.{name}"] = value
    params["components"] = ", ".join(
        f"{c.name}@{c.version}={c.sha256[:12]}" if c.version else f"{c.name}={c.sha256[:12]}"
        for c in record.components
    )
    return {
        _key(key): _cut(_param_text(value), _PARAM_VALUE_LIMIT) for key, value in params.items()
    }


def _param_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _metrics(record: RunRecord) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if record.performance is not None:
        perf = record.performance
        for name in ("min", "mean", "p50", "p90", "p95", "p99", "max"):
            metrics[f"latency_{name}_ms"] = float(getattr(perf.latency_ms, name))
        metrics["throughput_qps"] = perf.throughput_qps
        metrics["samples"] = perf.samples
        metrics["queries"] = perf.queries
        if perf.duration_s is not None:
            metrics["measured_duration_s"] = perf.duration_s
    if record.accuracy is not None:
        acc = record.accuracy
        if acc.value is not None:
            metrics[_key(f"accuracy_{acc.metric}")] = acc.value
        if acc.passed is not None:
            metrics["accuracy_passed"] = float(acc.passed)
    if record.loadgen is not None and record.loadgen.result is not None:
        metrics["loadgen_valid"] = float(record.loadgen.result == "VALID")
    return metrics


def _key(key: str) -> str:
    """A param, metric or tag key MLflow accepts."""
    return _BAD_KEY_CHARS.sub("_", key)[:_KEY_LIMIT]


def _cut(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, with a marker saying it was cut."""
    if len(value) <= limit:
        return value
    marker = f" ...[truncated: {len(value)} characters in all]"
    return value[: limit - len(marker)] + marker


def _log_batches(
    client: MlflowClient,
    run_id: str,
    *,
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    timestamp: int | None = None,
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    param_list = [Param(k, v) for k, v in (params or {}).items()]
    tag_list = [RunTag(k, v) for k, v in (tags or {}).items()]
    stamp = timestamp if timestamp is not None else _ms(datetime.now().astimezone())
    metric_list = [Metric(k, v, stamp, 0) for k, v in (metrics or {}).items()]
    step = _PARAMS_TAGS_PER_BATCH
    for i in range(0, max(len(param_list), len(tag_list), 1), step):
        client.log_batch(run_id, params=param_list[i : i + step], tags=tag_list[i : i + step])
    for i in range(0, len(metric_list), _METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metric_list[i : i + _METRICS_PER_BATCH])


# ---------------------------------------------------------------------------------------------
# Artifacts.


def _log_artifacts(client: MlflowClient, run_id: str, record: RunRecord, cap: int) -> None:
    client.log_text(run_id, json.dumps(record.summary_json(), indent=2), "reef/record.json")
    if record.lock is not None:
        lock = json.dumps(record.lock, indent=2, sort_keys=True) + "\n"
        client.log_text(run_id, lock, "reef/reef.lock")
    files, texts = _artifact_files(record)
    for name, text in texts.items():
        client.log_text(run_id, text, f"reef/artifacts/{name}.txt")
    used, skipped, skipped_bytes = 0, 0, 0
    for path, size, destination in files:
        if used + size > cap:
            skipped, skipped_bytes = skipped + 1, skipped_bytes + size
            continue
        client.log_artifact(run_id, str(path), destination)
        used += size
    if skipped:
        mb = 1024 * 1024
        note = (
            f"{skipped} file(s), {skipped_bytes / mb:.1f} MB, not uploaded: "
            f"over the {cap / mb:.0f} MB cap (they stay in the Reef run folder)"
        )
        client.set_tag(run_id, "reef.artifacts_note", note)


def _artifact_files(record: RunRecord) -> tuple[list[tuple[Path, int, str]], dict[str, str]]:
    """(file, size, MLflow folder) for each file on disk, and the artifacts held as text.

    Deeper paths go first so that a file inside both ``run_dir`` and ``loadgen_performance``
    is filed under the more specific name; each file is uploaded once.
    """
    texts: dict[str, str] = {}
    entries: list[tuple[str, Path]] = []
    for name, value in record.artifacts.items():
        path = Path(value)
        if "\n" not in value and path.exists():
            entries.append((name, path.resolve()))
        elif "\n" in value:  # e.g. a traceback, held in the record itself
            texts[_key(name)] = value
    entries.sort(key=lambda entry: (-len(entry[1].parts), entry[0]))
    seen: set[Path] = set()
    files: list[tuple[Path, int, str]] = []
    for name, path in entries:
        folder = f"reef/artifacts/{_key(name)}"
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            if file in seen or file.is_symlink():
                continue
            seen.add(file)
            relative = file.parent.relative_to(path).as_posix() if file != path else "."
            destination = folder if relative == "." else f"{folder}/{relative}"
            files.append((file, file.stat().st_size, destination))
    return files, texts


# ---------------------------------------------------------------------------------------------
# The parent run of a `reef run`.


def _parent(
    client: MlflowClient, experiment_id: str, name: str, records: Sequence[RunRecord]
) -> str:
    existing = _find(client, experiment_id, "reef.parent_name", name, keep_running=True)
    if existing is not None:
        return str(existing.info.run_id)
    tags = {"mlflow.source.name": "reef", "reef.parent_name": _cut(name, _TAG_VALUE_LIMIT)}
    solutions = {
        (r.solution.name, r.solution.version, r.solution.run) for r in records if r.solution
    }
    if len(solutions) == 1:
        solution, version, solution_run = solutions.pop()
        tags["reef.solution"] = solution
        tags["reef.solution_version"] = version
        if solution_run is not None:
            tags["reef.solution_run"] = solution_run
    start = min((r.created_at for r in records), default=None)
    run = client.create_run(
        experiment_id,
        start_time=_ms(start) if start else None,
        tags=tags,
        run_name=name[:_TAG_VALUE_LIMIT],
    )
    return str(run.info.run_id)


def _finish_parent(client: MlflowClient, parent_id: str, records: Sequence[RunRecord]) -> None:
    parent = client.get_run(parent_id)
    statuses = [_STATUS[r.status] for r in records]
    if parent.info.status in _SEVERITY:
        statuses.append(parent.info.status)
    status = max(statuses, key=_SEVERITY.__getitem__, default="FINISHED")
    ends = [_ms(r.finished_at or r.created_at) for r in records]
    if parent.info.end_time:
        ends.append(int(parent.info.end_time))
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'",
        max_results=10_000,
    )
    valid = sum(1 for run in children if run.data.tags.get("reef.status") == "valid")
    _log_batches(client, parent_id, metrics={"runs": len(children), "runs_valid": valid})
    client.set_terminated(parent_id, status, end_time=max(ends) if ends else None)
