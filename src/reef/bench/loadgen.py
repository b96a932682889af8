"""Driving MLPerf LoadGen: test settings, log settings, and one test run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlperf_loadgen as lg

from reef.bench import mlperf_conf
from reef.bench.calibrate import Expectations
from reef.bench.mlperf_conf import Configs
from reef.bench.samples import SampleSet
from reef.bench.sut import SystemUnderTest
from reef.meta.settings import BenchSettings

_MODES = {"performance": "PerformanceOnly", "accuracy": "AccuracyOnly"}


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("mlcommons-loadgen")


def settle(settings: BenchSettings, exp: Expectations, configs: Configs | None = None) -> Configs:
    """Make ``exp`` say what LoadGen will be told: the effective settings with their sources
    in ``exp.config``, and no note on a value Reef chose where a config or an option chose
    instead. Idempotent; ``configs`` are read from ``settings`` when not given."""
    if configs is None:
        configs = mlperf_conf.load(settings, settings.mlperf_model or "")
    exp.config = mlperf_conf.resolve(configs, settings, exp)
    mlperf_conf.settle(exp, exp.config, settings.scenario)
    return configs


def test_settings(
    settings: BenchSettings, exp: Expectations, mode: str, configs: Configs | None = None
) -> Any:
    """A fresh TestSettings: the MLPerf configs loaded through LoadGen's own FromConfig (the
    official mlperf.conf by default, then a user.conf; ``configs``, read from ``settings``
    when not given), then every value Reef or an option sets over them.

    ``exp`` is updated to what LoadGen is told (``mlperf_conf.settle``) and keeps the effective
    settings with their sources in ``exp.config``, for the run record."""
    configs = settle(settings, exp, configs)
    ts = lg.TestSettings()
    loaded = mlperf_conf.from_config(ts, configs, settings.scenario)
    ts.scenario = getattr(lg.TestScenario, settings.scenario)
    ts.mode = getattr(lg.TestMode, _MODES[mode])  # a config's mode key never rules
    mlperf_conf.apply(ts, exp.config, settings.scenario, loaded)
    for key, value in exp.values.items():
        if key not in _CONFIG_ATTRS:  # those are in ``exp.config``, whoever set them
            current = getattr(ts, key)
            setattr(ts, key, type(current)(value))
    return ts


# The TestSettings attributes MLPerf config keys set (the calibrated expectations among them).
_CONFIG_ATTRS = frozenset(a for k in mlperf_conf.KEYS.values() for a in k.attrs.values())


@dataclass
class TestRun:
    log_dir: Path
    latencies_ns: list[int]
    error: BaseException | None


def run_test(
    sut: SystemUnderTest,
    samples: SampleSet,
    ts: Any,
    log_dir: Path,
    audit_config: Path | None = None,
) -> TestRun:
    """One LoadGen test. LoadGen overrides ``ts`` from an audit config file where one exists
    (a compliance audit, ``reef.bench.audit``); it reads ``audit.config`` in the current
    folder unless told otherwise, so a run without one names no file, and a stray
    ``audit.config`` where Reef happens to be started cannot change it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = lg.LogSettings()
    log.log_output.outdir = str(log_dir)
    log.log_output.copy_summary_to_stdout = False
    log.log_output.copy_detail_to_stdout = False
    log.enable_trace = False
    handle = sut.construct()
    qsl = lg.ConstructQSL(samples.count, samples.count, _noop, _noop)
    try:
        config = str(audit_config) if audit_config is not None else ""
        lg.StartTestWithLogSettings(handle, qsl, ts, log, config)
    finally:
        sut.close()
        lg.DestroyQSL(qsl)
        lg.DestroyFastSUT(handle)
    return TestRun(log_dir, list(sut.latencies), sut.error)


def _noop(_indices: list[int]) -> None:
    """Samples are loaded before the test starts, so LoadGen's load/unload calls do nothing."""
