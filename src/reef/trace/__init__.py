"""Tracing a benchmark: spans per query and stage (model), the framework's own profiler
(framework), machine counters (system), one clock, one Chrome trace file per run.

- ``recorder``: the per-query rows the system under test appends, bounded by a cap policy;
- ``system``: CPU, memory and GPU sampled on a thread;
- ``onnxruntime``: ONNX Runtime's profile placed on the recorder's clock;
- ``chrome``: the Chrome trace-event file (Perfetto and chrome://tracing open it);
- ``summary``: where the time went, computed when the trace is written;
- ``otel``: the model spans sent to an OpenTelemetry exporter.
"""
