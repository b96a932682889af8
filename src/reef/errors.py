"""Reef's exceptions.

Every error a user can cause is a ``ReefError``: a message, an optional hint saying what to do,
and the process exit code the CLI uses (0 success, 1 the result is not valid, 2 bad input or
usage, 3 Reef or its environment failed, 130/143 interrupted). Each subsystem has a base, and
its errors carry structured fields so that callers of ``reef.api`` can act on them without
parsing text; a foreign error is wrapped with ``raise ... from exc``, keeping the cause::

    ReefError                     exit 2 unless stated
    ├── ManifestError             a manifest or record failed validation (``problems``)
    ├── ChecksumError             a file's sha256 differs from the one declared
    ├── FileRefused               a path that is not a regular file, too large, or unwritable
    ├── ConfigError               the config file or a setting's variable cannot be used
    ├── WriteFailed               exit 3: the OS failed a write (disk full, read-only, I/O)
    ├── InternalError             exit 3: an exception nothing anticipated (a bug), one line
    ├── PluginError               exit 3: an installed plugin cannot be loaded (each
    │                             subsystem's plugin error is also that subsystem's error)
    ├── Interrupted               Ctrl-C (exit 130) or SIGTERM (exit 143) stopped the work
    ├── ComponentError            components: repositories, index, resolution, locks, trust,
    │   │                         fetching, packs (reef.components)
    │   ├── GitError, NetworkError          exit 3: git or the network failed
    │   └── RepositoryError, ResolutionError, LockMismatch, UntrustedComponent,
    │       ComponentNotFound, ComponentRefused, FetchError, PackError, ArchiveError
    ├── BenchError                benchmarking: settings, predictors, steps, metrics, the
    │   │                         worker (reef.bench, reef.predictors)
    │   └── SettingsError, PredictorError, StepError, MetricError, WorkerError,
    │       WorkerCrashed; MissingRuntime (a PredictorError, exit 3: a backend's framework
    │       is not installed)
    ├── ResultsError              the results store and what reads it (reef.results)
    │   ├── StoreError, DatabaseReadOnly, RecordNotStored     exit 3 where the database or
    │   │                                                     its disk failed
    │   └── RunNotFound, NoRunsMatch, QueryError, SchemaMismatch, StatsError, CompareError,
    │       ParetoError, NoLatencies, MlflowExportError, MlflowUnavailable
    ├── EnvError                  this machine and its environments (reef.environment)
    │   ├── InstallerError        exit 3: uv or pip failed
    │   └── ProvisionError, RequirementsNotMet
    ├── ServerError               the server: its tokens, authentication and limits
    │   │                         (reef.server, reef.api.tokens); ``http_status`` is its
    │   │                         status in the REST API's answer
    │   └── BadRequest, TokenError, TokenNotFound (404), AuthError (401), Forbidden (403),
    │       TooLarge (413), RateLimited (429)
    ├── SolutionError             solutions: loading, steps, checks, reproduce
    │   │                         (reef.solutions)
    │   └── NotASolution, PlanError, CheckError, CannotReproduce, StepFailed (exit 1)
    ├── ReportError               reports, plots and traces (reef.report, reef.trace)
    │   └── NoTrace
    └── BundleError               submitting runs: a run's bundle and the server's checks of
        │                         it, the answer (reef.bench.bundle, reef.api.submissions)
        ├── FiguresMismatch       a figure of the record is not what LoadGen's logs say
        ├── BundleTooLarge        a file, bundle or request over its size cap (HTTP 413)
        ├── RunConflict           the server holds this run id with other content (HTTP 409)
        └── SubmissionRefused     the server refused a submission: its status and message
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
# The measurement cannot decide (a busy machine, processes spread wider than the difference):
# neither "reproduced" (0) nor "differs" (1). Rerun as the verdict's advice says.
EXIT_INCONCLUSIVE = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class ReefError(Exception):
    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_json(self) -> dict[str, object]:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ComponentError(ReefError):
    """Components: repositories, the index, resolution, locks, trust, fetching and packs."""


class BenchError(ReefError):
    """Benchmarking: settings, predictors, processing steps, metrics and the worker."""


class ResultsError(ReefError):
    """The results store and what reads it: runs, queries, statistics, comparisons."""


class EnvError(ReefError):
    """This machine and the environments Reef builds: detection and provisioning."""


class SolutionError(ReefError):
    """Solutions: loading one, its steps and checks, reproducing a run."""


class ReportError(ReefError):
    """Reports, figures and traces."""


class ClusterError(ReefError):
    """The Dask cluster: a scheduler that cannot be reached, a cluster that cannot start
    (exit 3: the environment failed, not the input)."""

    exit_code = EXIT_ENVIRONMENT


class ServerError(ReefError):
    """The server: its database, tokens, authentication and limits. ``http_status`` is the
    HTTP status the REST API answers it with (422: the request is wrong)."""

    http_status: int = 422


class BadRequest(ServerError):
    """A request the REST API cannot take as it is: a body that is not JSON, a field missing
    or of the wrong type, a query parameter that is not a number (HTTP 422)."""


class TokenError(ServerError):
    """A token cannot be made or used as asked: an unknown scope, an expiry that cannot be
    read or is past, a name too long. Nothing was written."""


class TokenNotFound(ServerError):
    """No token has the id given (to revoke it, say)."""

    http_status = 404


class AuthError(ServerError):
    """The request carries no usable token: none where one is needed, one that is unknown,
    malformed, expired or revoked (HTTP 401)."""

    http_status = 401


class Forbidden(ServerError):
    """The token is valid but its scope does not allow what was asked (HTTP 403)."""

    http_status = 403


class TooLarge(ServerError):
    """A request body past the server's upload limit (HTTP 413); nothing of it was used."""

    http_status = 413


class RateLimited(ServerError):
    """Too many requests from one token (or one address, without a token) for its rate
    limit (HTTP 429); ``retry_after`` is how many seconds until the next one is allowed."""

    http_status = 429

    def __init__(self, message: str, retry_after: int, hint: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, hint)

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"retry_after": self.retry_after}


@dataclass(frozen=True)
class Problem:
    """One validation failure: where it is (file and field path) and what is wrong."""

    file: str
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.location}" if self.location else self.file
        return f"{where}: {self.message}"


class ManifestError(ReefError):
    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        head = lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n  " + "\n  ".join(lines)
        super().__init__(head, hint)

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["problems"] = [
            {"file": p.file, "location": p.location, "message": p.message} for p in self.problems
        ]
        return data


class ChecksumError(ReefError):
    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"{path}: sha256 mismatch: the manifest declares {expected}, the file has {actual}",
            hint="the file was not used; restore the original file or update the manifest's sha256",
        )


class PredictorError(BenchError):
    pass


class MissingRuntime(PredictorError):
    """A built-in backend's framework is not installed (exit 3: the environment lacks it).
    ``backend`` is the predictor's name and ``extra`` the ``reef-bench[...]`` extra that
    installs its framework. Where the user named a file of that backend, ``reef bench``
    refuses it as bad input instead (exit 2), with the same words."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, backend: str, message: str, extra: str, hint: str | None = None) -> None:
        self.backend, self.extra = backend, extra
        super().__init__(message, hint)

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"backend": self.backend, "extra": self.extra}


class SettingsError(BenchError):
    pass


class InputProblem(SettingsError):
    """The model refused the data Reef made for its inputs (exit 2, nothing recorded): how
    the inputs are fed needs saying, which is the user's to fix, not a failed benchmark."""


class RunNotFound(ResultsError):
    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        self.candidates = candidates or []
        hint = None
        if self.candidates:
            hint = "candidates: " + ", ".join(self.candidates)
        super().__init__(message, hint)


class FileRefused(ReefError):
    """A path Reef will not read or write: a FIFO, a device, a directory, a file over its size
    cap, a symlink loop, a missing or read-only folder. Nothing was read or written."""

    def __init__(self, path: object, reason: str, hint: str | None = None) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}", hint)


class ConfigError(ReefError):
    """The config file (or a setting's environment variable) cannot be used: unreadable, not
    TOML, an unknown key, a value of the wrong type. Named by file and key."""


class WriteFailed(ReefError):
    """The operating system failed a write Reef had every reason to expect to work: the disk
    is full, the file system went read-only, an I/O error. Reef's environment failed, not the
    input (exit 3)."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, path: object, reason: str, hint: str | None = None) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: cannot write: {reason}", hint)


class InternalError(ReefError):
    """An exception nothing in Reef anticipated, as the CLI reports it: one line, exit 3."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, exc: BaseException) -> None:
        self.cause = exc
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        name = type(exc).__name__
        super().__init__(
            f"unexpected {name}{': ' + detail if detail else ''}",
            hint="this is a bug in Reef or its environment; run again with --debug for the "
            "traceback, and report it",
        )


class Interrupted(ReefError):
    """The user stopped the work: Ctrl-C (exit 130) or SIGTERM (exit 143).

    ``run_ids`` were recorded as ``interrupted``. ``finished`` (id: status) are runs that had
    finished when the signal came, and were stored as what they are (``valid``, ...): the
    message says so rather than calling them interrupted.
    """

    def __init__(
        self,
        signal_name: str,
        run_ids: list[str] | None = None,
        finished: dict[str, str] | None = None,
    ) -> None:
        self.signal_name = signal_name
        self.run_ids = run_ids or []
        self.finished = finished or {}
        self.exit_code = EXIT_SIGTERM if signal_name == "SIGTERM" else EXIT_SIGINT
        recorded = f"; recorded as interrupted: {', '.join(self.run_ids)}" if self.run_ids else ""
        message = f"interrupted by {signal_name}{recorded}"
        if self.finished:
            done = "; ".join(
                f"run {run_id} finished and was stored as {status}"
                for run_id, status in self.finished.items()
            )
            message = f"{done}; then {message}"
        super().__init__(message)

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"interrupted": self.run_ids, "finished": self.finished}


class Terminated(BaseException):
    """Raised by the CLI's SIGTERM handler so that a run unwinds like it does on Ctrl-C."""


class RecordNotStored(ResultsError):
    """A run was measured but the results database could not store it (disk full, read-only,
    gone): exit 3. Its record is kept as JSON at ``kept_at`` for ``reef runs import``; where
    not even that could be written, ``kept_at`` is None and ``record`` holds it (it is in the
    JSON form of this error, and was printed on stderr)."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(
        self,
        run_id: str,
        status: str,
        reason: str,
        kept_at: str | None,
        record: dict[str, object] | None = None,
    ) -> None:
        self.run_id, self.status, self.kept_at, self.record = run_id, status, kept_at, record
        if kept_at is not None:
            message = (
                f"run {run_id} ({status}) was measured but not stored: {reason}; "
                f"its record is kept in {kept_at}"
            )
            hint = f"free some space or fix the database, then: reef runs import {kept_at}"
        else:
            message = (
                f"run {run_id} ({status}) was measured but could not be saved anywhere: "
                f"{reason}; its record is printed above on stderr, as one line of JSON"
            )
            hint = "save that line to a file elsewhere, then: reef runs import FILE"
        super().__init__(message, hint)

    def to_json(self) -> dict[str, object]:
        data = super().to_json() | {
            "run_id": self.run_id,
            "status": self.status,
            "kept_at": self.kept_at,
        }
        if self.kept_at is None:
            data["record"] = self.record
        return data


class DatabaseReadOnly(ResultsError):
    """The results database cannot be written here (a read-only ``REEF_HOME``) and the command
    needs to write it: to record a run, to import one, or to upgrade its schema. Exit 3."""

    exit_code = EXIT_ENVIRONMENT


class SchemaMismatch(ResultsError):
    """The results database's schema table (``alembic_version``) disagrees with itself or with
    the tables; nothing was changed. Exit 2."""


class PluginError(ReefError):
    """A plugin of one of Reef's entry-point groups (or a built-in they list) could not be
    loaded: its module failed to import, the name it points at is missing, or it is not what
    the group needs. The installed software is broken, not the input, so exit 3. Each
    subsystem raises its own subclass (``PredictorPluginError``, ``StepPluginError``, ...),
    which is also that subsystem's error; see ``reef.plugins``.

    ``source`` is ``built-in`` or the distribution's name and version; ``package`` is the
    distribution's name (None for a built-in, or an entry point of no known distribution).
    """

    exit_code = EXIT_ENVIRONMENT

    def __init__(
        self,
        *,
        group: str,
        name: str,
        kind: str,
        source: str,
        package: str | None,
        reason: str,
    ) -> None:
        self.group, self.name, self.kind = group, name, kind
        self.source, self.package, self.reason = source, package, reason
        if source == "built-in":
            message = f"Reef's built-in {kind} {name!r} could not be loaded: {reason}"
            self.remedy = "a package Reef needs is missing or broken: reinstall Reef"
        else:
            message = (
                f"{kind} plugin {name!r} ({group}) from {source} could not be loaded: {reason}"
            )
            self.remedy = (
                f"repair or reinstall {package}, or uninstall it"
                if package
                else "remove the entry point, or install the package it belongs to"
            )
        super().__init__(
            message, f"{self.remedy}; `reef plugins` lists every plugin and whether it loads"
        )

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {
            "group": self.group,
            "plugin": self.name,
            "source": self.source,
            "package": self.package,
        }


class PredictorPluginError(PluginError, PredictorError):
    """A predictor backend could not be loaded (exit 3)."""


class BundleError(ReefError):
    """A run's bundle (its record, LoadGen's logs) cannot be made, sent or accepted: a newer
    format, an unsafe path, a checksum or a figure that does not hold. ``run_id`` names the
    run where one is known. Exit 2 (HTTP 422 from the server)."""

    def __init__(self, message: str, hint: str | None = None, *, run_id: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id}: {message}" if run_id else message, hint)

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"run_id": self.run_id}


class FiguresMismatch(BundleError):
    """A figure of the record (``field``, e.g. ``performance.latency_ms.p99``) differs from the
    one LoadGen's own log gives (``recorded`` and ``logged``, as words): an edited number."""

    def __init__(
        self, run_id: str | None, field: str, recorded: str, logged: str, log: str
    ) -> None:
        self.field, self.recorded, self.logged, self.log = field, recorded, logged, log
        super().__init__(
            f"{field}: the record says {recorded}, {log} says {logged}",
            hint="the record's figures must be LoadGen's own; submit the run as Reef recorded it",
            run_id=run_id,
        )

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {
            "field": self.field,
            "recorded": self.recorded,
            "logged": self.logged,
        }


class BundleTooLarge(BundleError):
    """A file, a bundle or a request is over its size cap (HTTP 413)."""

    http_status = 413


class RunConflict(BundleError):
    """The server already holds a run with this id and other content (HTTP 409): run ids are
    unique, so one of the two was changed after it was recorded."""

    http_status = 409


class SubmissionRefused(BundleError):
    """The server answered a submission with an error (a 4xx other than 429, or a redirect):
    ``status`` is its HTTP status and ``code`` its error's name (``BundleError``, ...), and
    the message is the server's own. Nothing was queued: sending it again would not help."""

    def __init__(
        self,
        status: int,
        message: str,
        hint: str | None = None,
        *,
        code: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.status, self.code = status, code
        super().__init__(message, hint, run_id=run_id)

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"status": self.status, "code": self.code}
