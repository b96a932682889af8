"""Submitting runs to a Reef server, and accepting them there.

The wire: ``POST {server}/api/v1/runs``, ``Content-Type: application/json``,
``Authorization: Bearer TOKEN``, body ``{"runs": [bundle, ...]}`` (``reef.meta.bundle``).
The server answers 200 with ``{"accepted": [{"id": RUN_ID, "created": true|false}]}``
(``created: false``: that run was stored already, with the same content), or an error
``{"error": {"code", "message", "hint"}}``: 422 for a bundle that fails its checks, 409 for a
run id stored with other content, 413 for an upload over the caps, 401/403 for a token.

Client side (``submit``, ``submit_pending``): the standard library's ``urllib``, runs packed
into requests of about ``REQUEST_TARGET_BYTES``. A server that cannot be reached (refused, no
such host, a timeout, a 5xx or 429 answer, an answer that is not the protocol's) loses
nothing: each bundle is kept in ``REEF_HOME/outbox/<run_id>.json`` until ``submit_pending``
sends it and the server acknowledges it. A 4xx is the server's refusal: reported with its
message, never queued.

Server side (``accept_bundles``): every bundle is checked (``reef.bench.bundle``) before
anything is stored, so a request is accepted whole or not at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from reef.errors import BundleError, BundleTooLarge, RunConflict, SubmissionRefused

if TYPE_CHECKING:
    from reef.bench.bundle import VerifiedRun
    from reef.bench.progress import Reporter
    from reef.meta.run import RunRecord
    from reef.results.store import Store, Transaction

TOKEN_ENV = "REEF_TOKEN"
RUNS_PATH = "/api/v1/runs"
OUTBOX = "outbox"
OUTBOX_FORMAT = 1
# The most runs one request may carry; the server refuses more with 413.
MAX_REQUEST_RUNS = 500
# Seconds to wait for a server's answer: an upload of tens of MiB on a slow link included.
TIMEOUT_S = 120.0
# A token file holds one line.
TOKEN_MAX_BYTES = 64 << 10


class Accepted(BaseModel):
    """One run a server took: ``created`` is False when it held the same run already."""

    id: str
    created: bool


SubmitResult = Literal["accepted", "already stored", "queued", "refused"]


class SubmittedRun(BaseModel):
    id: str
    result: SubmitResult
    reason: str | None = None  # queued: why it was not sent; refused: the server's message
    outbox: str | None = None  # the file that keeps it, while it waits in the outbox


class SubmitReport(BaseModel):
    """What became of each run: accepted (stored now), already stored, queued in the outbox
    (the server could not be reached) or refused by the server (its message)."""

    server: str  # the server(s), a password in the URL hidden
    runs: list[SubmittedRun]
    accepted: int = 0
    already_stored: int = 0
    queued: int = 0
    refused: int = 0

    def count(self) -> SubmitReport:
        for key, result in (
            ("accepted", "accepted"),
            ("already_stored", "already stored"),
            ("queued", "queued"),
            ("refused", "refused"),
        ):
            setattr(self, key, sum(1 for run in self.runs if run.result == result))
        return self


# --- server side -------------------------------------------------------------------------------

BUNDLE_FILE = "bundle.json"
RECORD_FILE = "record.json"
# A submission writes each run's folder aside (``.incoming-*``) and moves a folder it replaces
# aside (``.replaced-*``) for as long as its request lasts; one older than this was left by a
# server that was killed (kill -9, a power cut) and is removed (``sweep_leftovers``).
STALE_AFTER_S = 600.0
LEFTOVER_PREFIXES = (".incoming-", ".replaced-")
_SWEPT: set[Path] = set()
_SWEPT_LOCK = threading.Lock()
# Bundles a process checks at once. Checking is CPU work under the interpreter's lock: more
# threads at it check no more a second, and each would make every other thread (a read, a
# submission between two round trips of its transaction, which holds the database's write
# lock) wait its turn behind them.
_CHECKING = threading.BoundedSemaphore(2)
SUBMIT_ACTION = "runs.submit"  # the audit log's word for a stored run


def accept_bundles(
    bundles: list[dict[str, Any]],
    *,
    db_url: str | None,
    files_root: Path,
    submitter: str | None = None,
    token_id: str | None = None,
    registry_root: Path | None = None,
    store: Store | None = None,
    client: str | None = None,
) -> list[Accepted]:
    """Check every bundle, then store each new run: its record in ``Store(db_url)`` (or in
    ``store``, an open store, which the server keeps for its lifetime) and its
    files under ``files_root/<run_id>/`` (with ``record.json`` and ``bundle.json``, which says
    what was received, when and from whom).

    All or nothing: a bundle that fails its checks (``BundleError``, ``FiguresMismatch``,
    ``BundleTooLarge``) or a run id already stored with other content (``RunConflict``)
    stores nothing of the request. A run stored already with the same content is
    ``created=False`` and left as it is.

    Components a record's lock pins are checked against the server's registry
    (``registry_root``) where it publishes them (``ComponentMismatch``).

    The costly part (checking, writing each run's files aside) runs beside other requests;
    then one write transaction, which writers take in turn, stores the new runs, moves their
    folders into place, records each as submitted by ``token_id`` and judges it against other
    tokens' runs of its configuration (``reef.api.verification``), and writes the audit log's
    entry (``submitter`` from ``client``). A server killed at any point leaves each run whole
    or absent: a folder moved into place for a transaction that never committed belongs to no
    stored run, and is replaced when the run is submitted again.
    """
    from reef.bench.bundle import verify_bundle

    if not isinstance(bundles, list):
        raise BundleError(f"runs: expected a list of bundles, got {type(bundles).__name__}")
    if len(bundles) > MAX_REQUEST_RUNS:
        raise BundleTooLarge(
            f"{len(bundles)} runs in one request, more than {MAX_REQUEST_RUNS}",
            hint="send them in several requests (reef submit does)",
        )
    verified: dict[str, VerifiedRun] = {}
    order: list[str] = []
    with _CHECKING:
        for index, bundle in enumerate(bundles):
            try:
                run = verify_bundle(bundle)
            except BundleError as exc:
                if exc.run_id is None:
                    exc.message = f"runs[{index}]: {exc.message}"
                    exc.args = (exc.message,)
                raise
            run_id = run.record.id
            order.append(run_id)
            earlier = verified.get(run_id)
            if earlier is not None and earlier.digest != run.digest:
                raise RunConflict(
                    "the request holds two different bundles of this run", run_id=run_id
                )
            verified[run_id] = run
    from reef.api.verification import check_registry_components

    check_registry_components(
        (run.record for run in verified.values()), registry_root=registry_root
    )
    root = Path(files_root)
    root.mkdir(parents=True, exist_ok=True)
    with _SWEPT_LOCK:
        if root not in _SWEPT:  # once a process: what a killed server left
            _SWEPT.add(root)
            sweep_leftovers(root)
    from reef.results.store import Store

    # An open store is used as it is: a store opened for each request would connect and
    # check the schema each time (on PostgreSQL, most of a submission's time).
    opened = contextlib.nullcontext(store) if store is not None else Store(db_url)
    staged: dict[str, Path] = {}
    installed: list[Path] = []  # folders moved into place for runs this request creates
    try:
        with opened as db:
            db.require_writable("store submitted runs")
            # Written before the transaction: writing files is most of a request's time, and
            # requests write theirs side by side; the transaction only renames them.
            for run in verified.values():
                staged[run.record.id] = _stage(root, run, submitter)
            with db.writing() as tx:
                created = _store_new(tx, root, verified, staged, installed)
                _judge_and_audit(tx, verified, created, token_id, submitter, client)
        installed.clear()  # committed
    finally:
        for folder in installed:  # the transaction failed: no stored run owns them
            _remove_tree(folder)
        for path in staged.values():
            _remove_tree(path)
    return [Accepted(id=run_id, created=created[run_id]) for run_id in dict.fromkeys(order)]


def _store_new(
    tx: Transaction,
    root: Path,
    verified: dict[str, VerifiedRun],
    staged: dict[str, Path],
    installed: list[Path],
) -> dict[str, bool]:
    """Inside ``tx``: which runs are new (True) or stored already with the same content
    (False; ``RunConflict`` for other content); the new ones inserted, and the staged folder
    of each new run, or of a stored one whose files are missing, moved into place (the
    folders of new runs appended to ``installed``)."""
    present = tx.stored(verified)
    created: dict[str, bool] = {}
    for run_id, run in verified.items():
        folder = root / run_id
        if run_id in present:
            if not _same_as_stored(tx, folder, run):
                raise RunConflict(
                    "the server holds this run with other content",
                    hint="a run's id is unique: a run changed after it was recorded "
                    "cannot be submitted again under its id",
                    run_id=run_id,
                )
            created[run_id] = False
        else:
            created[run_id] = True
    tx.add_many((run.record for run in verified.values() if created[run.record.id]), new=True)
    for run_id, path in list(staged.items()):
        folder = root / run_id
        if created[run_id] or not (folder / BUNDLE_FILE).is_file():
            _install(path, folder)
            del staged[run_id]
            if created[run_id]:
                installed.append(folder)
    return created


def _judge_and_audit(
    tx: Transaction,
    verified: dict[str, VerifiedRun],
    created: dict[str, bool],
    token_id: str | None,
    submitter: str | None,
    client: str | None,
) -> None:
    from reef.api.verification import verify_submitted

    new = [run_id for run_id in verified if created[run_id]]
    if not new:
        return
    verify_submitted(
        tx,
        new,
        token_id=token_id,
        records={run_id: verified[run_id].record for run_id in new},
    )
    from reef.results.tokens import AuditEntry, add_audit

    now = datetime.now(UTC).replace(tzinfo=None)
    actor = submitter or "anonymous"
    add_audit(tx, [AuditEntry(now, actor, SUBMIT_ACTION, run_id, client) for run_id in new])


def _same_as_stored(db: Transaction, folder: Path, run: VerifiedRun) -> bool:
    """Whether ``run`` is what the server holds under its id: the digest its folder's
    ``bundle.json`` keeps, else (a run stored without its files) the stored record."""
    kept = folder / BUNDLE_FILE
    if kept.is_file():
        try:
            digest = json.loads(kept.read_text(encoding="utf-8")).get("digest")
        except (OSError, ValueError, AttributeError):
            digest = None
        if isinstance(digest, str):
            return digest == run.digest
    stored = db.get(run.record.id, with_latencies=True)
    return _canonical(stored) == _canonical(run.record)


def _canonical(record: RunRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _stage(root: Path, run: VerifiedRun, submitter: str | None) -> Path:
    """Write ``run``'s folder under a temporary name inside ``root``."""
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        base = staging.resolve()
        for rel, data in run.files.items():
            path = staging / rel
            if not path.resolve().is_relative_to(base):  # verify_bundle refused it already
                raise BundleError(f"{rel}: leaves the run's folder", run_id=run.record.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_new(path, data)
        _write_new(staging / RECORD_FILE, run.record.model_dump_json().encode("utf-8"))
        received = {
            "bundle_format": 1,
            "digest": run.digest,
            "files": run.sha256,
            "submitter": submitter,
            "received_at": datetime.now(UTC).isoformat(),
        }
        _write_new(staging / BUNDLE_FILE, json.dumps(received, indent=2).encode("utf-8"))
        os.chmod(staging, 0o755 & ~_umask())
    except BaseException:
        _remove_tree(staging)
        raise
    return staging


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_new(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _install(staged: Path, folder: Path) -> None:
    """Rename ``staged`` to ``folder``; a folder already there (files of a run the database
    lost, or written by a concurrent request) is moved aside first, then removed."""
    try:
        os.rename(staged, folder)
        return
    except OSError:
        if not folder.exists():
            _remove_tree(staged)
            raise
    import tempfile

    aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=folder.parent))
    os.rename(folder, aside / "old")
    os.rename(staged, folder)
    _remove_tree(aside)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def sweep_leftovers(
    root: Path, *, older_than: float = STALE_AFTER_S, now: float | None = None
) -> list[Path]:
    """Remove the folders a killed server left in ``root`` (a server's files): those a
    submission was writing (``.incoming-*``) or moving aside (``.replaced-*``) when it died,
    untouched for ``older_than`` seconds. Never a run's folder, and not a younger one, which
    another server process sharing ``root`` may be writing now. What it removed."""
    import time

    moment = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(LEFTOVER_PREFIXES):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if moment - entry.stat(follow_symlinks=False).st_mtime < older_than:
                continue
        except OSError:
            continue
        _remove_tree(Path(entry.path))
        removed.append(Path(entry.path))
    return removed


# --- client side -------------------------------------------------------------------------------


def server_url(server: str | None) -> str:
    """The server to submit to: ``server``, else the ``server_url`` setting
    (``REEF_SERVER_URL`` or the config file); checked to be an http(s) URL."""
    from reef import config

    url = server or config.get("server_url")
    if not url:
        raise BundleError(
            "no server to submit to",
            hint="give --server URL, or set REEF_SERVER_URL (or server_url in the config file)",
        )
    check_server_url(url)
    return str(url).rstrip("/")


def check_server_url(url: str) -> None:
    """A ``BundleError`` unless ``url`` is an http(s) URL with a host."""
    from urllib.parse import urlsplit

    from reef.config import redact_url

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise BundleError(f"server URL {redact_url(url)!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BundleError(
            f"server URL {redact_url(url)!r} is not an http(s) URL",
            hint="e.g. https://reef.example.org or http://127.0.0.1:8000",
        )


def server_token(token: str | None = None) -> str | None:
    """The token to send: ``token``, else ``REEF_TOKEN``, else the first line of the file
    the ``token_file`` setting names (``REEF_TOKEN_FILE`` or the config file); None: none."""
    if token:
        return token
    explicit = os.environ.get(TOKEN_ENV, "").strip()
    if explicit:
        return explicit
    from reef import config
    from reef.errors import ConfigError, FileRefused
    from reef.files import read_regular

    named = config.get("token_file")
    if not named:
        return None
    path = Path(str(named)).expanduser()
    try:
        text = read_regular(path, "token file", TOKEN_MAX_BYTES).decode("utf-8")
    except FileRefused as exc:
        raise ConfigError(f"token_file {path}: {exc.reason}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"token_file {path}: is not UTF-8 text") from exc
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else None


def outbox_dir() -> Path:
    """Where bundles wait for a server: ``REEF_HOME/outbox``."""
    from reef import config

    return config.reef_home() / OUTBOX


def submit(
    runs: list[str],
    *,
    server: str | None,
    token: str | None,
    reporter: Reporter | None = None,
) -> SubmitReport:
    """Send stored runs (ids or unique prefixes) to ``server`` (default: the ``server_url``
    setting), with ``token`` (default: ``REEF_TOKEN``, else the ``token_file`` setting's).

    Every run's bundle is made and checked here first, as the server will check it: a run
    that would be refused (its logs gone or changed) is a ``BundleError`` and nothing is
    sent. Runs the server cannot take now are queued in the outbox; ``submit_pending``
    sends them later. A bad token (401, 403) is a ``SubmissionRefused``; other refusals are
    reported run by run.
    """
    from reef.bench.bundle import build_bundle, verify_bundle
    from reef.meta.bundle import MAX_REQUEST_BYTES
    from reef.results.store import Store

    url = server_url(server)
    secret = server_token(token)
    note = reporter.note if reporter is not None else None
    with Store() as db:
        records = [db.find(ref, with_latencies=True) for ref in dict.fromkeys(runs)]
    items: list[_Item] = []
    for record in dict((r.id, r) for r in records).values():
        bundle = build_bundle(record, note).model_dump(mode="json")
        verify_bundle(bundle)
        text = json.dumps(bundle, separators=(",", ":"))
        if len(text) + 16 > MAX_REQUEST_BYTES:
            raise BundleTooLarge(
                f"its bundle is {len(text)} bytes, more than the {MAX_REQUEST_BYTES} a request "
                "may carry",
                run_id=record.id,
            )
        items.append(_Item(record.id, text, url))
    report = SubmitReport(server=_shown(url), runs=_send(url, secret, items, note))
    return report.count()


def submit_pending(
    *, server: str | None = None, token: str | None = None, reporter: Reporter | None = None
) -> SubmitReport:
    """Send every bundle waiting in the outbox, each to the server it was queued for (or to
    ``server`` where given), removing each file once its server acknowledged it. A file that
    is not a queued bundle is a ``BundleError`` naming it, and nothing is sent."""
    from reef.files import read_regular
    from reef.meta.bundle import MAX_REQUEST_BYTES

    if server is not None:
        check_server_url(server)
    secret = server_token(token)
    note = reporter.note if reporter is not None else None
    folder = outbox_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    items: list[_Item] = []
    for path in files:
        try:
            envelope = json.loads(read_regular(path, "queued bundle", MAX_REQUEST_BYTES))
            bundle, target = envelope["bundle"], server or envelope["server"]
            run_id = bundle["record"]["id"]
            if not isinstance(run_id, str) or not isinstance(target, str):
                raise TypeError("the run id and the server are strings")
        except Exception as exc:
            raise BundleError(
                f"{path}: not a queued bundle ({type(exc).__name__}: {exc})",
                hint="delete the file; `reef submit RUN` queues the run again if it fails",
            ) from exc
        check_server_url(target)
        items.append(_Item(run_id, json.dumps(bundle, separators=(",", ":")), target, path))
    results: list[SubmittedRun] = []
    servers = list(dict.fromkeys(item.server for item in items))
    for target in servers:
        group = [item for item in items if item.server == target]
        results.extend(_send(target.rstrip("/"), secret, group, note))
    shown = ", ".join(_shown(s) for s in servers) or _shown(server or "")
    return SubmitReport(server=shown, runs=results).count()


# --- sending -----------------------------------------------------------------------------------


class _Item:
    """One bundle to send: its run id, its JSON, its server and its outbox file, if any."""

    def __init__(self, run_id: str, text: str, server: str, outbox: Path | None = None) -> None:
        self.run_id, self.text, self.server, self.outbox = run_id, text, server, outbox


class _Unreachable(Exception):
    """The server cannot take the request now: queue it."""


class _Refused(Exception):
    def __init__(self, status: int, code: str | None, message: str, hint: str | None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint


def _shown(url: str) -> str:
    from reef.config import redact_url

    return redact_url(url)


def _chunks(items: list[_Item]) -> list[list[_Item]]:
    from reef.meta.bundle import REQUEST_MAX_RUNS, REQUEST_TARGET_BYTES

    chunks: list[list[_Item]] = []
    current: list[_Item] = []
    size = 0
    for item in items:
        if current and (
            size + len(item.text) > REQUEST_TARGET_BYTES or len(current) >= REQUEST_MAX_RUNS
        ):
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item.text) + 1
    if current:
        chunks.append(current)
    return chunks


def _send(
    url: str, token: str | None, items: list[_Item], note: Callable[[str], None] | None
) -> list[SubmittedRun]:
    """Send ``items`` to ``url`` in requests of bounded size; what became of each, in order."""
    done: dict[str, SubmittedRun] = {}
    pending = _chunks(items)
    down: str | None = None
    while pending:
        chunk = pending.pop(0)
        if down is None:
            if note is not None:
                note(f"sending {len(chunk)} run(s) to {_shown(url)}")
            try:
                answer = _post(url, token, chunk)
            except _Unreachable as exc:
                down = str(exc)
            except _Refused as exc:
                if exc.status in (401, 403):
                    raise SubmissionRefused(
                        exc.status,
                        f"{_shown(url)} refused the token: {exc.message}",
                        exc.hint
                        or "set REEF_TOKEN (or token_file in the config file) to a token "
                        "the server issued",
                        code=exc.code,
                    ) from None
                if len(chunk) > 1:
                    pending[:0] = [[item] for item in chunk]  # find which run it refuses
                    continue
                item = chunk[0]
                done[item.run_id] = SubmittedRun(
                    id=item.run_id,
                    result="refused",
                    reason=f"{exc.status} {exc.code or 'error'}: {exc.message}",
                    outbox=str(item.outbox) if item.outbox else None,
                )
                continue
            else:
                for item in chunk:
                    created = answer[item.run_id]
                    done[item.run_id] = SubmittedRun(
                        id=item.run_id, result="accepted" if created else "already stored"
                    )
                    if item.outbox is not None:
                        item.outbox.unlink(missing_ok=True)
                continue
        for item in chunk:
            kept = _queue(item, url, down)
            done[item.run_id] = SubmittedRun(
                id=item.run_id, result="queued", reason=down, outbox=str(kept)
            )
    return [done[item.run_id] for item in items]


def _queue(item: _Item, url: str, reason: str) -> Path:
    """Keep ``item`` in the outbox (atomically: a whole file or none); its file."""
    if item.outbox is not None:
        return item.outbox  # it waits there already
    import tempfile

    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{item.run_id}.json"
    head = json.dumps(
        {
            "outbox_format": OUTBOX_FORMAT,
            "server": url,
            "queued_at": datetime.now(UTC).isoformat(),
            "reason": reason,
        }
    )
    # The bundle's JSON is spliced in as it is: no second copy of a large bundle in memory.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{item.run_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(head[:-1] + ', "bundle": ')
            f.write(item.text)
            f.write("}\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _post(url: str, token: str | None, chunk: list[_Item]) -> dict[str, bool]:
    """POST ``chunk``; the server's ``created`` per run id. ``_Unreachable`` when the server
    cannot take it now, ``_Refused`` when it refuses it."""
    import http.client
    import socket
    import urllib.error
    import urllib.request

    body = ('{"runs":[' + ",".join(item.text for item in chunk) + "]}").encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + RUNS_PATH, data=body, headers=headers, method="POST")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # A redirect is answered as what it is: a POST must not turn into a GET elsewhere.
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
        try:
            raw = exc.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        finally:
            exc.close()
        code, message, hint = _error_of(raw)
        if status >= 500 or status == 429:
            raise _Unreachable(f"the server answered {status}: {message}") from None
        if 300 <= status < 400:
            where = exc.headers.get("Location") if exc.headers else None
            raise _Refused(
                status,
                code,
                f"the server redirects to {where or 'another URL'}",
                "submit to that server's URL (--server)",
            ) from None
        raise _Refused(status, code, message, hint) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, socket.timeout | TimeoutError):
            why = f"no answer within {TIMEOUT_S:g} s"
        elif isinstance(reason, OSError) and reason.strerror:
            why = reason.strerror[:1].lower() + reason.strerror[1:]
        else:
            why = str(reason) or type(reason).__name__
        raise _Unreachable(f"{_shown(url)} cannot be reached: {why}") from None
    try:
        data = json.loads(raw)
        answer = {str(a["id"]): bool(a["created"]) for a in data["accepted"]}
    except (ValueError, TypeError, KeyError) as exc:
        raise _Unreachable(
            f"the server's answer is not Reef's protocol ({type(exc).__name__}): is "
            f"{_shown(url)} a Reef server?"
        ) from None
    missing = [item.run_id for item in chunk if item.run_id not in answer]
    if missing:
        raise _Unreachable(f"the server's answer leaves out run(s) {', '.join(missing)}")
    return answer


def _error_of(raw: bytes) -> tuple[str | None, str, str | None]:
    """The code, message and hint of an error answer ``{"error": {...}}``; its text else."""
    try:
        data = json.loads(raw)
        error = data["error"]
        if isinstance(error, dict):
            return (
                str(error.get("code")) if error.get("code") else None,
                str(error.get("message") or ""),
                str(error["hint"]) if error.get("hint") else None,
            )
        hint = data.get("hint")
        return str(error), str(data.get("message") or error), str(hint) if hint else None
    except (ValueError, TypeError, KeyError, AttributeError):
        text = raw.decode("utf-8", errors="replace").strip()
        return None, text[:500] or "no message", None
