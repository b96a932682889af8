"""The model spans of a trace, sent to an OpenTelemetry span exporter.

One OpenTelemetry trace per run: a root span ``reef bench``, a span per phase under it, a span
per query under its phase and a span per stage under its query (LoadGen's issue time under
the phase, as it precedes the query). Times are the wall-clock times the query ran at.
Needs ``opentelemetry-sdk`` (the ``otel`` extra); imported here only.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from reef.errors import SettingsError
from reef.trace.chrome import TID_QUERIES, TID_REEF, metadata

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


def check_sdk() -> None:
    """Refuse now, before any work, when ``opentelemetry-sdk`` is not installed."""
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise SettingsError(
            "OpenTelemetry export needs opentelemetry-sdk", hint="pip install 'reef-bench[otel]'"
        ) from exc


def otlp_exporter() -> SpanExporter:
    """The OTLP/HTTP span exporter, configured by the ``OTEL_EXPORTER_OTLP_*`` environment
    variables."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError as exc:
        raise SettingsError(
            "--otel needs opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http",
            hint="pip install 'reef-bench[otel]'",
        ) from exc
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter


def export_spans(trace: dict[str, Any], exporter: SpanExporter) -> int:
    """Send the trace's model spans to ``exporter``; returns how many spans were sent."""
    from opentelemetry import trace as otel
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    meta = metadata(trace)
    origin = int(meta["origin_epoch_ns"])
    resource = Resource.create(
        {
            "service.name": "reef",
            "reef.run_id": str(meta.get("run_id", "")),
            "reef.trace_level": str(meta.get("level", "")),
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=65536))
    tracer = provider.get_tracer("reef.trace")

    def at(ts_us: float) -> int:
        return origin + round(ts_us * 1000)

    def end(e: dict[str, Any]) -> int:
        return at(float(e["ts"]) + float(e.get("dur", 0)))

    events = trace["traceEvents"]
    spans = [e for e in events if e.get("ph") == "X"]
    phases = sorted(
        (e for e in spans if e.get("tid") == TID_REEF and e.get("cat") == "phase"),
        key=lambda e: float(e["ts"]),
    )
    model = [e for e in spans if e.get("tid") == TID_QUERIES]
    times = [float(e["ts"]) for e in spans if e.get("tid") in (TID_REEF, TID_QUERIES)]
    if not times:
        provider.shutdown()
        return 0
    last = max(float(e["ts"]) + float(e.get("dur", 0)) for e in spans)
    count = 1
    root = tracer.start_span(
        "reef bench", start_time=at(min(times)), attributes={"reef.run_id": meta.get("run_id", "")}
    )
    root_ctx = otel.set_span_in_context(root)
    phase_ctx = []
    for p in phases:
        span = tracer.start_span(p["name"], context=root_ctx, start_time=at(float(p["ts"])))
        span.end(end_time=end(p))
        phase_ctx.append(otel.set_span_in_context(span))
        count += 1
    starts = [float(p["ts"]) for p in phases]

    def parent_of(ts: float) -> Any:
        i = bisect.bisect_right(starts, ts) - 1
        return phase_ctx[i] if i >= 0 else root_ctx

    query_ctx: Any = None
    for e in model:
        ts = float(e["ts"])
        if e.get("cat") == "query":
            attrs = {f"reef.{k}": v for k, v in (e.get("args") or {}).items()}
            span = tracer.start_span(
                e["name"], context=parent_of(ts), start_time=at(ts), attributes=attrs
            )
            span.end(end_time=end(e))
            query_ctx = otel.set_span_in_context(span)
        else:
            within = e["name"] != "loadgen issue" and query_ctx is not None
            context = query_ctx if within else parent_of(ts)
            span = tracer.start_span(e["name"], context=context, start_time=at(ts))
            span.end(end_time=end(e))
        count += 1
    root.end(end_time=at(last))
    provider.shutdown()  # flushes
    return count
