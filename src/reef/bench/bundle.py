"""A run's bundle: made from a stored run (``build_bundle``), checked before anyone trusts it
(``verify_bundle``).

What a bundle holds (``reef.meta.bundle``): the record, raw latencies and lock included (the
lock the run was made from travels inside the record, ``record.lock``), and LoadGen's own logs
from each folder the record names: ``mlperf_log_summary.txt`` and ``mlperf_log_detail.txt`` of
every performance folder (one per process of a ``--repeat`` run), and of the accuracy folder
its ``mlperf_log_accuracy.json`` too; each compliance audit's folder the record names
(``record.audits[].path``: ``AUDIT_FILES``, where the run's folder still holds them); and
Reef's trace of a traced run (``trace.json.gz``, for the server's run page to offer Perfetto),
which vouches for nothing and is only checked to be a gzip of JSON within the caps. Left out:
LoadGen's ``mlperf_log_trace.json`` (empty unless asked for) and ``record.json`` (the record
is in the bundle already). An accuracy log, an audit's file or a trace over ``MAX_FILE_BYTES``,
or one that would take the bundle over its caps, is left out with a note.

What ``verify_bundle`` checks, in order, refusing with a ``BundleError`` that says which:

* the bundle's and the record's format versions (a newer one is named, never misread);
* the bundle's shape and the record's schema (``reef.meta.run.load_record``); a run id that
  can name a folder;
* every file: a safe relative path (no absolute path, no ``..``, no backslash, letters,
  digits, ``.``, ``_`` and ``-`` only, no duplicate), one of LoadGen's logs in a folder the
  record names (or an audit's file, or the trace), valid base64, within the caps, and the
  sha256 it declares;
* the record's figures against LoadGen's logs, with the very functions that made them
  (``reef.bench.logs``, and ``reef.bench.repeat`` for a run of several processes): the
  scenario, LoadGen's VALID / INVALID, each latency, the throughput, the query and sample
  counts and the early-stopping lines against the detail log; the scenario, the verdict and
  each latency against the summary log; the accuracy's sample count against the accuracy
  log. A figure that differs is a ``FiguresMismatch`` naming it and both values;
* each audit's ``verify_*.txt`` against the record's ``audits[].checks`` (its ``TEST PASS`` or
  ``TEST FAIL`` line), and its detail log is LoadGen's.

A record without performance figures (an accuracy-only run, a run that failed or was
interrupted before LoadGen reported) is accepted with whatever logs it has: there is no
performance figure to vouch for. Its accuracy value cannot be re-derived without the dataset
and the model, so it is not checked; its sample count is, where the accuracy log came along.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.errors import BundleError, BundleTooLarge, FiguresMismatch, ManifestError
from reef.meta.bundle import (
    BUNDLE_FORMAT_VERSION,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_FILES_BYTES,
    MAX_RECORD_BYTES,
    BundleFile,
    RunBundle,
)
from reef.meta.run import FORMAT_VERSION

if TYPE_CHECKING:
    from reef.bench.logs import Detail
    from reef.meta.run import Performance, RunRecord

SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"
ACCURACY = "mlperf_log_accuracy.json"
LOADGEN_LOGS = (SUMMARY, DETAIL, ACCURACY)
# What a compliance audit's folder (``reef bench --audit``: ``RUN/compliance/TESTxx/``, named
# by ``record.audits[].path``) may bring into a bundle, as ``reef.bench.audit`` writes it.
AUDIT_CONFIG = "audit.config"
VERIFY_FILES = {"verify_accuracy.txt": "accuracy", "verify_performance.txt": "performance"}
AUDIT_FILES = (
    AUDIT_CONFIG,
    *VERIFY_FILES,
    f"performance/run_1/{SUMMARY}",
    f"performance/run_1/{DETAIL}",
    f"accuracy/{ACCURACY}",
)
# Names the server writes in a run's folder itself: a bundle may not hold them.
RESERVED = frozenset({"record.json", "bundle.json"})
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_PATH = 1024


@dataclass
class VerifiedRun:
    """A bundle that passed every check: its record, its files (path -> bytes, in the bundle's
    order) and ``digest``, the sha256 of its content (the record and each file's path and
    sha256): two bundles of the same run with the same digest are the same submission."""

    record: RunRecord
    files: dict[str, bytes]
    digest: str
    sha256: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogFolder:
    """A folder of LoadGen's logs the record names: where it is inside the run's folder, and
    what the record says it measured."""

    rel: str  # "performance", "process-2/performance", "accuracy"
    kind: str  # "performance" or "accuracy"
    source: str  # the record's field that names it, for messages
    process: int | None = None  # the process of a --repeat run (1-based)


# --- where a run's logs are --------------------------------------------------------------------


def relative_to_run(run_id: str, path: str) -> str | None:
    """``path`` (a folder of the run, as the record names it) relative to the run's folder
    (``REEF_HOME/runs/<id>``): what follows the last part named after the run; None when no
    part is."""
    parts = [p for p in re.split(r"[\\/]", path) if p]
    if run_id not in parts:
        return None
    index = len(parts) - 1 - parts[::-1].index(run_id)
    return "/".join(parts[index + 1 :])


def log_folders(record: RunRecord) -> list[LogFolder]:
    """The folders of LoadGen's logs the record names, performance first."""
    found: list[LogFolder] = []
    if record.processes:
        for process in record.processes:
            if process.log_dir:
                rel = relative_to_run(record.id, process.log_dir)
                if rel is not None:
                    found.append(
                        LogFolder(
                            rel,
                            "performance",
                            f"processes[{process.index - 1}].log_dir",
                            process.index,
                        )
                    )
    else:
        named = record.artifacts.get("loadgen_performance")
        rel = relative_to_run(record.id, named) if named else None
        if rel is not None:
            found.append(LogFolder(rel, "performance", "artifacts.loadgen_performance"))
    named = record.artifacts.get("loadgen_accuracy")
    rel = relative_to_run(record.id, named) if named else None
    if rel is not None:
        found.append(LogFolder(rel, "accuracy", "artifacts.loadgen_accuracy"))
    return found


def audit_folders(record: RunRecord) -> list[tuple[int, str]]:
    """The compliance audits' folders the record names, relative to the run's folder, with
    the audit's index in ``record.audits``; an audit whose folder is not inside the run's
    folder, or cannot be named in a bundle, is left out."""
    found = []
    for i, audit in enumerate(record.audits):
        rel = relative_to_run(record.id, audit.path)
        if rel and check_path(rel) is None:
            found.append((i, rel))
    return found


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _needs_logs(record: RunRecord, folder: LogFolder) -> bool:
    """Whether the record holds figures that this performance folder's logs must vouch for."""
    if folder.kind != "performance":
        return False
    if folder.process is not None:
        process = record.processes[folder.process - 1]
        return process.latency_ms is not None or process.throughput_qps is not None
    return record.performance is not None or (
        record.loadgen is not None and record.loadgen.result is not None
    )


# --- building ----------------------------------------------------------------------------------


def build_bundle(record: RunRecord, note: Callable[[str], None] | None = None) -> RunBundle:
    """The bundle of a stored run, its logs read from the folders the record names (or, where
    the run's folder has moved, from ``REEF_HOME/runs/<id>``). A log the record's figures need
    that cannot be read is a ``BundleError``: a server would refuse the run without it."""
    from reef import config
    from reef.errors import FileRefused
    from reef.files import read_regular

    files: list[BundleFile] = []
    for folder in log_folders(record):
        names = (SUMMARY, DETAIL, ACCURACY) if folder.kind == "accuracy" else (SUMMARY, DETAIL)
        required = _needs_logs(record, folder)
        for name in names:
            rel = _join(folder.rel, name)
            candidates = [config.runs_dir() / record.id / rel]
            named = _named_path(record, folder)
            if named is not None:
                candidates.insert(0, named / name)
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                if required:
                    raise BundleError(
                        f"LoadGen's log {candidates[0]} is missing: the record's figures "
                        "cannot be vouched for without it",
                        hint="a server accepts a run's figures only with LoadGen's own logs",
                        run_id=record.id,
                    )
                continue
            try:
                data = read_regular(path, "LoadGen log", MAX_FILE_BYTES)
            except FileRefused as exc:
                if required or name != ACCURACY:
                    raise BundleError(exc.message, exc.hint, run_id=record.id) from exc
                if note is not None:
                    note(
                        f"run {record.id}: {rel} left out of the bundle ({exc.reason}); "
                        "its accuracy sample count goes unchecked"
                    )
                continue
            files.append(_bundle_file(rel, data))
    _add_audits(record, files, note)
    _add_trace(record, files, note)
    return RunBundle(
        format=BUNDLE_FORMAT_VERSION, record=record.model_dump(mode="json"), files=files
    )


def _add_audits(
    record: RunRecord, files: list[BundleFile], note: Callable[[str], None] | None
) -> None:
    """The compliance audits' verify files, configs and LoadGen logs, where the run's folder
    still holds them: evidence the server keeps beside the record's ``audits``, checked
    against them (``_check_audits``)."""
    from reef import config

    for i, rel in audit_folders(record):
        named = Path(record.audits[i].path)
        for name in AUDIT_FILES:
            candidates = [named / name, config.runs_dir() / record.id / rel / name]
            path = next((p for p in candidates if p.is_file()), None)
            if path is not None:
                _add_optional(record, files, path, _join(rel, name), "audit file", note)


def _add_optional(
    record: RunRecord,
    files: list[BundleFile],
    path: Path,
    rel: str,
    label: str,
    note: Callable[[str], None] | None,
) -> None:
    """Add the file at ``path`` as ``rel``: one that vouches for no figure, so one over the
    caps is left out, with a note (``label``: what the note calls it), rather than refusing
    the bundle."""
    from reef.errors import FileRefused
    from reef.files import read_regular

    try:
        data = read_regular(path, "file", MAX_FILE_BYTES)
    except FileRefused as exc:
        if note is not None:
            note(f"run {record.id}: {label} {rel} left out of the bundle ({exc.reason})")
        return
    held = sum(len(f.data) // 4 * 3 for f in files)
    if held + len(data) > MAX_FILES_BYTES or len(files) >= MAX_FILES:
        if note is not None:
            note(
                f"run {record.id}: {label} {rel} left out of the bundle (the bundle would hold "
                f"more than {MAX_FILES_BYTES} bytes or {MAX_FILES} files)"
            )
        return
    files.append(_bundle_file(rel, data))


def _bundle_file(rel: str, data: bytes) -> BundleFile:
    return BundleFile(
        path=rel,
        sha256=hashlib.sha256(data).hexdigest(),
        data=base64.b64encode(data).decode("ascii"),
    )


def trace_name(record: RunRecord) -> str | None:
    """Where a traced run's trace file sits in its folder (and in its bundle), relative to
    it; None for a run without a trace file."""
    trace = record.trace
    if trace is None or not trace.path:
        return None
    wanted = Path(trace.path).as_posix()
    marker = f"runs/{record.id}/"
    return wanted.split(marker, 1)[1] if marker in wanted else Path(wanted).name


def _add_trace(
    record: RunRecord, files: list[BundleFile], note: Callable[[str], None] | None
) -> None:
    from reef import config

    rel = trace_name(record)
    if rel is None or check_path(rel) is not None or record.trace is None:
        return
    candidates = [config.runs_dir() / record.id / rel]
    if record.trace.path and Path(record.trace.path).is_absolute():
        candidates.insert(0, Path(record.trace.path))
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return  # the trace went with a cleaned run folder: the record still says it was traced
    _add_optional(record, files, path, rel, "its trace", note)


# A trace is a gzip of JSON: what it unpacks to is read this far, at most, to check it.
_TRACE_UNPACKED_MAX = 1 << 30


def _check_trace(content: bytes, where: str, record: RunRecord) -> None:
    """``content`` is a gzip of a JSON object or array, unpacked within a cap (a gzip bomb is
    refused after reading no more than the cap)."""
    import zlib

    problem = None
    if not content.startswith(b"\x1f\x8b"):
        problem = "not a gzip file"
    else:
        unpack = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        first = b""
        total = 0
        try:
            chunk = unpack.decompress(content, 1 << 20)
            while chunk:
                total += len(chunk)
                if not first:
                    first = chunk.lstrip()[:1]
                if total > _TRACE_UNPACKED_MAX:
                    problem = f"it unpacks to more than {_TRACE_UNPACKED_MAX} bytes"
                    break
                chunk = unpack.decompress(unpack.unconsumed_tail, 1 << 20)
            if problem is None and not unpack.eof:
                problem = "the gzip stream is cut short"
        except zlib.error as exc:
            problem = f"not a valid gzip stream ({exc})"
        if problem is None and first not in (b"{", b"["):
            problem = "it does not unpack to JSON (a Chrome trace)"
    if problem is not None:
        raise BundleError(f"{where}: the run's trace: {problem}", run_id=record.id)


def _named_path(record: RunRecord, folder: LogFolder) -> Path | None:
    if folder.process is not None:
        named = record.processes[folder.process - 1].log_dir
    else:
        named = record.artifacts.get(f"loadgen_{folder.kind}")
    return Path(named) if named else None


# --- verifying ---------------------------------------------------------------------------------


def verify_bundle(bundle: RunBundle | dict[str, Any]) -> VerifiedRun:
    """Check ``bundle`` (as received: a dict, or a ``RunBundle``) as the module's docstring
    says; the checked run, or a ``BundleError`` (``FiguresMismatch``, ``BundleTooLarge``)."""
    data = bundle.model_dump() if isinstance(bundle, RunBundle) else bundle
    if not isinstance(data, dict):
        raise BundleError(f"a bundle is a JSON object, not {type(data).__name__}")
    record_data = data.get("record")
    run_id = _claimed_id(record_data)
    _check_versions(data, record_data, run_id)
    from pydantic import ValidationError

    from reef.meta.load import problems_from

    try:
        parsed = RunBundle.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(str(p) for p in problems_from(exc, "bundle"))
        raise BundleError(problems, run_id=run_id) from exc
    size = len(json.dumps(parsed.record, separators=(",", ":")).encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        raise BundleTooLarge(
            f"the record is {size} bytes, more than the {MAX_RECORD_BYTES} a bundle's may hold",
            run_id=run_id,
        )
    from reef.meta.run import load_record

    try:
        record = load_record(dict(parsed.record), "record")
    except ManifestError as exc:
        raise BundleError(f"not a valid run record: {exc.message}", run_id=run_id) from exc
    if not _RUN_ID.fullmatch(record.id) or record.id in (".", ".."):
        raise BundleError(
            f"record id {record.id!r} cannot name a run: letters, digits, '.', '_' and '-' "
            "only, at most 128"
        )
    files, sha = _decode_files(parsed.files, record)
    _check_figures(record, files)
    _check_audits(record, files)
    return VerifiedRun(record, files, _digest(record, sha), sha)


def _claimed_id(record_data: object) -> str | None:
    if isinstance(record_data, dict):
        claimed = record_data.get("id")
        if isinstance(claimed, str) and _RUN_ID.fullmatch(claimed):
            return claimed
    return None


def _check_versions(data: dict[str, Any], record_data: object, run_id: str | None) -> None:
    version = data.get("format")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"bundle format {version!r} is not a format version", run_id=run_id)
    if version > BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"bundle format {version} is newer than this Reef understands "
            f"({BUNDLE_FORMAT_VERSION})",
            hint="upgrade Reef (the server's, where a server refused it)",
            run_id=run_id,
        )
    if isinstance(record_data, dict):
        record_version = record_data.get("format_version", 1)
        if isinstance(record_version, int) and record_version > FORMAT_VERSION:
            raise BundleError(
                f"record format_version {record_version} is newer than this Reef understands "
                f"({FORMAT_VERSION})",
                hint="upgrade Reef (the server's, where a server refused it)",
                run_id=run_id,
            )


def check_path(path: str) -> str | None:
    """Why ``path`` cannot name a file inside a run's folder; None when it can."""
    if not path:
        return "is empty"
    if len(path) > _MAX_PATH:
        return f"is longer than {_MAX_PATH} characters"
    if "\\" in path:
        return "holds a backslash: paths are POSIX, relative to the run's folder"
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "is absolute: paths are relative to the run's folder"
    parts = path.split("/")
    if any(p == ".." for p in parts):
        return "leaves the run's folder (..)"
    for part in parts:
        if not _PART.fullmatch(part):
            return (
                f"part {part!r} is not a plain name: letters, digits, '.', '_' and '-' only, "
                "not starting with '.'"
            )
    return None


def _decode_files(
    files: list[BundleFile], record: RunRecord
) -> tuple[dict[str, bytes], dict[str, str]]:
    if len(files) > MAX_FILES:
        raise BundleTooLarge(
            f"{len(files)} files, more than the {MAX_FILES} a bundle may hold", run_id=record.id
        )
    allowed = {
        _join(folder.rel, name)
        for folder in log_folders(record)
        for name in ((SUMMARY, DETAIL, ACCURACY) if folder.kind == "accuracy" else LOADGEN_LOGS)
    }
    allowed |= {_join(rel, name) for _, rel in audit_folders(record) for name in AUDIT_FILES}
    trace = trace_name(record)
    if trace is not None:
        allowed.add(trace)
    decoded: dict[str, bytes] = {}
    sha: dict[str, str] = {}
    folded: set[str] = set()
    total = 0
    for i, item in enumerate(files):
        where = f"files[{i}] {item.path!r}"
        why = check_path(item.path)
        if why is not None:
            raise BundleError(f"{where}: the path {why}", run_id=record.id)
        if item.path.casefold() in folded:
            raise BundleError(f"{where}: the path is in the bundle twice", run_id=record.id)
        folded.add(item.path.casefold())
        if item.path in RESERVED:
            raise BundleError(f"{where}: the server writes this file itself", run_id=record.id)
        if item.path not in allowed:
            raise BundleError(
                f"{where}: not one of LoadGen's logs in a folder the record names, nor an "
                "audit's file, nor the run's trace "
                f"({', '.join(sorted(allowed)) or 'the record names none'})",
                run_id=record.id,
            )
        if not _SHA256.fullmatch(item.sha256):
            raise BundleError(
                f"{where}: sha256 {item.sha256[:80]!r} is not 64 lowercase hex digits",
                run_id=record.id,
            )
        if len(item.data) // 4 * 3 > MAX_FILE_BYTES + 2:
            raise BundleTooLarge(
                f"{where}: more than the {MAX_FILE_BYTES} bytes a file may hold",
                run_id=record.id,
            )
        try:
            content = base64.b64decode(item.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BundleError(
                f"{where}: data is not valid base64 ({exc})", run_id=record.id
            ) from exc
        if len(content) > MAX_FILE_BYTES:
            raise BundleTooLarge(
                f"{where}: {len(content)} bytes, more than the {MAX_FILE_BYTES} a file may hold",
                run_id=record.id,
            )
        total += len(content)
        if total > MAX_FILES_BYTES:
            raise BundleTooLarge(
                f"the files hold more than the {MAX_FILES_BYTES} bytes a bundle may hold",
                run_id=record.id,
            )
        actual = hashlib.sha256(content).hexdigest()
        if actual != item.sha256:
            raise BundleError(
                f"{where}: sha256 mismatch: the bundle declares {item.sha256}, the file has "
                f"{actual}",
                hint="the file changed after the bundle was made; make the bundle again",
                run_id=record.id,
            )
        if item.path == trace:
            _check_trace(content, where, record)
        decoded[item.path] = content
        sha[item.path] = actual
    return decoded, sha


def _digest(record: RunRecord, sha: dict[str, str]) -> str:
    content = {"record": record.model_dump(mode="json"), "files": sorted(sha.items())}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the figures -------------------------------------------------------------------------------


def _read_detail(content: bytes) -> Detail:
    """LoadGen's detail log parsed as the runner parses the file (``logs.read_detail``)."""
    from reef.bench import logs

    # Lines as reading the file splits them (universal newlines), not str.splitlines's.
    text = io.StringIO(content.decode("utf-8", errors="replace"), newline=None)
    return logs.parse_detail(text)


class _Checker:
    def __init__(self, record: RunRecord, files: dict[str, bytes]) -> None:
        self.record, self.files = record, files

    def mismatch(self, field: str, recorded: str, logged: str, log: str) -> FiguresMismatch:
        return FiguresMismatch(self.record.id, field, recorded, logged, log)

    def same(self, field: str, recorded: Any, logged: Any, log: str, unit: str = "") -> None:
        if _equal(recorded, logged):
            return
        raise self.mismatch(field, _words(recorded, unit), _words(logged, unit), log)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        x, y = float(a), float(b)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _words(value: Any, unit: str) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return json.dumps(value)
    text = repr(value) if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


_LATENCIES = ("min", "mean", "p50", "p90", "p95", "p99", "max")
_SUMMARY_LATENCY = {
    "min": "Min latency (ns)",
    "max": "Max latency (ns)",
    "mean": "Mean latency (ns)",
    "p50": "50.00 percentile latency (ns)",
    "p90": "90.00 percentile latency (ns)",
    "p95": "95.00 percentile latency (ns)",
    "p99": "99.00 percentile latency (ns)",
}


def _check_audits(record: RunRecord, files: dict[str, bytes]) -> None:
    """Each audit's verify files in the bundle say what the record's ``audits`` say: a
    ``TEST PASS`` / ``TEST FAIL`` line agreeing with the check it verified; each audit's
    detail log is LoadGen's."""
    for i, rel in audit_folders(record):
        audit = record.audits[i]
        checks = {c.name: c.passed for c in audit.checks}
        for name, check in VERIFY_FILES.items():
            where = _join(rel, name)
            if where not in files:
                continue
            logged = _verify_verdict(files[where])
            field = f"audits[{i}].checks.{check}"
            if logged is None:
                raise BundleError(
                    f"{where}: no TEST PASS or TEST FAIL line: not a verification",
                    run_id=record.id,
                )
            if check not in checks:
                raise FiguresMismatch(record.id, field, "no such check", _passed(logged), where)
            if checks[check] != logged:
                raise FiguresMismatch(
                    record.id, field, _passed(checks[check]), _passed(logged), where
                )
        detail = _join(rel, f"performance/run_1/{DETAIL}")
        if detail in files and not _read_detail(files[detail]).values:
            raise BundleError(f"{detail}: not a LoadGen detail log", run_id=record.id)


def _verify_verdict(content: bytes) -> bool | None:
    """A verify file's verdict: its last line starting ``TEST PASS`` (True) or ``TEST FAIL``
    (False); None without one."""
    verdict = None
    for line in content.decode("utf-8", errors="replace").splitlines():
        text = line.strip()
        if text.startswith("TEST PASS"):
            verdict = True
        elif text.startswith("TEST FAIL"):
            verdict = False
    return verdict


def _passed(value: bool) -> str:
    return "TEST PASS" if value else "TEST FAIL"


def _check_figures(record: RunRecord, files: dict[str, bytes]) -> None:
    from reef.bench import logs

    check = _Checker(record, files)
    scenario = record.settings.scenario
    # Per process of a --repeat run (1-based): what its logs say; None without logs.
    derived: dict[int, Performance | None] = {}
    results: dict[int, str | None] = {}
    perf_folders = [f for f in log_folders(record) if f.kind == "performance"]
    rels = [f.rel for f in perf_folders]
    if len(set(rels)) != len(rels):
        raise BundleError("two processes name the same folder of LoadGen's logs", run_id=record.id)
    has_figures = record.performance is not None or (
        record.loadgen is not None and record.loadgen.result is not None
    )
    if has_figures and not perf_folders:
        raise BundleError(
            "the record holds performance figures but names no folder of LoadGen's logs "
            "(artifacts.loadgen_performance) to vouch for them",
            run_id=record.id,
        )
    for folder in perf_folders:
        required = _needs_logs(record, folder)
        detail_path, summary_path = _join(folder.rel, DETAIL), _join(folder.rel, SUMMARY)
        if detail_path not in files or summary_path not in files:
            if required:
                missing = detail_path if detail_path not in files else summary_path
                raise BundleError(
                    f"LoadGen's log {missing} is not in the bundle: the record's figures "
                    "cannot be vouched for without it",
                    run_id=record.id,
                )
            continue
        log = f"LoadGen's detail log ({detail_path})"
        detail = _read_detail(files[detail_path])
        check.same("settings.scenario", scenario, detail.values.get("effective_scenario"), log)
        test_mode = detail.values.get("effective_test_mode")
        if test_mode not in (None, "PerformanceOnly"):
            raise check.mismatch(folder.source, "a performance run", f"test mode {test_mode}", log)
        result, reasons = logs.verdict(detail)
        perf = logs.performance(detail, scenario)
        if folder.process is not None:
            derived[folder.process], results[folder.process] = perf, result
            _check_process(check, folder.process, perf, log)
        else:
            _check_performance(check, "performance", record.performance, perf, log)
            loadgen = record.loadgen
            check.same("loadgen.result", loadgen.result if loadgen else None, result, log)
            if loadgen is not None and loadgen.reasons != reasons:
                raise check.mismatch(
                    "loadgen.reasons", _words(loadgen.reasons, ""), _words(reasons, ""), log
                )
        _check_summary(check, folder, files[summary_path], detail, result)
    if record.processes:
        from reef.bench.repeat import _performance

        indexes = range(1, len(record.processes) + 1)
        merged = _performance([derived.get(i) for i in indexes])
        log = "LoadGen's detail logs of its processes (merged as --repeat merges them)"
        _check_performance(check, "performance", record.performance, merged, log)
        found = [results.get(i) for i in indexes]
        merged_result = "INVALID" if "INVALID" in found else None if None in found else "VALID"
        recorded = record.loadgen.result if record.loadgen is not None else None
        check.same("loadgen.result", recorded, merged_result, log)
    _check_accuracy(check, record, files)


def _check_performance(
    check: _Checker, name: str, recorded: Performance | None, logged: Performance | None, log: str
) -> None:
    if recorded is None or logged is None:
        if recorded is None and logged is None:
            return
        raise check.mismatch(
            name,
            "no figures" if recorded is None else "figures",
            "no figures" if logged is None else "figures",
            log,
        )
    for key in _LATENCIES:
        check.same(
            f"{name}.latency_ms.{key}",
            getattr(recorded.latency_ms, key),
            getattr(logged.latency_ms, key),
            log,
            "ms",
        )
    check.same(f"{name}.throughput_qps", recorded.throughput_qps, logged.throughput_qps, log,
               "samples/s")  # fmt: skip
    check.same(f"{name}.queries", recorded.queries, logged.queries, log)
    check.same(f"{name}.samples", recorded.samples, logged.samples, log)
    # Fields added to format 1 later: a record from before them holds none, and is not
    # refused for it; one that holds them is held to them.
    if recorded.duration_s is not None:
        check.same(f"{name}.duration_s", recorded.duration_s, logged.duration_s, log, "s")
    if recorded.early_stopping:
        check.same(f"{name}.early_stopping", recorded.early_stopping, logged.early_stopping, log)


def _check_process(check: _Checker, index: int, perf: Performance | None, log: str) -> None:
    process = check.record.processes[index - 1]
    name = f"processes[{index - 1}]"
    if perf is None:
        if process.latency_ms is not None:
            raise check.mismatch(f"{name}.latency_ms", "figures", "no figures", log)
        return
    if process.latency_ms is None:
        raise check.mismatch(f"{name}.latency_ms", "no figures", "figures", log)
    for key in _LATENCIES:
        check.same(f"{name}.latency_ms.{key}", getattr(process.latency_ms, key),
                   getattr(perf.latency_ms, key), log, "ms")  # fmt: skip
    check.same(f"{name}.throughput_qps", process.throughput_qps, perf.throughput_qps, log,
               "samples/s")  # fmt: skip
    check.same(f"{name}.queries", process.queries, perf.queries, log)


def _summary_values(content: bytes) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in content.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in values:
            values[key.strip()] = value.strip()
    return values


def _query_key(key: str) -> str:
    """The detail log's key of the per-query latency the summary prints for MultiStream."""
    if key in ("min", "max", "mean"):
        return f"result_{key}_query_latency_ns"
    return f"result_{key[1:]}.00_percentile_per_query_latency_ns"


def _check_summary(
    check: _Checker, folder: LogFolder, content: bytes, detail: Detail, result: str | None
) -> None:
    """The summary log against the record's figures (which match the detail log by now).
    For MultiStream the summary prints each query's latency, the record each sample's: there
    the summary is held to the detail log's per-query figures instead."""
    summary = _summary_values(content)
    log = f"LoadGen's summary log ({_join(folder.rel, SUMMARY)})"
    check.same("settings.scenario", check.record.settings.scenario, summary.get("Scenario"), log)
    field = "loadgen.result" if folder.process is None else f"processes[{folder.process - 1}]"
    check.same(field, result, summary.get("Result is"), log)
    if folder.process is not None:
        latency = check.record.processes[folder.process - 1].latency_ms
        name = f"processes[{folder.process - 1}].latency_ms"
    else:
        perf = check.record.performance
        latency = perf.latency_ms if perf is not None else None
        name = "performance.latency_ms"
    if latency is None:
        return
    per_query = check.record.settings.scenario == "MultiStream"
    for key, label in _SUMMARY_LATENCY.items():
        text = summary.get(label)
        try:
            logged = int(text or "") / 1e6
        except ValueError:
            raise check.mismatch(
                f"{name}.{key}", "a figure", repr(text) if text else "nothing", log
            ) from None
        if per_query:
            value = detail.values.get(_query_key(key))
            against = float(value) / 1e6 if isinstance(value, int | float) else None
            if against is None or abs(against - logged) > 1.5e-6:
                raise BundleError(
                    f"LoadGen's logs disagree: {label} is {text} in {log}, "
                    f"{value} in its detail log ({_query_key(key)})",
                    run_id=check.record.id,
                )
            continue
        recorded = getattr(latency, key)
        # The summary prints whole nanoseconds.
        if abs(recorded - logged) > 1.5e-6:
            raise check.mismatch(f"{name}.{key}", _words(recorded, "ms"), _words(logged, "ms"), log)


def _check_accuracy(check: _Checker, record: RunRecord, files: dict[str, bytes]) -> None:
    accuracy = record.accuracy
    folder = next((f for f in log_folders(record) if f.kind == "accuracy"), None)
    if accuracy is None or folder is None or accuracy.value is None:
        return
    path = _join(folder.rel, ACCURACY)
    if path not in files:
        return
    log = f"LoadGen's accuracy log ({path})"
    try:
        entries = json.loads(files[path].decode("utf-8") or "[]")
        answered = {int(e["qsl_idx"]) for e in entries}
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: not LoadGen's accuracy log ({exc})", run_id=record.id) from exc
    check.same("accuracy.samples", accuracy.samples, len(answered), log)
