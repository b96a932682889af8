"""The trace file: Chrome trace-event format (JSON object form), gzipped.

Perfetto (ui.perfetto.dev) and chrome://tracing open it as it is. ``ts`` and ``dur`` are
microseconds (with nanosecond decimals) from the trace's origin; ``otherData.reef`` holds the
metadata: the level, the clock, the cap policy and what it dropped, and the summary.

Tracks (one process): ``queries`` (a ``query`` span per query with its stages nested inside,
and LoadGen's issue time before it), ``reef`` (phases: load, warm-up, performance, accuracy),
one track per framework thread (operators), and counter tracks for the system level.
"""

from __future__ import annotations

import bisect
import gzip
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.files import write_atomic
from reef.trace.recorder import (
    DONE,
    ISSUE,
    POST,
    PRE,
    PRED,
    PREV,
    QID,
    SAMPLE,
    SEQ,
    START,
    WARMUP_QID,
    N,
)

if TYPE_CHECKING:
    from reef.trace.ort import LoadedProfile
    from reef.trace.recorder import QueryRecorder
    from reef.trace.summary import TraceSummary
    from reef.trace.system import SystemSampler

TRACE_FILE = "trace.json.gz"
FORMAT = 1
PID = 1
TID_QUERIES = 1
TID_REEF = 2
TID_FRAMEWORK = 10  # and up, one per framework thread

_STAGE_COLUMNS = (
    ("queue", ISSUE, START),
    ("pre-process", START, PRE),
    ("predict", PRE, PRED),
    ("post-process", PRED, POST),
    ("complete", POST, DONE),
)


def build(
    recorder: QueryRecorder,
    *,
    run_id: str,
    level: str,
    layers: list[str],
    summary: TraceSummary,
    framework: LoadedProfile | None = None,
    system: SystemSampler | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The whole trace as a JSON-ready object."""
    table = recorder.table()
    origin = recorder.origin_ns
    if framework is not None and framework.events:
        origin = min(origin, framework.events[0].start_ns)

    def us(t: int) -> float:
        return (t - origin) / 1000

    events: list[dict[str, Any]] = [
        _meta("process_name", 0, {"name": f"reef bench {run_id[:12]}"}),
        _meta("thread_name", TID_QUERIES, {"name": "queries (model level)"}),
        _meta("thread_name", TID_REEF, {"name": "reef: phases"}),
        _meta("thread_sort_index", TID_QUERIES, {"sort_index": 0}),
        _meta("thread_sort_index", TID_REEF, {"sort_index": -1}),
    ]
    for s in recorder.spans:
        events.append(_span(s.name, s.cat, TID_REEF, us(s.start_ns), s.end_ns - s.start_ns, s.args))
    for row in table.tolist():
        events.extend(_query_events(row, us))

    kept_ops = dropped_ops = 0
    if framework is not None:
        windows = sorted((r[PRE], r[PRED]) for r in table.tolist())
        starts = [w[0] for w in windows]
        tids: dict[int, int] = {}
        for e in framework.events:
            if e.cat == "operator":
                i = bisect.bisect_right(starts, e.start_ns) - 1
                if i < 0 or e.start_ns > windows[i][1]:
                    dropped_ops += 1
                    continue
                kept_ops += 1
            tid = tids.setdefault(e.tid, TID_FRAMEWORK + len(tids))
            args = {**e.args, "op_name": e.op} if e.cat == "operator" else dict(e.args)
            events.append(_span(e.name, e.cat, tid, us(e.start_ns), e.dur_ns, args))
        for native, tid in tids.items():
            name = f"{framework.framework} thread {native}"
            events.append(_meta("thread_name", tid, {"name": name}))
            events.append(_meta("thread_sort_index", tid, {"sort_index": tid}))

    if system is not None:
        for sample in system.samples:
            ts = us(sample.t_ns)
            cpu = {f"cpu{i}": v for i, v in enumerate(sample.cpu)}
            events.append(_counter("CPU % per core", ts, cpu))
            events.append(_counter("process memory (MB)", ts, {"rss": sample.rss / 2**20}))
            for g, (util, mem) in enumerate(sample.gpus):
                events.append(_counter(f"GPU{g} utilisation %", ts, {"util": util}))
                events.append(_counter(f"GPU{g} memory (MB)", ts, {"used": mem / 2**20}))

    policy = {"queries": recorder.policy()}
    if framework is not None:
        policy["operators"] = (
            f"{framework.framework}'s profiler covers the warm-up and the first "
            f"{recorder.first} queries (it cannot sample, so it is stopped there); operator "
            "events are kept for the queries kept in full or sampled, the summary's operator "
            "figures count every profiled event"
        )
    if system is not None:
        policy["system"] = system.policy()
    metadata = {
        "format": FORMAT,
        "run_id": run_id,
        "level": level,
        "layers": layers,
        "clock": "time.perf_counter_ns; ts in microseconds from origin",
        "origin_epoch_ns": origin + recorder.epoch_offset_ns,
        "policy": policy,
        "counts": {
            "queries_recorded": recorder.recorded,
            "queries_kept": int(table.shape[0]),
            "queries_dropped": sum(d.count for d in recorder.dropped.values()),
            "queries_dropped_by_phase": {k: d.count for k, d in recorder.dropped.items()},
            "sampling_k": recorder.k,
            "operator_events_profiled": (
                sum(1 for e in framework.events if e.cat == "operator") if framework else 0
            ),
            "operator_events_kept": kept_ops,
            "operator_events_dropped": dropped_ops,
            "system_samples": len(system.samples) if system else 0,
            "system_samples_dropped": system.dropped if system else 0,
        },
        "notes": notes or [],
        "summary": summary.model_dump(mode="json"),
    }
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": {"reef": metadata}}


def _query_events(row: list[int], us: Any) -> list[dict[str, Any]]:
    warm = row[QID] == WARMUP_QID
    out: list[dict[str, Any]] = []
    if row[PREV] > 0 and row[ISSUE] > row[PREV]:
        out.append(
            _span("loadgen issue", "stage", TID_QUERIES, us(row[PREV]), row[ISSUE] - row[PREV])
        )
    args: dict[str, Any] = {"seq": row[SEQ], "samples": row[N]}
    if not warm:
        args["query_id"] = row[QID]
        args["sample_index"] = row[SAMPLE]
    name = "warm-up call" if warm else "query"
    out.append(_span(name, "query", TID_QUERIES, us(row[ISSUE]), row[DONE] - row[ISSUE], args))
    for stage, a, b in _STAGE_COLUMNS:
        if row[b] > row[a] or stage == "predict":
            out.append(_span(stage, "stage", TID_QUERIES, us(row[a]), row[b] - row[a]))
    return out


def _span(
    name: str, cat: str, tid: int, ts: float, dur_ns: int, args: dict[str, Any] | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "name": name,
        "cat": cat,
        "ph": "X",
        "ts": round(ts, 3),
        "dur": round(max(dur_ns, 0) / 1000, 3),
        "pid": PID,
        "tid": tid,
    }
    if args:
        event["args"] = args
    return event


def _meta(name: str, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "ts": 0, "pid": PID, "tid": tid, "args": args}


def _counter(name: str, ts: float, values: dict[str, float]) -> dict[str, Any]:
    values = {k: round(v, 3) for k, v in values.items()}
    return {"name": name, "cat": "system", "ph": "C", "ts": round(ts, 3), "pid": PID, "tid": 0,
            "args": values}  # fmt: skip


def write(trace: dict[str, Any], path: Path) -> None:
    """Atomically: a reader never sees half a file, a failure leaves none."""
    data = json.dumps(trace, separators=(",", ":")).encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    write_atomic(path, data)


def read(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data: dict[str, Any] = json.loads(raw)
    return data


def metadata(trace: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = trace.get("otherData", {}).get("reef", {})
    return meta


def exported(source: Path, gz: bool) -> bytes:
    """A trace's bytes as an export wants them: gzipped when ``gz``, plain JSON otherwise."""
    raw = source.read_bytes()
    is_gz = raw[:2] == b"\x1f\x8b"
    if gz and not is_gz:
        return gzip.compress(raw, mtime=0)
    if not gz and is_gz:
        return gzip.decompress(raw)
    return raw
