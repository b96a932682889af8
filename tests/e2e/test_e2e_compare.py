"""``reef compare`` through the real CLI: the table, the verdicts, JSON, and every bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from e2e_support import Benched, Reef, assert_json_error, assert_usage_error

A, B, C, D = ("aaaa" + "0" * 28, "bbbb" + "0" * 28, "cccc" + "0" * 28, "aaab" + "0" * 28)


def _record(run_id: str, seed: int, scale: float, *, keep_raw: bool = True, **settings: Any) -> Any:
    from reef.meta.run import Latency, Performance, PredictorInfo, RunRecord, Target
    from reef.meta.settings import BenchSettings

    rng = np.random.default_rng(seed)
    raw = [int(x) for x in rng.lognormal(np.log(2e6), 0.25, 1500) * scale]
    ms = np.asarray(raw) / 1e6
    pct = {f"p{q}": float(np.percentile(ms, q)) for q in (50, 90, 95, 99)}
    return RunRecord(
        id=run_id,
        created_at=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=seed),
        status="valid",
        target=Target(kind="onnx", name="tiny", version="1.0", path="/m.onnx", sha256="cd" * 32),
        settings=BenchSettings(**settings),
        predictor=PredictorInfo(name="onnxruntime", version="1.20"),
        performance=Performance(
            latency_ms=Latency(
                min=float(ms.min()), mean=float(ms.mean()), max=float(ms.max()), **pct
            ),
            throughput_qps=1000 / float(ms.mean()),
            samples=len(raw),
            queries=len(raw),
        ),
        environment={"hardware": {"cpu": {"model": f"cpu{seed}"}}, "software": {}},
        latencies_ns=raw if keep_raw else None,
    )


@pytest.fixture
def seeded(reef: Reef) -> Reef:
    """A home holding A, B (A 1.3x slower), C (Offline, batch 8, no raw latencies) and D (a
    second run whose id starts like A's)."""
    from reef.results import Store

    reef.home.mkdir(parents=True, exist_ok=True)
    with Store(f"sqlite:///{reef.home / 'reef.db'}") as store:
        store.add(_record(A, 0, 1.0))
        store.add(_record(B, 2, 1.3))
        store.add(_record(C, 4, 1.0, keep_raw=False, scenario="Offline", batch_size=8))
        store.add(_record(D, 6, 1.0))
    return reef


def _state(reef: Reef) -> list[Any]:
    """Everything a refused comparison must leave as it was: the stored runs, the run folders."""
    from reef.results import Store

    with Store(f"sqlite:///{reef.home / 'reef.db'}") as store:
        runs = [r.model_dump_json() for r in store.list()]
    return [runs, reef.run_dirs()]


def test_compare_prints_the_runs_side_by_side_and_a_verdict(seeded: Reef) -> None:
    result = seeded.ok("compare", "aaaa", "bbbb")
    out = result.stdout
    assert "A (baseline)" in out and "aaaa00000000" in out and "bbbb00000000" in out
    for row in ("batch_size", "p50 ms", "p99 ms", "throughput samples/s", "environment vs A"):
        assert row in out, out
    assert "hardware 1: cpu.model" in out
    (verdict,) = [line for line in out.splitlines() if line.startswith("B vs A:")]
    assert verdict.startswith("B vs A: B is 1.") and "x slower (" in verdict, out
    assert "Mann-Whitney" in out and "Cliff's delta" in out
    assert "warning" not in result.stderr


def test_compare_warns_of_different_scenarios_and_falls_back_to_percentiles(seeded: Reef) -> None:
    result = seeded.ok("compare", "aaaa", "bbbb", "cccc", "--metric", "p90")
    assert result.says(
        "warning:", "runs differ in scenario (A SingleStream, B SingleStream, C Offline)"
    )
    assert result.says("runs differ in batch size (A 1, B 1, C 8)")
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("C vs A:")]
    assert line == "C vs A: no clear difference", result.stdout
    assert "C kept no raw latencies" in result.stdout


def test_compare_json(seeded: Reef) -> None:
    result = seeded.ok("compare", "aaaa", "bbbb", "cccc", "--json", "--alpha", "0.01")
    data = result.json()
    assert data["alpha"] == 0.01 and data["baseline"] == "A"
    assert [r["id"] for r in data["runs"]] == [A, B, C]
    b, c = data["versus"]
    assert b["latency"]["method"] == "raw" and b["latency"]["verdict"] == "slower"
    assert b["latency"]["ci_low"] < 1.3 < b["latency"]["ci_high"]
    assert c["latency"]["method"] == "summary"
    batch = next(s for s in data["settings"] if s["name"] == "batch_size")
    assert batch == {"name": "batch_size", "values": [1, 1, 8], "differs": True}
    assert any("scenario" in w for w in data["warnings"])
    assert result.says("warning:", "scenario")  # on stderr too, stdout stays JSON


def test_compare_real_runs(benched: Benched) -> None:
    """Two real runs of the built-in classifier (SingleStream, MultiStream) with raw latencies."""
    single, multi = (r["id"] for r in benched.records)
    result = benched.reef.ok("compare", single[:10], multi[:10], "--json")
    data = result.json()
    (vs,) = data["versus"]
    assert vs["latency"]["method"] == "raw" and vs["latency"]["sentence"]
    assert data["runs"][0]["raw_latencies"] > 0
    assert vs["environment"]["identical"]
    assert any("scenario (A SingleStream, B MultiStream)" in w for w in data["warnings"])
    json.dumps(data, allow_nan=False)


# --- bad input: exit 2, a clear message, nothing written ------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((), ("compare needs at least two runs, got none",)),
        (("aaaa",), ("compare needs at least two runs, got only 'aaaa'",)),
        (("aaaa", "ffff"), ("no run matches 'ffff'", "reef runs list")),
        (
            ("aaa", "bbbb"),
            ("'aaa' is ambiguous: 2 runs match", f"{A} (tiny@1.0, SingleStream, 2025-03-01 00:00)",
             f"{D} (tiny@1.0, SingleStream, 2025-03-01 00:06)"),
        ),
        (("aaaa", A), (f"run {A} is given twice ('aaaa' and '{A}')",)),
        (("aaaa", "bbbb", "--metric", "p42"),
         ("no latency statistic 'p42'", "they have: min, mean, p50, p90, p95, p99, max")),
        (("aaaa", "bbbb", "--alpha", "1"), ("--alpha must be between 0 and 1, got 1",)),
        (("aaaa", "bbbb", "--tolerance", "-0.5"), ("--tolerance must be a fraction",)),
    ],
)  # fmt: skip
def test_bad_input(seeded: Reef, args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    before = _state(seeded)
    result = seeded("compare", *args)
    assert_usage_error(result, *fragments)
    assert result.stdout == ""
    assert _state(seeded) == before


def test_bad_input_with_json_is_a_json_error(seeded: Reef) -> None:
    result = seeded("compare", "aaa", "bbbb", "--json")
    assert result.rc == 2
    data = assert_json_error(result, "'aaa' is ambiguous", f"{A} (tiny@1.0, SingleStream")
    assert data["error"] == "RunNotFound"
    result = seeded("compare", "aaaa", "bbbb", "--metric", "p42", "--json")
    assert result.rc == 2
    data = assert_json_error(result, "'p42'", "they have: min, mean, p50")
    assert data["error"] == "CompareError"


def test_too_few_runs_in_an_empty_home_create_nothing(reef: Reef) -> None:
    assert_usage_error(reef("compare", "abc"), "at least two runs")
    assert not reef.home.exists()
