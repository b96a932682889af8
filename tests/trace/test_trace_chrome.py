"""The trace file: valid Chrome trace events, metadata with the cap policy, export."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from trace_support import phase, run_queries

from reef.trace import chrome
from reef.trace.ort import FrameworkEvent, LoadedProfile
from reef.trace.recorder import QueryRecorder
from reef.trace.summary import summarize
from reef.trace.system import Sample, SystemSampler


def sample_trace() -> tuple[dict[str, object], QueryRecorder]:
    rec = QueryRecorder(first=20, sampled=10)
    rec.span("open model", "reef", rec.origin_ns, rec.origin_ns + 500)
    with phase(rec, "performance"):
        end = run_queries(rec, 200)
    rec.finish()
    row = rec.table()[0].tolist()
    ops = [
        FrameworkEvent("conv1", "operator", 7, row[7] + 100, 1000, {"op_name": "Conv"}),
        FrameworkEvent("gone", "operator", 7, end + 10_000_000, 1000, {"op_name": "Relu"}),
        FrameworkEvent("session_initialization", "session", 7, rec.origin_ns + 10, 400),
    ]
    framework = LoadedProfile("onnxruntime", ops, 3)
    system = SystemSampler()
    system.samples = [Sample(rec.origin_ns + i * 1000, [10.0, 20.0], 2**20, []) for i in range(3)]
    summary = summarize(rec, "full", ["model", "framework", "system"], ops, system)
    trace = chrome.build(
        rec, run_id="r" * 32, level="full", layers=["model", "framework", "system"],
        summary=summary, framework=framework, system=system, notes=["a note"],
    )  # fmt: skip
    return trace, rec


def test_every_event_is_a_valid_chrome_trace_event() -> None:
    trace, _ = sample_trace()
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    phases = set()
    for e in events:
        for key in ("ph", "ts", "pid", "tid", "name"):
            assert key in e, (key, e)
        assert isinstance(e["ts"], int | float) and e["ts"] >= 0
        phases.add(e["ph"])
        if e["ph"] == "X":
            assert e["dur"] >= 0
        if e["ph"] == "C":
            assert all(isinstance(v, int | float) for v in e["args"].values())
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "thread_sort_index")
    assert phases == {"M", "X", "C"}
    names = {e["name"] for e in events}
    assert {"query", "predict", "performance", "conv1", "CPU % per core"} <= names


def test_stages_nest_inside_their_query() -> None:
    trace, _ = sample_trace()
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["tid"] == chrome.TID_QUERIES]
    query = None
    for e in spans:
        if e["name"] == "query":
            query = e
            assert {"query_id", "seq"} <= set(e["args"])
        elif e["name"] != "loadgen issue":
            assert query is not None
            assert (
                query["ts"] <= e["ts"] and e["ts"] + e["dur"] <= query["ts"] + query["dur"] + 1e-3
            )


def test_metadata_records_the_policy_and_what_was_dropped() -> None:
    trace, rec = sample_trace()
    meta = chrome.metadata(trace)
    assert meta["level"] == "full" and meta["format"] == chrome.FORMAT
    counts = meta["counts"]
    assert counts["queries_recorded"] == 200
    assert counts["queries_dropped"] == 200 - counts["queries_kept"] > 0
    assert counts["operator_events_kept"] == 1 and counts["operator_events_dropped"] == 1
    assert f"every {rec.k}-th" in meta["policy"]["queries"]
    assert "operators" in meta["policy"] and "system" in meta["policy"]
    assert meta["summary"]["queries"] == 200


def test_written_gzipped_and_exported_as_plain_json(tmp_path: Path) -> None:
    trace, _ = sample_trace()
    path = tmp_path / chrome.TRACE_FILE
    chrome.write(trace, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert chrome.read(path) == json.loads(json.dumps(trace))
    plain = tmp_path / "out.json"
    plain.write_bytes(chrome.exported(path, gz=False))
    assert json.loads(plain.read_text())["traceEvents"]
    assert chrome.exported(path, gz=True) == path.read_bytes()
    again = chrome.exported(plain, gz=True)
    assert json.loads(gzip.decompress(again))["displayTimeUnit"] == "ns"
