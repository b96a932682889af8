"""Framework level for ONNX Runtime: its profiler's events on the recorder's clock.

ONNX Runtime writes Chrome trace events whose ``ts``/``dur`` are microseconds counted from its
profiler's start; ``InferenceSession.get_profiling_start_time_ns()`` (ONNX Runtime >= 1.13)
gives that start as nanoseconds since the Unix epoch (its clock is the wall clock). An event
is placed on Reef's clock (``time.perf_counter_ns``) by subtracting the offset between the two
clocks, read when the recorder started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KERNEL_SUFFIX = "_kernel_time"
KEPT_ARGS = ("op_name", "provider", "node_index", "input_type_shape", "output_type_shape")


@dataclass
class FrameworkEvent:
    name: str  # the node's name, or the session event's
    cat: str  # "operator" or "session"
    tid: int
    start_ns: int  # on the recorder's clock
    dur_ns: int
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def op(self) -> str:
        return str(self.args.get("op_name", self.name))


@dataclass
class LoadedProfile:
    framework: str
    events: list[FrameworkEvent]
    source_events: int  # as many as the profile held


def load_onnxruntime(path: Path, start_epoch_ns: int, epoch_offset_ns: int) -> LoadedProfile:
    """The node (operator) and session events of an ONNX Runtime profile.

    ``epoch_offset_ns`` is ``time.time_ns() - time.perf_counter_ns()``.
    """
    with path.open(encoding="utf-8") as f:
        raw = json.load(f)
    items: list[dict[str, Any]] = raw["traceEvents"] if isinstance(raw, dict) else raw
    base = start_epoch_ns - epoch_offset_ns
    events: list[FrameworkEvent] = []
    for e in items:
        if e.get("ph") != "X" or "ts" not in e:
            continue
        name = str(e.get("name", ""))
        cat = str(e.get("cat", ""))
        if cat == "Node":
            if not name.endswith(KERNEL_SUFFIX):
                continue  # fence events: the time between kernels, not an operator
            name = name[: -len(KERNEL_SUFFIX)]
            kind = "operator"
            src = e.get("args") or {}
            args = {k: src[k] for k in KEPT_ARGS if k in src}
        elif cat == "Session":
            kind, args = "session", {}
        else:
            continue
        start = base + round(float(e["ts"]) * 1000)
        dur = round(float(e["dur"]) * 1000)
        events.append(FrameworkEvent(name, kind, int(e.get("tid", 0)), start, dur, args))
    events.sort(key=lambda ev: ev.start_ns)
    return LoadedProfile("onnxruntime", events, len(items))
