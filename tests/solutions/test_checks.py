"""Solution checks: bad parameters are refused up front; each check passes and fails honestly."""

from __future__ import annotations

import importlib.metadata
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factories import run_record
from reef.bench.metrics import known_metrics
from reef.meta.run import Accuracy, LoadGenInfo, RunRecord
from reef.meta.solution import CheckSpec
from reef.solutions import checks
from reef.solutions.checks import (
    CheckContext,
    CheckError,
    CheckResult,
    build_check,
    check_problems,
    known_checks,
    run_checks,
    summary,
)


def record(
    name: str = "digits-classifier",
    scenario: str = "SingleStream",
    *,
    p90: float = 3.21,
    qps: float = 310.0,
    accuracy: Accuracy | None = None,
    valid: bool = True,
    performance: bool = True,
    artifacts: dict[str, str] | None = None,
) -> RunRecord:
    figures = {"min": 1.0, "mean": 2.5, "p50": 2.4, "p90": p90, "p95": p90 + 0.1, "p99": 5.0}
    return run_record(
        created_at=None,
        status="valid" if valid else "invalid",
        kind="component",
        name=name,
        version=None,
        path="/m/model.yaml",
        sha256="a" * 64,
        scenario=scenario,
        backend=None,
        latency_ms=figures | {"max": 9.0} if performance else None,
        throughput_qps=qps,
        accuracy=accuracy
        or Accuracy(metric="top1", value=0.9733, reference=0.9733, threshold=0.99, passed=True),
        loadgen=LoadGenInfo(
            version="5.0",
            result="VALID" if valid else "INVALID",
            reasons=[] if valid else ["90th percentile latency 12 ms exceeds the 10 ms bound"],
        ),
        artifacts=artifacts or {},
    )


METRICS = ", ".join(known_metrics())


def run(uses: str, params: dict[str, Any], *records: RunRecord, **ctx: Any) -> list[CheckResult]:
    return build_check(uses, params)(CheckContext(records=list(records), **ctx))


# --- building and static validation ----------------------------------------------------------


def test_known_checks_lists_the_builtins() -> None:
    assert {"accuracy", "latency", "throughput", "loadgen", "golden"} <= set(known_checks())


@pytest.mark.parametrize(
    "uses, params, message",
    [
        ("latncy", {}, "unknown check 'latncy'; choose from accuracy, golden, latency"),
        (
            "latency",
            {"percentile": "p99.9", "max_ms": 5},
            "with.percentile: unknown latency metric 'p99.9'; "
            "choose from min, mean, p50, p90, p95, p99, max",
        ),
        ("latency", {"percentile": "p90"}, "with.max_ms: required parameter is missing"),
        ("latency", {"max_ms": 0}, "with.max_ms: Input should be greater than 0"),
        ("latency", {"max_ms": "5"}, "with.max_ms: Input should be a valid number"),
        ("latency", {"max_ms": 5, "p": 1}, "unknown parameter 'p'; latency takes scenario, model"),
        ("throughput", {"min_qps": True}, "with.min_qps: Input should be a valid number"),
        (
            "accuracy",
            {"metric": "f1"},
            "unknown accuracy metric 'f1'; choose from " + METRICS,
        ),
        ("accuracy", {"fraction": 1.5}, "with.fraction: Input should be less than or equal to 1"),
        ("loadgen", {"scenario": "Batch"}, "with.scenario: Input should be 'SingleStream'"),
        ("golden", {"actual": "a.npy", "expected": "../g.npy"}, "without '..'"),
        ("golden", {"actual": "a.npy", "expected": "/etc/g.npy"}, "without '..'"),
        ("golden", {"actual": "a.npy", "expected": "g.pkl"}, "must end in .npy, .npz"),
        ("golden", {"actual": "{env.HOME}/a.npy", "expected": "g.npy"}, "{steps.NAME}"),
        ("golden", {"actual": "out/{steps.x}", "expected": "g.npy"}, "must start the path"),
        (
            "golden",
            {"actual": "{steps.x}/a.npy", "expected": "g.npy", "scenario": "Offline"},
            "apply only when actual uses {run.ARTIFACT}",
        ),
        ("golden", {"actual": "a.npy", "expected": "g.npy", "rtol": -1}, "with.rtol"),
    ],
)
def test_bad_checks_are_refused_when_built(uses: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(CheckError) as info:
        build_check(uses, params)
    assert message in info.value.message
    assert info.value.exit_code == 2


def test_check_problems_point_at_the_field() -> None:
    specs = [
        CheckSpec(uses="loadgen"),
        CheckSpec.model_validate({"uses": "latency", "with": {"percentile": "p99.9", "x": 1}}),
        CheckSpec(uses="nope"),
    ]
    problems = check_problems(specs, "solution.yaml")
    where = [p.location for p in problems]
    assert where == [
        "checks[1].with.percentile",
        "checks[1].with.max_ms",
        "checks[1].with.x",
        "checks[2].uses",
    ]
    assert all(p.file == "solution.yaml" for p in problems)
    assert "unknown check 'nope'" in str(problems[-1])
    assert check_problems(specs[:1], "solution.yaml") == []


# --- latency, throughput, loadgen -----------------------------------------------------------


def test_latency_passes_and_fails_per_run() -> None:
    fast, slow = record(p90=3.21), record(scenario="Offline", p90=7.5)
    results = run("latency", {"max_ms": 5}, fast, slow)
    assert [r.passed for r in results] == [True, False]
    assert results[0].check == "latency p90 <= 5 ms"
    assert results[0].value == "3.21 ms" and results[0].expected == "<= 5 ms"
    assert results[1].subject == f"digits-classifier Offline (run {slow.id[:8]})"
    assert results[0].uses == "latency"


def test_latency_and_throughput_say_when_the_figure_is_shaky() -> None:
    from reef.meta.run import Interference, Latency, ProcessRun

    busy = record()
    busy.interference = Interference(
        cpus=[0], seconds=1.0, busy=True, reason="other processes used 40% of the run's 1 CPU"
    )
    (result,) = run("latency", {"max_ms": 5}, busy)
    assert result.passed  # judged as asked; the reader sees what it rests on
    assert (
        result.detail == "measured on a busy machine (other processes used 40% of the run's 1 CPU)"
    )
    repeated = record()
    repeated.processes = [
        ProcessRun(index=i, status="valid", latency_ms=Latency(**f), queries=10)
        for i, f in enumerate(
            [
                {"min": 1, "mean": 2, "p50": p, "p90": 3, "p95": 3, "p99": 4, "max": 5}
                for p in (2.0, 2.2)
            ],
            start=1,
        )
    ]
    (result,) = run("throughput", {"min_qps": 100}, repeated)
    assert result.detail == "median of 2 processes, spread 10%"
    (quiet,) = run("latency", {"max_ms": 5}, record())
    assert quiet.detail == ""


def test_latency_other_percentile() -> None:
    (result,) = run("latency", {"percentile": "p99", "max_ms": 4}, record())
    assert not result.passed and result.value == "5.00 ms"


def test_filters_select_runs_and_selecting_none_fails() -> None:
    records = [record(), record(scenario="Offline", p90=50), record(name="other", p90=50)]
    only = {"max_ms": 5, "scenario": "SingleStream", "model": "digits-classifier"}
    results = run("latency", only, *records)
    assert len(results) == 1 and results[0].passed

    (none,) = run("latency", {"max_ms": 5, "scenario": "Server"}, *records)
    assert not none.passed and none.detail == "no run in Server to check"
    (none,) = run("throughput", {"min_qps": 1, "model": "resnet"}, *records)
    assert not none.passed and none.detail == "no run of resnet to check"
    (none,) = run("loadgen", {})
    assert not none.passed and none.detail == "no run to check"


def test_a_run_without_performance_fails_with_its_reasons() -> None:
    broken = record(performance=False)
    broken.reasons.append("the predictor crashed")
    (result,) = run("latency", {"max_ms": 5}, broken)
    assert not result.passed
    assert "no performance results" in result.detail and "the predictor crashed" in result.detail


def test_throughput() -> None:
    results = run("throughput", {"min_qps": 300}, record(qps=310), record(qps=290.55))
    assert [r.passed for r in results] == [True, False]
    assert results[1].value == "290.6 qps" and results[1].expected == ">= 300 qps"


def test_loadgen_valid_and_invalid() -> None:
    results = run("loadgen", {}, record(), record(valid=False))
    assert [r.passed for r in results] == [True, False]
    assert results[1].value == "INVALID"
    assert "exceeds the 10 ms bound" in results[1].detail


# --- accuracy -------------------------------------------------------------------------------


def test_accuracy_uses_the_records_reference_and_threshold() -> None:
    (result,) = run("accuracy", {}, record())
    assert result.passed
    assert result.value == "0.9733 top1"
    assert result.expected == ">= 0.9636 (0.99 x 0.9733)"


def test_accuracy_below_the_fraction_fails() -> None:
    low = record(accuracy=Accuracy(metric="top1", value=0.95, reference=0.9733))
    (result,) = run("accuracy", {}, low)  # default fraction 0.99
    assert not result.passed
    (result,) = run("accuracy", {"fraction": 0.9, "reference": 1.0}, low)
    assert result.passed and result.expected == ">= 0.9000 (0.9 x 1.0000)"


def test_accuracy_lower_is_better_metric() -> None:
    err = Accuracy(metric="rmse", value=0.101, reference=0.1, threshold=0.99)
    (result,) = run("accuracy", {"metric": "rmse"}, record(accuracy=err))
    assert result.passed and result.expected == "<= 0.1010 (0.1000 / 0.99)"
    worse = Accuracy(metric="rmse", value=0.2, reference=0.1)
    (result,) = run("accuracy", {}, record(accuracy=worse))
    assert not result.passed


def test_accuracy_metric_mismatch_and_missing_value_fail() -> None:
    (result,) = run("accuracy", {"metric": "top5"}, record())
    assert not result.passed and result.detail == "the run measured top1, not top5"
    na = Accuracy(metric="top1", note="the dataset has no labels")
    (result,) = run("accuracy", {}, record(accuracy=na))
    assert not result.passed and result.detail == "the dataset has no labels"
    noref = Accuracy(metric="top1", value=0.9)
    (result,) = run("accuracy", {}, record(accuracy=noref))
    assert not result.passed and "with.reference" in result.detail


# --- golden ---------------------------------------------------------------------------------


@pytest.fixture
def solution(tmp_path: Path) -> Path:
    folder = tmp_path / "solution"
    (folder / "golden").mkdir(parents=True)
    return folder


def golden_ctx(solution: Path, out: Path, *records: RunRecord) -> CheckContext:
    return CheckContext(records=list(records), solution_dir=solution, outputs={"predict": out})


def golden(params: dict[str, Any], ctx: CheckContext) -> CheckResult:
    (result,) = build_check("golden", params)(ctx)
    return result


def test_golden_npy_within_and_beyond_tolerance(solution: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(solution / "golden" / "y.npy", expected)
    np.save(out / "y.npy", expected * (1 + 1e-7))
    params = {"actual": "{steps.predict}/y.npy", "expected": "golden/y.npy"}
    ctx = golden_ctx(solution, out)
    ok = golden(params, ctx)
    assert (
        ok.passed
        and ok.value.startswith("max abs diff")
        and ok.expected == "rtol 1e-05, atol 1e-08"
    )

    changed = expected.copy()
    changed[1, 2] += 0.5
    np.save(out / "y.npy", changed)
    bad = golden(params, ctx)
    assert not bad.passed
    assert bad.detail == "first mismatch at [1, 2]: 6.5 vs expected 6.0"
    assert bad.value == "max abs diff 0.5"
    assert golden({**params, "atol": 1.0}, ctx).passed

    np.save(out / "y.npy", expected[:2])
    shape = golden(params, ctx)
    assert not shape.passed and "shape (2, 4) vs expected (3, 4)" in shape.detail


def test_golden_npz_compares_every_array(solution: Path, tmp_path: Path) -> None:
    np.savez(solution / "golden" / "g.npz", a=np.ones(3), b=np.array(["x", "y"]))
    np.savez(tmp_path / "same.npz", a=np.ones(3), b=np.array(["x", "y"]))
    np.savez(tmp_path / "diff.npz", a=np.ones(3), b=np.array(["x", "z"]))
    np.savez(tmp_path / "fewer.npz", a=np.ones(3))
    ctx = CheckContext(records=[], solution_dir=solution, outputs={"s": tmp_path})
    for name, passed, detail in [
        ("same", True, ""),
        ("diff", False, "b[1]"),
        ("fewer", False, "missing ['b']"),
    ]:
        result = golden({"actual": f"{{steps.s}}/{name}.npz", "expected": "golden/g.npz"}, ctx)
        assert result.passed is passed and detail in result.detail


def test_golden_json_numbers_with_tolerance_strings_exact(solution: Path, tmp_path: Path) -> None:
    gold = {"top": [{"label": "cat", "score": 0.91}, {"label": "dog", "score": 0.05}], "n": 2}
    (solution / "golden" / "g.json").write_text(json.dumps(gold))
    ctx = CheckContext(records=[], solution_dir=solution, outputs={"s": tmp_path})
    params = {"actual": "{steps.s}/p.json", "expected": "golden/g.json", "rtol": 1e-3}

    (tmp_path / "p.json").write_text(json.dumps({**gold, "n": 2.0000001}))
    assert golden(params, ctx).passed
    gold["top"][1]["label"] = "fox"  # type: ignore[index]
    (tmp_path / "p.json").write_text(json.dumps(gold))
    result = golden(params, ctx)
    assert not result.passed and "$.top[1].label: 'fox' vs expected 'dog'" in result.detail
    (tmp_path / "p.json").write_text(json.dumps({"top": [], "n": True}))
    assert not golden(params, ctx).passed


def test_golden_text_and_csv_line_by_line(solution: Path, tmp_path: Path) -> None:
    (solution / "golden" / "g.csv").write_text("id,score,label\n1,0.5,cat\n2,0.25,dog\n")
    (solution / "golden" / "g.txt").write_text("accuracy: 0.9733\nok\n")
    ctx = CheckContext(records=[], solution_dir=solution, outputs={"s": tmp_path})
    csv = {"actual": "{steps.s}/p.csv", "expected": "golden/g.csv"}
    (tmp_path / "p.csv").write_text("id,score,label\n1,0.5000001,cat\n2,0.25,dog\n\n")
    assert golden(csv, ctx).passed
    (tmp_path / "p.csv").write_text("id,score,label\n1,0.5,cat\n2,0.35,dog\n")
    result = golden(csv, ctx)
    assert not result.passed and result.detail.startswith("first mismatch at line 3, field 2")
    (tmp_path / "p.csv").write_text("id,score,label\n1,0.5,cat\n")
    assert "2 lines vs expected 3" in golden(csv, ctx).detail

    txt = {"actual": "{steps.s}/p.txt", "expected": "golden/g.txt"}
    (tmp_path / "p.txt").write_text("accuracy: 0.97330001\nok\n")
    assert golden(txt, ctx).passed
    (tmp_path / "p.txt").write_text("accuracy: 0.9733\nfailed\n")
    assert "line 2, field 1: 'failed' vs expected 'ok'" in golden(txt, ctx).detail


def test_golden_missing_and_unreadable_files_fail_cleanly(solution: Path, tmp_path: Path) -> None:
    ctx = golden_ctx(solution, tmp_path)
    params = {"actual": "{steps.predict}/y.npy", "expected": "golden/y.npy"}
    missing_golden = golden(params, ctx)
    assert not missing_golden.passed and "golden file" in missing_golden.detail

    np.save(solution / "golden" / "y.npy", np.zeros(2))
    assert "no such file" in golden(params, ctx).detail
    no_step = golden({**params, "actual": "{steps.train}/y.npy"}, ctx)
    assert "step 'train' has no output folder" in no_step.detail

    (tmp_path / "y.npy").write_text("not numpy")
    unreadable = golden(params, ctx)
    assert not unreadable.passed and unreadable.value == "unreadable"


def test_golden_from_run_artifacts_per_run(solution: Path, tmp_path: Path) -> None:
    np.save(solution / "golden" / "y.npy", np.ones(4))
    (tmp_path / "a").mkdir()
    np.save(tmp_path / "a" / "y.npy", np.ones(4))
    good = record(artifacts={"predictions": str(tmp_path / "a")})
    bare = record(scenario="Offline")
    params = {"actual": "{run.predictions}/y.npy", "expected": "golden/y.npy"}
    results = build_check("golden", params)(golden_ctx(solution, tmp_path, good, bare))
    assert [r.passed for r in results] == [True, False]
    assert "no artifact 'predictions'" in results[1].detail
    assert results[0].subject.startswith("digits-classifier SingleStream")
    only = build_check("golden", {**params, "scenario": "Server"})(golden_ctx(solution, tmp_path))
    assert not only[0].passed and only[0].detail == "no run in Server to check"


def test_golden_plain_path_is_relative_to_the_solution(solution: Path) -> None:
    np.save(solution / "golden" / "y.npy", np.ones(2))
    np.save(solution / "made.npy", np.ones(2))
    ctx = CheckContext(records=[], solution_dir=solution)
    assert golden({"actual": "made.npy", "expected": "golden/y.npy"}, ctx).passed


# --- running, names, plugins ------------------------------------------------------------------


def test_run_checks_names_results_and_summarises() -> None:
    specs = [
        CheckSpec.model_validate({"uses": "latency", "with": {"max_ms": 5}, "name": "fast enough"}),
        CheckSpec(uses="loadgen"),
    ]
    results = run_checks(specs, CheckContext(records=[record(valid=False)]))
    assert [r.check for r in results] == ["fast enough", "loadgen VALID"]
    assert summary(results) == (1, 1)
    assert json.loads(json.dumps(results[0].to_json()))["passed"] is True


def test_run_checks_refuses_a_bad_check_before_running_any() -> None:
    specs = [CheckSpec(uses="loadgen"), CheckSpec.model_validate({"uses": "latency"})]
    with pytest.raises(CheckError, match="max_ms"):
        run_checks(specs, CheckContext(records=[record()]))


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A ``reef.checks`` plugin package installed only for this test."""
    (tmp_path / "reef_test_checks.py").write_text(
        textwrap.dedent(
            """
            from reef.solutions.checks import CheckResult

            def always(params):
                if set(params) - {"value"}:
                    raise ValueError(f"unknown parameters {sorted(set(params) - {'value'})}")
                ok = params.get("value", True)
                return lambda ctx: [CheckResult("always", "always", ok, str(ok), "True")]

            def broken(params):
                def check(ctx):
                    raise RuntimeError("plugin bug")
                return check
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [
        importlib.metadata.EntryPoint("always", "reef_test_checks:always", checks.GROUP),
        importlib.metadata.EntryPoint("broken", "reef_test_checks:broken", checks.GROUP),
        importlib.metadata.EntryPoint("missing", "reef_test_nothing:x", checks.GROUP),
    ]

    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda: importlib.metadata.EntryPoints(eps)
    )
    checks.clear_plugin_cache()
    yield
    monkeypatch.undo()
    checks.clear_plugin_cache()


@pytest.mark.usefixtures("plugin")
def test_plugins_are_found_built_and_run() -> None:
    assert {"always", "broken", "missing"} <= set(known_checks())
    specs = [
        CheckSpec.model_validate({"uses": "always", "with": {"value": False}, "name": "mine"}),
        CheckSpec(uses="broken"),
    ]
    results = run_checks(specs, CheckContext(records=[]))
    assert [(r.check, r.uses, r.passed) for r in results] == [
        ("mine", "always", False),
        ("broken", "broken", False),
    ]
    assert results[1].detail == "RuntimeError: plugin bug"


@pytest.mark.usefixtures("plugin")
def test_bad_plugins_and_plugin_params_are_refused() -> None:
    with pytest.raises(CheckError, match="unknown parameters"):
        build_check("always", {"colour": "red"})
    with pytest.raises(CheckError, match="could not be loaded"):
        build_check("missing", {})
    problems = check_problems([CheckSpec.model_validate({"uses": "always", "with": {"x": 1}})], "s")
    assert [p.location for p in problems] == ["checks[0].with"]
