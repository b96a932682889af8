"""Tracing one benchmark run: the levels asked for, attached to the runner's hooks.

The runner creates a ``Tracing`` before it opens the model (a framework profiler must be
enabled when the session is created), hands its recorder to the system under test, and calls
``finish`` once measured, which writes the trace into the run's folder and describes it for
the record. Untraced runs create none of this: the system under test takes its usual paths.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from reef.bench.job import TraceSettings
from reef.meta.run import TraceInfo, TraceLevel
from reef.predictors.base import FrameworkProfile, Predictor, ProfilingPredictor
from reef.trace import chrome
from reef.trace.recorder import QueryRecorder
from reef.trace.system import SystemSampler

if TYPE_CHECKING:
    from reef.bench.progress import Reporter
    from reef.trace.ort import LoadedProfile

LAYERS: dict[TraceLevel, tuple[str, ...]] = {
    "none": (),
    "model": ("model",),
    "framework": ("model", "framework"),
    "system": ("model", "system"),
    "full": ("model", "framework", "system"),
}


class Tracing:
    def __init__(self, settings: TraceSettings) -> None:
        self.level = settings.level
        self.layers = list(LAYERS[settings.level])
        self.recorder = QueryRecorder(settings.first_queries, settings.sampled_queries)
        self.notes: list[str] = []
        self.profile_dir: str | None = None
        if "framework" in self.layers:
            self.profile_dir = tempfile.mkdtemp(prefix="reef-trace-")
        self.sampler: SystemSampler | None = None
        if "system" in self.layers:
            self.sampler = SystemSampler(settings.system_interval_ms, settings.max_system_samples)
        self._profiling: ProfilingPredictor | None = None
        self._profile: FrameworkProfile | None = None

    def attach(self, predictor: Predictor, reporter: Reporter) -> None:
        """After the model is open: a backend without a profiler is said, and left out."""
        if "framework" not in self.layers:
            return
        if isinstance(predictor, ProfilingPredictor):
            self._profiling = predictor
            self.recorder.at_first_full(self.stop_profiler)
            return
        note = (
            f"the {predictor.name} backend has no profiler: the framework level is not "
            "recorded; the other levels are"
        )
        self.notes.append(note)
        reporter.note(note)
        self.layers.remove("framework")

    def start(self) -> None:
        if self.sampler is not None:
            self.sampler.start()
            self.notes.extend(self.sampler.notes)

    def stop_profiler(self) -> None:
        if self._profiling is not None:
            predictor, self._profiling = self._profiling, None
            self._profile = predictor.end_profiling()

    def finish(self, run_dir: Path, run_id: str) -> TraceInfo:
        """Stop every source, write the trace and describe it; the trace's own failure is a
        note in the record, never a failed run."""
        try:
            self.stop_profiler()
            if self.sampler is not None:
                self.sampler.stop()
            return self._write(run_dir, run_id)
        except Exception as exc:
            return TraceInfo(
                level=self.level,
                layers=self.layers,
                notes=[*self.notes, f"the trace could not be written: {exc}"],
            )
        finally:
            self.discard()

    def discard(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.profile_dir is not None:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None

    def _framework(self) -> LoadedProfile | None:
        profile = self._profile
        if profile is None:
            return None
        if profile.format == "onnxruntime":
            from reef.trace.ort import load_onnxruntime

            return load_onnxruntime(
                profile.path, profile.start_epoch_ns, self.recorder.epoch_offset_ns
            )
        self.notes.append(f"a {profile.format} profile cannot be read yet: not merged")
        return None

    def _write(self, run_dir: Path, run_id: str) -> TraceInfo:
        from reef.trace.summary import summarize

        recorder = self.recorder
        recorder.finish()
        framework = self._framework()
        summary = summarize(
            recorder,
            self.level,
            self.layers,
            framework.events if framework else (),
            self.sampler,
            self.notes,
        )
        trace = chrome.build(
            recorder,
            run_id=run_id,
            level=self.level,
            layers=self.layers,
            summary=summary,
            framework=framework,
            system=self.sampler,
            notes=self.notes,
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / chrome.TRACE_FILE
        chrome.write(trace, path)
        counts = chrome.metadata(trace)["counts"]
        policy = chrome.metadata(trace)["policy"]
        return TraceInfo(
            level=self.level,
            path=str(path),
            layers=self.layers,
            events=len(trace["traceEvents"]),
            queries=counts["queries_recorded"],
            queries_kept=counts["queries_kept"],
            dropped=counts["queries_dropped"],
            policy="; ".join(f"{k}: {v}" for k, v in policy.items()),
            notes=self.notes,
        )
