"""Verified runs: a run submitted to a server is ``unverified`` until an independent rerun of
the same configuration, on the same hardware, reproduces it.

**The same configuration** is ``configuration_key``: the SHA-256 of ``configuration(record)``,
which holds what decides the measurement and nothing that is expected to differ between two
honest runs of it:

* the target's name and version, and the model file's sha256;
* every component (kind, name, version, sha256) the record names, and the content sha256 of
  each component its lock pins;
* the scenario and mode, and the settings that change what is measured: the Server
  scenario's arrival rate and latency bound, MultiStream's samples per query, the batch size,
  the predictor's threads and the samples loaded (``sample_count``);
* the backend (the predictor's name), its execution providers and its options, not its
  version (like the rest of the environment, ``reef reproduce`` lists it and does not judge
  it);
* what was fed: synthetic inputs or a dataset's, and their element types and shapes;
* the trace level (tracing costs time: traced runs are compared with traced runs).

Left out: the run's id, times, status and figures; its seed, duration, query count and
warm-up (they size and order a measurement; they do not change what it measures); the number
of processes (``--repeat``: the verdict takes processes as its unit when either side has
several, as ``reef reproduce`` does when it reruns with more); the cores it was pinned to
(``--cpus``: numbers of one machine's cores); whether raw latencies were kept (the verdict
uses them when both runs did, else their percentiles); file paths; the solution a run was made
for; and the environment, but for its hardware label.

**An independent rerun** comes from another token than the run's and has the same hardware
label (``reef.results.query.run_hardware``: the CPU model and the GPUs; runs of unknown
hardware are never paired). Each pair is judged by ``reef reproduce``'s rule
(``reef.solutions.reproduce.compare``, the earlier run as the original): ``reproduced`` marks
both runs ``verified``; ``differs`` and ``inconclusive`` are kept as links too, and leave the
status as it was. A token never verifies its own runs, however often it submits them. A new
run is judged against the ``MAX_JUDGED`` most recent runs of its configuration and hardware
from other tokens.

Before a bundle is stored, the content sha256 of each component its record's lock pins is
checked against the server's component registry where that name and version is published
there: a mismatch refuses the request (``ComponentMismatch``), naming the component and both
checksums.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from reef.errors import BundleError, ServerError

if TYPE_CHECKING:
    from reef.api.server import ServerDatabase
    from reef.meta.run import RunRecord
    from reef.results.store import Store, Transaction
    from reef.results.submissions import SubmissionEntry, VerificationEntry

CONFIGURATION_FORMAT = 1
SubmissionStatus = Literal["unverified", "verified"]
VerificationVerdict = Literal["reproduced", "differs", "inconclusive"]
MAX_SUBMISSIONS = 500
# Each new run is judged against at most this many runs of its configuration and hardware
# (other tokens', the most recent): judging costs a bootstrap, and a popular configuration
# gathers many runs.
MAX_JUDGED = 20


class ComponentMismatch(BundleError):
    """A component the record pins by content sha256 is published in the server's registry
    under the same name and version with another content sha256 (HTTP 422)."""


class Verification(BaseModel):
    """One pair of submitted runs judged by ``reef reproduce``'s rule: ``verifying_run_id``
    (the later) against ``run_id`` (the earlier)."""

    run_id: str
    verifying_run_id: str
    verdict: VerificationVerdict
    detail: str
    at: datetime


class Submission(BaseModel):
    """A submitted run's standing: who submitted it (the token's name, else its id; never
    its secret), when, whether it is verified, the runs that verify it (a ``reproduced``
    verdict) and every verdict it was part of."""

    run_id: str
    status: SubmissionStatus
    submitted_by: str | None = Field(description="the token's name, else its id; None: none")
    token_id: str | None
    submitted_at: datetime
    hardware: str
    configuration: str = Field(description="the key of the run's configuration")
    verified_by: list[str] = Field(default_factory=list)
    verifications: list[Verification] = Field(default_factory=list)


# --- the configuration ------------------------------------------------------------------------


def configuration(record: RunRecord) -> dict[str, Any]:
    """What makes two runs the same configuration (the module's docstring says why each
    field is in or out), as JSON."""
    s = record.settings
    predictor = record.predictor
    samples = record.samples or {}
    lock = record.lock or {}
    pinned = sorted(
        (str(c.get("kind")), str(c.get("name")), str(c.get("version")), str(c.get("sha256")))
        for c in lock.get("components", [])
        if isinstance(c, dict)
    )
    given = samples.get("inputs")
    inputs: dict[str, Any] = given if isinstance(given, dict) else {}
    return {
        "format": CONFIGURATION_FORMAT,
        "target": {
            "name": record.target.name,
            "version": record.target.version,
            "sha256": record.target.sha256,
        },
        "components": sorted([c.kind, c.name, c.version, c.sha256] for c in record.components),
        "locked": [list(c) for c in pinned],
        "settings": {
            "scenario": s.scenario,
            "mode": s.mode,
            "target_qps": s.target_qps,
            "latency_bound_ms": s.latency_bound_ms,
            "samples_per_query": s.samples_per_query if s.scenario == "MultiStream" else None,
            "batch_size": s.batch_size,
            "threads": s.threads,
            "sample_count": s.sample_count,
        },
        "backend": None
        if predictor is None
        else {
            "name": predictor.name,
            "providers": list(predictor.providers),
            "options": predictor.options,
        },
        "inputs": {
            "synthetic": samples.get("synthetic"),
            "inputs": {
                name: {k: v for k, v in spec.items() if k in ("element_type", "shape", "source")}
                for name, spec in sorted(inputs.items())
                if isinstance(spec, dict)
            },
        },
        "trace": record.trace.level if record.trace is not None else "none",
    }


def configuration_key(record: RunRecord) -> str:
    """The SHA-256 (hex) of ``configuration(record)`` as canonical JSON: equal for two runs of
    the same configuration."""
    text = json.dumps(configuration(record), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hardware_of(record: RunRecord) -> str:
    """The run's hardware label, as boards group runs by it."""
    from reef.results.query import run_hardware

    return run_hardware(record.environment)


# --- checks before storing ---------------------------------------------------------------------


def check_registry_components(
    records: Iterable[RunRecord], *, registry_root: Path | None = None
) -> None:
    """Refuse (``ComponentMismatch``) a record whose lock pins a component that the server's
    registry (``registry_root``; None: ``REEF_HOME/server/components``) publishes under the
    same name and version with another content sha256. Components the registry does not
    publish are not checked."""
    from reef.api.registry import registry_root as default_root
    from reef.components.registry import NotPublished, manifest

    root = default_root(registry_root)
    if not (root / "index").is_dir():
        return
    published: dict[tuple[str, str], str | None] = {}
    for record in records:
        for c in (record.lock or {}).get("components", []):
            if not isinstance(c, dict):
                continue
            name, version, digest = c.get("name"), c.get("version"), c.get("sha256")
            if not (isinstance(name, str) and isinstance(version, str) and digest):
                continue
            if (name, version) not in published:
                try:
                    published[name, version] = manifest(root, name, version).content_sha256
                except NotPublished:
                    published[name, version] = None
            theirs = published[name, version]
            if theirs is not None and theirs != digest:
                raise ComponentMismatch(
                    f"component {name}@{version}: the run's lock pins content sha256 "
                    f"{digest}, the registry publishes {name}@{version} with {theirs}",
                    hint="a published version never changes: run with the published "
                    "component, or give yours another version",
                    run_id=record.id,
                )


# --- after storing ----------------------------------------------------------------------------


def verify_submitted(
    store: Store | Transaction,
    run_ids: Sequence[str],
    *,
    token_id: str | None,
    records: Mapping[str, RunRecord] | None = None,
) -> list[Verification]:
    """Record the submission of the newly stored runs ``run_ids`` (by ``token_id``; None: no
    token), then judge each against the stored runs of the same configuration and hardware
    that other tokens submitted; the verdicts, in order. What verifying means is the
    module's docstring.

    Given an open ``Transaction`` (what a server's submission does), it all happens in the
    transaction that stores the runs: a run is never stored unjudged, and two runs of one
    configuration submitted at once are judged one after the other, the second against the
    first. ``records`` are the runs as submitted, where the caller has them (else read)."""
    from reef.results.submissions import (
        SubmissionEntry,
        add_submissions,
        record_verifications,
        same_configuration,
    )

    now = _now()
    given = records or {}
    found_records = {
        run_id: given[run_id] if run_id in given else store.get(run_id, with_latencies=True)
        for run_id in run_ids
    }
    entries = [
        SubmissionEntry(
            run_id=run_id,
            token_id=token_id,
            submitted_at=now,
            status="unverified",
            config_key=configuration_key(record),
            hardware=hardware_of(record),
        )
        for run_id, record in found_records.items()
    ]
    add_submissions(store, entries)
    from reef.results.query import UNKNOWN_HARDWARE

    found: list[Verification] = []
    for entry in entries:
        if token_id is None or entry.hardware == UNKNOWN_HARDWARE:
            continue
        others = same_configuration(
            store,
            entry.config_key,
            entry.hardware,
            other_than=token_id,
            exclude=run_ids,
            limit=MAX_JUDGED,
        )
        pairs: list[VerificationEntry] = []
        verified: set[str] = set()
        for other in reversed(others):  # oldest first
            original = store.get(other.run_id, with_latencies=True)
            judged = _judge(original, found_records[entry.run_id], now)
            pairs.append(judged)
            if judged.verdict == "reproduced":
                verified |= {original.id, entry.run_id}
        if pairs:
            record_verifications(store, pairs, verified)
        found.extend(_verification(p) for p in pairs)
    return found


def _judge(original: RunRecord, rerun: RunRecord, at: datetime) -> VerificationEntry:
    """``rerun`` against ``original`` by ``reef reproduce``'s rule, as a row to keep."""
    from reef.results.submissions import VerificationEntry
    from reef.solutions.reproduce import accuracy_tolerance, compare
    from reef.solutions.rerun import _check_fraction

    result = compare(
        original, rerun, tolerance=accuracy_tolerance(original, _check_fraction(original))
    )
    if result.verdict == "differs":
        detail = "; ".join(result.reasons)
    elif result.verdict == "inconclusive":
        detail = "; ".join([result.latency_summary, *result.causes])
        if result.advice:
            detail += f" ({result.advice})"
    else:
        detail = f"latency: {result.latency_summary}"
        if result.accuracy is not None:
            detail += f"; accuracy {result.accuracy['metric']} equal"
    return VerificationEntry(
        run_id=original.id,
        verifying_run_id=rerun.id,
        verdict=result.verdict,
        detail=detail,
        at=at,
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _verification(entry: VerificationEntry) -> Verification:
    return Verification(
        run_id=entry.run_id,
        verifying_run_id=entry.verifying_run_id,
        verdict=entry.verdict,
        detail=entry.detail,
        at=entry.at.replace(tzinfo=UTC),
    )


def _submission(entry: SubmissionEntry, pairs: list[VerificationEntry]) -> Submission:
    verified_by = [
        p.verifying_run_id if p.run_id == entry.run_id else p.run_id
        for p in pairs
        if p.verdict == "reproduced"
    ]
    return Submission(
        run_id=entry.run_id,
        status=entry.status,
        submitted_by=entry.token_name or entry.token_id,
        token_id=entry.token_id,
        submitted_at=entry.submitted_at.replace(tzinfo=UTC),
        hardware=entry.hardware,
        configuration=entry.config_key,
        verified_by=list(dict.fromkeys(verified_by)),
        verifications=[_verification(p) for p in pairs],
    )


# --- reading -----------------------------------------------------------------------------------


def server_submission(run_id: str, *, db: str | ServerDatabase | None = None) -> Submission | None:
    """The submission of the server's run ``run_id`` (exactly its id): who submitted it,
    whether it is verified, and its verifications; None for a run not submitted (stored
    before revision 0006, or not through ``POST /api/v1/runs``)."""
    from reef.api.server import opened
    from reef.results.submissions import get_submission, verifications_of

    with opened(db) as database:
        entry = get_submission(database.store, run_id)
        if entry is None:
            return None
        return _submission(entry, verifications_of(database.store, run_id))


def server_submissions(
    status: str | None = None,
    *,
    limit: int = 100,
    db: str | ServerDatabase | None = None,
) -> list[Submission]:
    """The server's submissions, newest first: ``status`` ``verified`` or ``unverified``
    only where given, at most ``limit`` (1 to 500), each with its verifications."""
    from reef.api.server import opened
    from reef.results.submissions import STATUSES, list_submissions, verifications_of

    if status is not None and status not in STATUSES:
        raise ServerError(
            f"status: {status!r} is not a submission's status",
            hint="give verified or unverified",
        )
    if not 1 <= limit <= MAX_SUBMISSIONS:
        raise ServerError(f"limit: must be 1 to {MAX_SUBMISSIONS}, not {limit}")
    with opened(db) as database:
        entries = list_submissions(database.store, status=status, limit=limit)
        return [_submission(e, verifications_of(database.store, e.run_id)) for e in entries]
