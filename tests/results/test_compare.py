"""``reef.results.compare`` through ``reef.api.analysis.compare``: verdicts, intervals, warnings,
fallbacks and bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factories import from_raw, rid, run_record
from reef import config
from reef.api.analysis import compare
from reef.errors import RunNotFound
from reef.meta.run import (
    RunRecord,
)
from reef.results import Store
from reef.results.compare import CompareError, Comparison

ENV = {
    "hardware": {"cpu": {"model": "Xeon", "logical_cores": 8}},
    "os": {"system": {"name": "Linux", "kernel": "6.1"}},
    "software": {"python": "3.12.1", "packages": {"numpy": "2.0", "onnxruntime": "1.20"}},
}


def latencies(seed: int, scale: float = 1.0, n: int = 2000) -> list[int]:
    """Right-skewed latencies around 2 ms, in nanoseconds."""
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.lognormal(np.log(2e6), 0.25, n) * scale]


def record(
    run_id: str,
    raw: list[int],
    *,
    keep_raw: bool = True,
    name: str = "resnet",
    version: str = "1.0",
    scenario: str = "SingleStream",
    batch_size: int = 1,
    threads: int | None = None,
    backend: str = "onnxruntime",
    status: str = "valid",
    environment: dict[str, Any] | None = None,
    accuracy: str = "top1",
    minutes: int = 0,
) -> RunRecord:
    """A run whose summary figures are those of ``raw`` (kept unless ``keep_raw`` is False)."""
    return run_record(
        run_id,
        name=name,
        version=version,
        path=f"/m/{name}.onnx",
        sha256="ab" * 32,
        minutes=minutes,
        status=status,
        reasons=[] if status == "valid" else ["min_duration not met"],
        scenario=scenario,
        settings={"batch_size": batch_size, "threads": threads},
        backend=backend,
        **from_raw(raw),
        accuracy=0.75,
        metric=accuracy,
        environment=json.loads(json.dumps(environment if environment is not None else ENV)),
        raw=raw if keep_raw else None,
    )


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


@pytest.fixture
def base(store: Store) -> RunRecord:
    r = record(rid("a1"), latencies(1))
    store.add(r)
    return r


def add(store: Store, r: RunRecord) -> RunRecord:
    store.add(r)
    return r


def snapshot(store: Store) -> list[tuple[str, str]]:
    """The store's runs, to show that a refused comparison changed nothing."""
    runs = store.list()
    return [(r.id, r.model_dump_json()) for r in runs]


def run_dirs() -> list[Path]:
    folder = config.runs_dir()
    return list(folder.iterdir()) if folder.is_dir() else []


SENTENCE = re.compile(r"^([A-Z]) is (\d+\.\d\d)x (faster|slower) \((\d+\.\d\d)\u2013(\d+\.\d\d)\)$")


# --- verdicts -----------------------------------------------------------------------------------


def test_a_slower_run_is_found_and_its_interval_holds_the_true_ratio(
    store: Store, base: RunRecord
) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.3)))
    result = compare([base.id, rid("b1")])
    (vs,) = result.versus
    lat = vs.latency
    assert (vs.label, lat.method, lat.statistic, lat.verdict) == ("B", "raw", "median", "slower")
    assert lat.ci_low is not None and lat.ci_high is not None
    assert lat.ci_low < 1.3 < lat.ci_high
    match = SENTENCE.match(lat.sentence)
    assert match, lat.sentence
    label, factor, word, low, high = match.groups()
    assert (label, word) == ("B", "slower")
    assert float(low) <= float(factor) <= float(high)
    assert float(low) < 1.3 < float(high)
    assert "Mann-Whitney p<0.001" in lat.detail and "Cliff's delta" in lat.detail
    assert result.warnings == []


def test_a_faster_run_reads_as_a_factor_above_one(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1 / 1.23)))
    lat = compare([base.id, rid("b1")]).versus[0].latency
    assert lat.verdict == "faster"
    match = SENTENCE.match(lat.sentence)
    assert match, lat.sentence
    _, factor, word, low, high = match.groups()
    assert word == "faster"
    assert float(low) < 1.23 < float(high)
    assert float(factor) == pytest.approx(1.23, abs=0.04)
    assert lat.ratio is not None and lat.ratio < 1  # ratios stay B / A


def test_noise_is_no_significant_difference(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(7)))
    lat = compare([base.id, rid("b1")]).versus[0].latency
    assert (lat.verdict, lat.sentence) == ("same", "no significant difference")
    assert lat.ci_low is not None and lat.ci_high is not None and lat.ci_low < 1 < lat.ci_high
    assert "not a difference" in lat.detail


def test_a_difference_within_the_tolerance_is_not_called_one(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.08), minutes=1))
    strict = compare([base.id, rid("b1")], tolerance=0.0).versus[0].latency
    lenient = compare([base.id, rid("b1")], tolerance=0.10).versus[0].latency
    assert strict.verdict == "slower"
    assert lenient.verdict == "same" and "tolerance" in lenient.detail


def test_every_run_is_compared_with_the_baseline(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.3)))
    add(store, record(rid("c1"), latencies(3, scale=0.7)))
    result = compare([base.id, rid("b1"), rid("c1")])
    assert [r.label for r in result.runs] == ["A", "B", "C"]
    assert [(v.label, v.latency.verdict) for v in result.versus] == [
        ("B", "slower"),
        ("C", "faster"),
    ]
    assert result.versus[1].latency.sentence.startswith("C is 1.4")

    other = compare([base.id, rid("b1"), rid("c1")], baseline=1)
    assert other.model_dump(mode="json")["baseline"] == "B"
    assert [(v.label, v.latency.verdict) for v in other.versus] == [
        ("A", "faster"),
        ("C", "faster"),
    ]
    p50 = next(m for m in other.metrics if m.name == "p50")
    assert p50.ratios[1] == 1.0 and p50.ratios[0] is not None and p50.ratios[0] < 1


# --- without raw latencies ----------------------------------------------------------------------


def test_without_raw_latencies_the_percentiles_are_compared(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.3), keep_raw=False))
    lat = compare([base.id, rid("b1")]).versus[0].latency
    assert (lat.method, lat.statistic, lat.verdict) == ("summary", "p50", "slower")
    assert lat.sentence.startswith("B is 1.3") and lat.sentence.endswith("x slower at p50")
    assert lat.ci_low is None and lat.ci_high is None
    assert "B kept no raw latencies" in lat.detail and "no significance test" in lat.detail
    data = lat.model_dump(mode="json")
    assert data["method"] == "summary" and set(data["stats"]["ratios"]) >= {"p50", "p90", "p99"}


def test_metric_chooses_the_headline_percentile(store: Store, base: RunRecord) -> None:
    b = add(store, record(rid("b1"), latencies(2, scale=1.3), keep_raw=False))
    lat = compare([base.id, b.id], metric="p99").versus[0].latency
    assert lat.statistic == "p99" and lat.sentence.endswith("at p99")
    assert base.performance is not None and b.performance is not None
    expected = b.performance.latency_ms.p99 / base.performance.latency_ms.p99
    assert lat.ratio == pytest.approx(expected)
    # with raw latencies on both sides the headline stays the ratio of medians
    add(store, record(rid("c1"), latencies(3, scale=1.3)))
    assert compare([base.id, rid("c1")], metric="p99").versus[0].latency.statistic == "median"


def test_percentiles_that_do_not_agree_are_no_clear_difference(
    store: Store, base: RunRecord
) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.02), keep_raw=False))
    lat = compare([base.id, rid("b1")]).versus[0].latency
    assert (lat.method, lat.verdict, lat.sentence) == ("summary", "same", "no clear difference")


def test_too_few_raw_latencies_fall_back_to_percentiles(store: Store) -> None:
    add(store, record(rid("a1"), latencies(1, n=10)))
    add(store, record(rid("b1"), latencies(2, scale=1.5, n=10)))
    lat = compare([rid("a1"), rid("b1")]).versus[0].latency
    assert lat.method == "summary" and "too few latencies" in lat.detail


def test_a_run_without_figures_is_not_compared_and_warned_of(store: Store, base: RunRecord) -> None:
    failed = record(rid("b1"), latencies(2), status="failed").model_copy(
        update={"performance": None, "latencies_ns": None}
    )
    add(store, failed)
    result = compare([base.id, failed.id])
    lat = result.versus[0].latency
    assert (lat.method, lat.verdict) == ("none", "not compared")
    assert "B has no latency figures" in lat.detail
    assert any(w.startswith("B (b1000000) is failed: min_duration") for w in result.warnings)
    p50 = next(m for m in result.metrics if m.name == "p50")
    assert p50.values[1] is None and p50.ratios[1] is None


# --- side by side, environment, warnings ----------------------------------------------------------


def test_settings_and_metrics_side_by_side(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.3), batch_size=4, accuracy="top5"))
    result = compare([base.id, rid("b1")])
    rows = {s.name: s for s in result.settings}
    assert rows["batch_size"].values == [1, 4] and rows["batch_size"].differs
    # None: both ran with the official mlperf.conf seeds (no --seed).
    assert rows["seed"].values == [None, None] and not rows["seed"].differs
    assert rows["model"].values == ["resnet@1.0", "resnet@1.0"] and not rows["model"].differs
    metrics = {m.name: m for m in result.metrics}
    assert [m for m in metrics if m not in {"throughput", "accuracy"}] == [
        "min", "mean", "p50", "p90", "p95", "p99", "max",
    ]  # fmt: skip
    assert metrics["throughput"].better == "higher"
    ratio = metrics["throughput"].ratios[1]
    assert ratio is not None and ratio == pytest.approx(1 / 1.3, rel=0.05)
    # top1 against top5 is no ratio
    assert metrics["accuracy"].unit == "top1/top5" and metrics["accuracy"].ratios == [1.0, None]
    data = result.model_dump(mode="json")
    assert {"name": "batch_size", "values": [1, 4], "differs": True} in data["settings"]


def test_environment_differences_in_brief(store: Store, base: RunRecord) -> None:
    env = json.loads(json.dumps(ENV))
    env["hardware"]["cpu"]["model"] = "EPYC"
    env["software"]["python"] = "3.13.0"
    env["software"]["packages"] = {"numpy": "2.1", "onnxruntime": "1.21", "scipy": "1.14"}
    add(store, record(rid("b1"), latencies(2), environment=env))
    add(store, record(rid("c1"), latencies(3)))
    result = compare([base.id, rid("b1"), rid("c1")])
    b, c = (v.environment for v in result.versus)
    assert b.differences == 5 and b.counts == {"hardware": 1, "software": 4}
    assert b.keys["hardware"] == ["cpu.model"]
    assert len(b.keys["software"]) == 3  # the first few, the rest counted
    assert c.identical and c.model_dump(mode="json") == {
        "identical": True,
        "differences": 0,
        "groups": {},
    }
    assert b.model_dump(mode="json")["groups"]["software"]["count"] == 4


def test_runs_of_different_scenarios_and_models_are_compared_with_warnings(
    store: Store, base: RunRecord
) -> None:
    add(store, record(rid("b1"), latencies(2), scenario="Offline", name="mobilenet"))
    result = compare([base.id, rid("b1")])
    assert result.versus[0].latency.method == "raw"  # compared all the same
    assert any("scenario (A SingleStream, B Offline)" in w for w in result.warnings)
    assert any("model (A resnet@1.0, B mobilenet@1.0)" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"batch_size": 8}, "batch size (A 1, B 8)"),
        ({"threads": 2}, "threads (A default, B 2)"),
        ({"backend": "tensorrt"}, "backend (A onnxruntime, B tensorrt)"),
        ({"version": "2.0"}, "model (A resnet@1.0, B resnet@2.0)"),
    ],
)
def test_settings_that_change_latency_meaning_are_warned_of(
    store: Store, base: RunRecord, change: dict[str, Any], words: str
) -> None:
    add(store, record(rid("b1"), latencies(2), **change))
    warnings = compare([base.id, rid("b1")]).warnings
    assert len(warnings) == 1 and words in warnings[0], warnings


def test_a_traced_run_against_an_untraced_one_is_warned_of(store: Store, base: RunRecord) -> None:
    from reef.meta.run import TraceInfo

    traced = record(rid("b1"), latencies(2))
    traced.trace = TraceInfo(level="model", layers=["model"])
    add(store, traced)
    (warning,) = compare([base.id, rid("b1")]).warnings
    assert warning == (
        "runs differ in trace level (A none, B model): tracing adds its own cost to each query"
    )


def test_an_invalid_run_is_warned_of(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2), status="invalid"))
    assert compare([base.id, rid("b1")]).warnings == [
        "B (b1000000) is invalid: min_duration not met"
    ]


def test_the_comparison_is_strict_json(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2, scale=1.3), keep_raw=False))
    add(store, record(rid("c1"), latencies(3, scale=1.3)))
    result = compare([base.id[:4], rid("b1"), rid("c1")])
    assert isinstance(result, Comparison)
    data = json.loads(json.dumps(result.model_dump(mode="json"), allow_nan=False))
    assert list(data) == [
        "baseline", "metric", "alpha", "tolerance", "runs", "settings", "metrics", "versus",
        "warnings",
    ]  # fmt: skip
    assert data["baseline"] == "A" and result.baseline == 0
    assert list(data["versus"][0]) == ["label", "id", "latency", "environment", "decision"]
    assert data["versus"][0]["decision"]["verdict"] in ("reproduced", "differs", "inconclusive")
    assert list(data["versus"][0]["latency"])[-1] == "stats"
    assert list(data["versus"][0]["environment"]) == ["identical", "differences", "groups"]
    assert [r["id"] for r in data["runs"]] == [base.id, rid("b1"), rid("c1")]
    assert [v["latency"]["method"] for v in data["versus"]] == ["summary", "raw"]
    assert "description" not in data["versus"][1]["latency"]["stats"]
    assert data["runs"][0]["raw_latencies"] == 2000 and data["runs"][1]["raw_latencies"] is None


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", [[], ["a1"]])
def test_fewer_than_two_runs_are_refused_before_the_store_is_opened(ids: list[str]) -> None:
    with pytest.raises(CompareError, match="at least two runs") as info:
        compare(ids)
    assert info.value.exit_code == 2
    assert not (config.reef_home() / "reef.db").exists()
    assert run_dirs() == []


def test_bad_input_changes_nothing(store: Store, base: RunRecord) -> None:
    add(store, record(rid("a2"), latencies(2)))
    add(store, record(rid("b1"), latencies(3)))
    before = snapshot(store)
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"run_ids": [base.id, "ffff"]}, RunNotFound, "no run matches 'ffff'"),
        ({"run_ids": ["a", rid("b1")]}, RunNotFound, "'a' is ambiguous: 2 runs match"),
        ({"run_ids": [base.id, base.id[:6]]}, CompareError, f"run {base.id} is given twice"),
        ({"run_ids": [base.id, rid("b1")], "metric": "p42"}, CompareError, "'p42'"),
        ({"run_ids": [base.id, rid("b1")], "alpha": 1.5}, CompareError, "--alpha"),
        ({"run_ids": [base.id, rid("b1")], "tolerance": -0.1}, CompareError, "--tolerance"),
        ({"run_ids": [base.id, rid("b1")], "baseline": 2}, CompareError, "baseline"),
    ]
    for kwargs, kind, message in cases:
        ids = kwargs.pop("run_ids")
        with pytest.raises(kind, match=re.escape(message)) as info:
            compare(ids, **kwargs)
        assert info.value.exit_code == 2  # type: ignore[attr-defined]
    assert snapshot(store) == before
    assert run_dirs() == []


def test_an_unknown_id_points_at_the_list(store: Store, base: RunRecord) -> None:
    with pytest.raises(RunNotFound) as info:
        compare([base.id, "ffff"])
    assert info.value.hint is not None and "reef runs list" in info.value.hint


def test_an_ambiguous_prefix_lists_the_candidates_with_model_scenario_and_date(
    store: Store, base: RunRecord
) -> None:
    add(store, record(rid("a2"), latencies(2), name="mobilenet", scenario="Offline", minutes=90))
    with pytest.raises(RunNotFound) as info:
        compare(["a", base.id])
    assert sorted(info.value.candidates) == sorted([base.id, rid("a2")])
    hint = info.value.hint or ""
    assert f"{base.id} (resnet@1.0, SingleStream, 2025-01-01 00:00)" in hint
    assert f"{rid('a2')} (mobilenet@1.0, Offline, 2025-01-01 01:30)" in hint


def test_an_unknown_metric_lists_the_ones_the_runs_have(store: Store, base: RunRecord) -> None:
    add(store, record(rid("b1"), latencies(2)))
    with pytest.raises(CompareError) as info:
        compare([base.id, rid("b1")], metric="median")
    assert info.value.message == "--metric: the runs have no latency statistic 'median'"
    assert info.value.hint == "they have: min, mean, p50, p90, p95, p99, max"


def test_runs_in_says_an_imported_result_was_not_measured_here(base: RunRecord) -> None:
    from reef.meta.run import ImportInfo
    from reef.results.compare import _setting_values

    assert _setting_values(base)["runs in"] == "this process"
    imported = base.model_copy(
        update={
            "imported": ImportInfo(
                path="/t/closed/Lab/results/sys1/resnet/Offline",
                submitter="Lab",
                system="sys1",
                benchmark="resnet",
                round="v5.1",
            )
        }
    )
    assert _setting_values(imported)["runs in"] == (
        "imported from MLPerf v5.1 Lab, system sys1 (not measured here)"
    )
