"""OpenTelemetry export of the model spans, checked with the SDK's in-memory exporter."""

from __future__ import annotations

import pytest
from test_trace_chrome import sample_trace

pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from reef.trace import chrome
from reef.trace.otel import export_spans


def test_model_spans_reach_the_exporter_with_their_parents() -> None:
    trace, rec = sample_trace()
    exporter = InMemorySpanExporter()
    sent = export_spans(trace, exporter)
    spans = exporter.get_finished_spans()
    assert sent == len(spans) > 0
    by_id = {s.context.span_id: s for s in spans}
    root = [s for s in spans if s.parent is None]
    assert [s.name for s in root] == ["reef bench"]
    queries = [s for s in spans if s.name == "query"]
    assert len(queries) == rec.table().shape[0]
    assert all(by_id[q.parent.span_id].name == "performance" for q in queries if q.parent)
    predicts = [s for s in spans if s.name == "predict"]
    assert predicts and all(by_id[p.parent.span_id].name == "query" for p in predicts if p.parent)
    origin = chrome.metadata(trace)["origin_epoch_ns"]
    for s in spans:
        assert s.start_time is not None and s.end_time is not None
        assert origin <= s.start_time <= s.end_time
    assert queries[0].attributes is not None and "reef.query_id" in queries[0].attributes
    assert {s.resource.attributes["service.name"] for s in spans} == {"reef"}
