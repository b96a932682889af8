"""The flat API's conveniences: ``bench`` with scenarios and keyword settings, latencies as
numpy arrays, runs as a pandas DataFrame, run ids or ``RunRecord``s alike, and results that are
pydantic models whose JSON is what the command prints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from factories import T0, from_raw, rid, run_record
from reef import api
from reef.api.runs import FRAME_COLUMNS, NoLatencies
from reef.api.trace import NoTrace
from reef.errors import SettingsError
from reef.results import Store
from reef.results.query import RunFilter

RAW = [int(2e6 + 1000 * i) for i in range(200)]  # 2 ms to 2.2 ms


@pytest.fixture
def stored() -> Iterator[list[Any]]:
    records = [
        run_record(rid("a"), minutes=1, raw=RAW, **from_raw(RAW), accuracy=0.9),
        run_record(
            rid("b"),
            minutes=2,
            name="bert",
            version=None,
            scenario="Offline",
            backend=None,
            latency_ms=None,
            status="failed",
        ),
        run_record(rid("c"), minutes=3, raw=[r * 2 for r in RAW], **from_raw([r * 2 for r in RAW])),
    ]
    with Store() as s:
        s.add_many(records)
    yield records


# -- bench ------------------------------------------------------------------------------------


def test_bench_refuses_settings_and_scenarios_together() -> None:
    with pytest.raises(SettingsError, match="not both"):
        api.bench("digits-classifier", api.bench_settings(), scenarios=["Offline"])
    with pytest.raises(SettingsError, match="duration_s"):
        api.bench("digits-classifier", api.bench_settings(), duration_s=1)


def test_bench_validates_keyword_settings_before_measuring(reef_home: Any) -> None:
    with pytest.raises(SettingsError, match="scenario"):
        api.bench("digits-classifier", scenarios=["Sideways"])
    with pytest.raises(SettingsError, match="--duration"):
        api.bench("digits-classifier", duration_s=-1)
    with pytest.raises(SettingsError, match="must be BenchSettings"):
        api.bench("digits-classifier", ["SingleStream"])  # type: ignore[list-item]
    assert api.runs_list() == []


def test_bench_with_scenarios_and_settings_measures_each(reef_home: Any) -> None:
    runs = api.bench(
        "digits-classifier",
        scenarios=["single-stream", "Offline"],
        duration_s=0.2,
        mode="performance",
        raw_latencies=True,
        in_process=True,
    )
    assert [r.scenario for r in runs] == ["SingleStream", "Offline"]
    assert all(r.settings.duration_s == 0.2 and r.settings.mode == "performance" for r in runs)
    lat = api.latencies(runs[0])
    assert lat.dtype == np.float64 and lat.size == runs[0].performance.queries  # type: ignore[union-attr]
    assert api.runs_show(runs[1].id[:8]).id == runs[1].id


# -- latencies --------------------------------------------------------------------------------


def test_latencies_are_numpy_arrays_in_the_unit_asked(stored: list[Any]) -> None:
    raw = api.run_latencies(rid("a")[:6])
    assert raw is not None and raw.dtype == np.int64 and raw.tolist() == RAW
    ms = api.latencies(stored[0])
    assert ms.dtype == np.float64 and ms[0] == 2.0 and ms.size == len(RAW)
    assert api.latencies(rid("a"), unit="us")[0] == 2000.0
    assert api.run_latencies(rid("b")) is None
    with pytest.raises(NoLatencies, match="kept no raw latencies"):
        api.latencies(rid("b"))
    with pytest.raises(SettingsError, match="unit"):
        api.latencies(rid("a"), unit="minutes")  # type: ignore[arg-type]


def test_a_record_without_its_latencies_is_read_again_for_them(stored: list[Any]) -> None:
    summary = api.runs_show(rid("a"))
    assert summary.latencies_ns is None
    assert api.runs_show(summary) is summary
    assert api.runs_show(summary, with_latencies=True).latencies_ns == RAW


# -- runs_frame -------------------------------------------------------------------------------


def test_runs_frame_has_the_csv_columns_with_their_dtypes(stored: list[Any]) -> None:
    frame = api.runs_frame()
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert list(frame["id"]) == [rid("c"), rid("b"), rid("a")]  # newest first
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes["created_at"].startswith("datetime64") and dtypes["created_at"].endswith("UTC]")
    for column in ("p50_ms", "p90_ms", "p99_ms", "throughput_qps", "accuracy_value"):
        assert dtypes[column] == "float64", column
    for column in ("id", "model", "version", "scenario", "backend", "status", "solution"):
        assert dtypes[column] == "string", column
    a = frame.set_index("id").loc[rid("a")]
    assert a["created_at"].to_pydatetime() == T0.replace(minute=1)
    assert a["p50_ms"] == pytest.approx(np.percentile(np.asarray(RAW) / 1e6, 50))
    assert (a["model"], a["backend"], a["accuracy_metric"]) == ("resnet", "onnxruntime", "top1")
    b = frame.set_index("id").loc[rid("b")]
    assert np.isnan(b["p90_ms"]) and b["backend"] is pd.NA


def test_runs_frame_takes_a_filter_a_sort_and_a_limit(stored: list[Any]) -> None:
    frame = api.runs_frame(RunFilter(model="resnet"), sort="p50", limit=1)
    assert list(frame["id"]) == [rid("a")]
    assert len(api.runs_frame(RunFilter(model="nothing"))) == 0


def test_runs_frame_without_pandas_names_the_extra(
    stored: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(SettingsError) as caught:
        api.runs_frame()
    assert "pandas" in caught.value.message and "\n" not in caught.value.message
    assert caught.value.hint == "pip install 'reef-bench[pandas]'"


# -- runs as ids or records -------------------------------------------------------------------


def test_compare_takes_records_that_were_never_stored() -> None:
    a = run_record(rid("x"), raw=RAW, **from_raw(RAW))
    b = run_record(rid("y"), raw=[r * 2 for r in RAW], **from_raw([r * 2 for r in RAW]))
    result = api.compare([a, b])
    assert result.versus[0].latency.verdict == "slower"


def test_compare_mixes_ids_and_records(stored: list[Any]) -> None:
    result = api.compare([stored[0], rid("c")[:5]])
    assert [r.id for r in result.runs] == [rid("a"), rid("c")]


def test_env_diff_and_trace_take_records(stored: list[Any]) -> None:
    assert api.env_diff(stored[0], stored[2]).identical
    with pytest.raises(NoTrace, match="without --trace"):
        api.trace_summary(stored[0])


# -- results are pydantic models --------------------------------------------------------------


def test_show_is_a_typed_model_whose_json_is_the_flat_manifest() -> None:
    details = api.show("digits-classifier")
    assert details.manifest.name == "digits-classifier" and details.trusted
    data = details.model_dump(mode="json")
    assert list(data)[:3] == ["kind", "name", "version"]
    assert list(data)[-5:] == ["repository", "trusted", "path", "files", "versions"]
    assert "shadows" not in data and "manifest" not in data


def test_search_and_detect_are_typed() -> None:
    hits = api.search("digits", kind="model")
    assert hits and all(isinstance(h, api.SearchHit) and h.kind == "model" for h in hits)
    fingerprint = api.detect(components=False)
    assert isinstance(fingerprint, api.Fingerprint) and len(fingerprint.hash) == 64
    assert list(fingerprint.model_dump(mode="json"))[:4] == ["hardware", "os", "software", "hash"]
    fingerprint.hardware.clear()  # a copy: the next caller gets the cached facts whole
    assert api.detect(components=False).hardware


def test_results_read_back_from_their_json(stored: list[Any]) -> None:
    for result in (api.search("digits")[0], api.detect(components=False), api.config_show()):
        again = type(result).model_validate_json(result.model_dump_json())
        assert again == result
