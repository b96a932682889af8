"""A run's bundle (reef.bench.bundle): made from real runs of the built-in classifier, it
verifies as it was made; every edit of a figure, a log, a path or a version is refused with a
message that names it."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reef.bench import bundle as bundle_module
from reef.bench.bundle import build_bundle, check_path, verify_bundle
from reef.errors import BundleError, BundleTooLarge, FiguresMismatch
from reef.meta.run import RunRecord, load_record

DETAIL = "performance/mlperf_log_detail.txt"
SUMMARY = "performance/mlperf_log_summary.txt"


def bench_runs(home: Path, *args: str) -> list[RunRecord]:
    """Real runs of the built-in classifier in ``home`` (a REEF_HOME of their own), read back
    from the record.json each run's folder holds (raw latencies included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-m", "reef", "bench", "digits-classifier", "--duration", "0.3", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode in (0, 1), out.stderr[-3000:]
    records = [
        load_record(json.loads(path.read_text(encoding="utf-8")), str(path))
        for path in sorted((home / "runs").glob("*/record.json"))
    ]
    return sorted(records, key=lambda r: r.created_at)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunRecord]:
    """SingleStream (performance and accuracy), Offline, and MultiStream in two processes."""
    base = tmp_path_factory.mktemp("bundle-runs")
    found = bench_runs(base / "one", "--scenario", "SingleStream", "--scenario", "Offline")
    repeated = bench_runs(
        base / "two", "--scenario", "MultiStream", "--repeat", "2", "--mode", "performance"
    )
    by_scenario = {r.settings.scenario: r for r in found}
    by_scenario["repeated"] = repeated[0]
    return by_scenario


def bundle_of(record: RunRecord) -> dict[str, Any]:
    return json.loads(build_bundle(record).model_dump_json())


def refused(bundle: dict[str, Any], kind: type[BundleError] = BundleError) -> str:
    with pytest.raises(kind) as caught:
        verify_bundle(bundle)
    return caught.value.message


def file_of(bundle: dict[str, Any], path: str) -> dict[str, Any]:
    return next(f for f in bundle["files"] if f["path"] == path)


def replace_file(bundle: dict[str, Any], path: str, data: bytes, *, rehash: bool = True) -> None:
    item = file_of(bundle, path)
    item["data"] = base64.b64encode(data).decode("ascii")
    if rehash:
        item["sha256"] = hashlib.sha256(data).hexdigest()


def decoded(bundle: dict[str, Any], path: str) -> bytes:
    return base64.b64decode(file_of(bundle, path)["data"])


# --- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["SingleStream", "Offline", "repeated"])
def test_a_bundle_verifies_as_it_was_made(runs: dict[str, RunRecord], scenario: str) -> None:
    record = runs[scenario]
    bundle = bundle_of(record)
    run = verify_bundle(bundle)
    assert run.record.model_dump(mode="json") == record.model_dump(mode="json")
    assert run.record.latencies_ns == record.latencies_ns
    for path, data in run.files.items():
        assert data == decoded(bundle, path)
    # The same content, the same digest; a RunBundle verifies as its dict does.
    assert verify_bundle(build_bundle(record)).digest == run.digest


def test_what_a_bundle_holds(runs: dict[str, RunRecord]) -> None:
    single = bundle_of(runs["SingleStream"])
    assert [f["path"] for f in single["files"]] == [
        SUMMARY,
        DETAIL,
        "accuracy/mlperf_log_summary.txt",
        "accuracy/mlperf_log_detail.txt",
        "accuracy/mlperf_log_accuracy.json",
    ]
    run_dir = Path(runs["SingleStream"].artifacts["loadgen_performance"])
    assert decoded(single, DETAIL) == (run_dir / "mlperf_log_detail.txt").read_bytes()
    repeated = bundle_of(runs["repeated"])
    assert [f["path"] for f in repeated["files"]] == [
        "process-1/performance/mlperf_log_summary.txt",
        "process-1/performance/mlperf_log_detail.txt",
        "process-2/performance/mlperf_log_summary.txt",
        "process-2/performance/mlperf_log_detail.txt",
    ]


def test_a_moved_run_folder_is_found_under_reef_home(
    runs: dict[str, RunRecord], reef_home: Path
) -> None:
    record = runs["Offline"]
    elsewhere = record.model_copy(deep=True)
    elsewhere.artifacts["loadgen_performance"] = f"/nowhere/runs/{record.id}/performance"
    import shutil

    shutil.copytree(
        Path(record.artifacts["loadgen_performance"]).parent, reef_home / "runs" / record.id
    )
    assert bundle_of(elsewhere)["files"] == bundle_of(record)["files"]


def test_a_run_whose_logs_are_gone_cannot_be_bundled(runs: dict[str, RunRecord]) -> None:
    record = runs["Offline"].model_copy(deep=True)
    record.artifacts["loadgen_performance"] = f"/nowhere/runs/{record.id}/performance"
    with pytest.raises(BundleError, match=r"mlperf_log_summary\.txt is missing"):
        build_bundle(record)


# --- edited figures -------------------------------------------------------------------------


def test_an_edited_p99_is_refused_naming_it(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["SingleStream"])
    true = bundle["record"]["performance"]["latency_ms"]["p99"]
    bundle["record"]["performance"]["latency_ms"]["p99"] = true / 2
    message = refused(bundle, FiguresMismatch)
    assert message == (
        f"run {runs['SingleStream'].id}: performance.latency_ms.p99: the record says "
        f"{true / 2!r} ms, LoadGen's detail log ({DETAIL}) says {true!r} ms"
    )


def test_an_edited_throughput_is_refused_naming_it(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    true = bundle["record"]["performance"]["throughput_qps"]
    bundle["record"]["performance"]["throughput_qps"] = true * 1.5
    message = refused(bundle, FiguresMismatch)
    assert f"performance.throughput_qps: the record says {true * 1.5!r} samples/s" in message
    assert f"LoadGen's detail log ({DETAIL}) says {true!r} samples/s" in message


@pytest.mark.parametrize(
    ("field", "edit", "named"),
    [
        (("performance", "queries"), lambda v: v + 1, "performance.queries"),
        (("performance", "samples"), lambda v: v * 2, "performance.samples"),
        (("performance", "latency_ms", "mean"), lambda v: v * 0.9, "performance.latency_ms.mean"),
        (("performance", "latency_ms", "min"), lambda v: v * 0.5, "performance.latency_ms.min"),
        (("loadgen", "result"), lambda v: "INVALID", "loadgen.result"),
        (("settings", "scenario"), lambda v: "Server", "settings.scenario"),
        (("accuracy", "samples"), lambda v: v + 10, "accuracy.samples"),
    ],
)
def test_every_figure_is_held_to_loadgen(
    runs: dict[str, RunRecord], field: tuple[str, ...], edit: Any, named: str
) -> None:
    bundle = bundle_of(runs["SingleStream"])
    where = bundle["record"]
    for key in field[:-1]:
        where = where[key]
    where[field[-1]] = edit(where[field[-1]])
    assert f": {named}: the record says " in refused(bundle, FiguresMismatch)


def test_a_log_edited_to_match_an_edited_record_is_caught_by_the_summary(
    runs: dict[str, RunRecord],
) -> None:
    bundle = bundle_of(runs["SingleStream"])
    detail = decoded(bundle, DETAIL).decode("utf-8")
    true_ms = bundle["record"]["performance"]["latency_ms"]["p99"]
    true_ns = round(true_ms * 1e6)
    key = '"result_99.00_percentile_latency_ns", "value": '
    assert f"{key}{true_ns}" in detail
    replace_file(bundle, DETAIL, detail.replace(f"{key}{true_ns}", f"{key}{true_ns // 2}").encode())
    bundle["record"]["performance"]["latency_ms"]["p99"] = (true_ns // 2) / 1e6
    message = refused(bundle, FiguresMismatch)
    assert "performance.latency_ms.p99" in message
    assert f"LoadGen's summary log ({SUMMARY}) says {true_ns / 1e6!r} ms" in message


def test_the_processes_of_a_repeated_run_are_each_checked(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["repeated"])
    bundle["record"]["processes"][1]["latency_ms"]["p90"] *= 0.5
    message = refused(bundle, FiguresMismatch)
    assert "processes[1].latency_ms.p90: the record says" in message
    assert "process-2/performance/mlperf_log_detail.txt" in message
    merged = bundle_of(runs["repeated"])
    merged["record"]["performance"]["latency_ms"]["p50"] *= 0.5
    message = refused(merged, FiguresMismatch)
    assert "performance.latency_ms.p50: the record says" in message
    assert "merged as --repeat merges them" in message


def test_figures_without_logs_are_refused(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    del bundle["record"]["artifacts"]["loadgen_performance"]
    bundle["files"] = []
    assert "names no folder of LoadGen's logs" in refused(bundle)
    missing = bundle_of(runs["Offline"])
    missing["files"] = [f for f in missing["files"] if f["path"] != DETAIL]
    assert f"{DETAIL} is not in the bundle" in refused(missing)


# --- runs without LoadGen's figures ---------------------------------------------------------


def test_a_run_without_performance_figures_needs_no_performance_logs(
    runs: dict[str, RunRecord],
) -> None:
    """An accuracy-only run: its accuracy logs come along and are checksummed; there is no
    performance figure to vouch for."""
    record = runs["SingleStream"].model_copy(deep=True)
    record.performance = None
    assert record.loadgen is not None
    record.loadgen.result = None
    record.loadgen.reasons = []
    del record.artifacts["loadgen_performance"]
    bundle = bundle_of(record)
    assert [f["path"] for f in bundle["files"]] == [
        "accuracy/mlperf_log_summary.txt",
        "accuracy/mlperf_log_detail.txt",
        "accuracy/mlperf_log_accuracy.json",
    ]
    assert verify_bundle(bundle).record.accuracy == record.accuracy


def test_a_failed_run_without_logs_is_accepted(runs: dict[str, RunRecord]) -> None:
    record = runs["Offline"].model_copy(deep=True)
    record.status, record.reasons = "failed", ["WorkerCrashed: the worker died"]
    record.loadgen, record.performance, record.accuracy = None, None, None
    record.artifacts = {"run_dir": f"/somewhere/runs/{record.id}"}
    bundle = bundle_of(record)
    assert bundle["files"] == []
    assert verify_bundle(bundle).record.status == "failed"


# --- files and paths ------------------------------------------------------------------------


def test_a_log_whose_sha256_differs_is_refused(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["SingleStream"])
    declared = file_of(bundle, DETAIL)["sha256"]
    data = decoded(bundle, DETAIL).replace(b"VALID", b"VALIX")
    replace_file(bundle, DETAIL, data, rehash=False)
    message = refused(bundle)
    assert (
        f"files[1] '{DETAIL}': sha256 mismatch: the bundle declares {declared}, the file has "
        f"{hashlib.sha256(data).hexdigest()}"
    ) in message


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../../etc/passwd", "leaves the run's folder (..)"),
        ("performance/../../x", "leaves the run's folder (..)"),
        ("/etc/passwd", "is absolute"),
        ("C:/x/mlperf_log_detail.txt", "is absolute"),
        ("performance\\mlperf_log_detail.txt", "holds a backslash"),
        ("performance/.hidden", "is not a plain name"),
        ("performance//mlperf_log_detail.txt", "is not a plain name"),
        ("", "is empty"),
    ],
)
def test_unsafe_paths_are_refused(runs: dict[str, RunRecord], path: str, why: str) -> None:
    assert why in (check_path(path) or "")
    bundle = bundle_of(runs["Offline"])
    file_of(bundle, SUMMARY)["path"] = path
    message = refused(bundle)
    assert f"files[0] {path!r}: the path " in message and why in message


def test_only_loadgen_logs_of_the_records_folders_travel(runs: dict[str, RunRecord]) -> None:
    for path in ("performance/index.html", "record.json", "process-1/mlperf_log_detail.txt"):
        bundle = bundle_of(runs["Offline"])
        file_of(bundle, SUMMARY)["path"] = path
        message = refused(bundle)
        assert "the server writes this file itself" in message or (
            "not one of LoadGen's logs in a folder the record names" in message
        )


def test_a_file_twice_is_refused(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    bundle["files"].append(copy.deepcopy(file_of(bundle, DETAIL)))
    assert f"'{DETAIL}': the path is in the bundle twice" in refused(bundle)


def test_bad_base64_is_refused(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    file_of(bundle, DETAIL)["data"] = "not base64!!"
    assert f"files[1] '{DETAIL}': data is not valid base64" in refused(bundle)


def test_a_malformed_sha256_is_refused(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    file_of(bundle, DETAIL)["sha256"] = "ABC"
    assert "is not 64 lowercase hex digits" in refused(bundle)


def test_size_caps(runs: dict[str, RunRecord], monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = bundle_of(runs["Offline"])
    monkeypatch.setattr(bundle_module, "MAX_FILE_BYTES", 100)
    assert "a file may hold" in refused(bundle, BundleTooLarge)
    monkeypatch.undo()
    monkeypatch.setattr(bundle_module, "MAX_FILES_BYTES", 1000)
    assert "a bundle may hold" in refused(bundle, BundleTooLarge)
    monkeypatch.setattr(bundle_module, "MAX_RECORD_BYTES", 1000)
    assert "the record is" in refused(bundle, BundleTooLarge)


# --- versions and shape ---------------------------------------------------------------------


def test_a_newer_bundle_format_is_named(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    bundle["format"] = 7
    message = refused(bundle)
    assert "bundle format 7 is newer than this Reef understands (1)" in message


def test_a_newer_record_format_is_named(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    bundle["record"]["format_version"] = 9
    message = refused(bundle)
    assert message == (
        f"run {runs['Offline'].id}: record format_version 9 is newer than this Reef understands (1)"
    )


def test_a_record_that_is_not_a_record_is_refused(runs: dict[str, RunRecord]) -> None:
    bundle = bundle_of(runs["Offline"])
    bundle["record"]["status"] = "splendid"
    assert "not a valid run record: record: status:" in refused(bundle)
    bundle = bundle_of(runs["Offline"])
    bundle["record"]["id"] = "../../escape"
    assert "record id '../../escape' cannot name a run" in refused(bundle)
    bundle = bundle_of(runs["Offline"])
    bundle["extra"] = 1
    assert "extra: unknown field" in refused(bundle)
    assert "is a JSON object" in refused([])  # type: ignore[arg-type]


# --- the trace --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> RunRecord:
    """A traced run (a span per query and stage): its trace.json.gz travels in its bundle."""
    home = tmp_path_factory.mktemp("bundle-traced")
    (record,) = bench_runs(
        home, "--scenario", "SingleStream", "--mode", "performance", "--trace", "model"
    )
    assert record.trace is not None and record.trace.path
    return record


def test_a_traced_runs_trace_travels_and_verifies(traced: RunRecord, tmp_path: Path) -> None:
    from reef.api.submissions import accept_bundles
    from reef.bench.bundle import trace_name

    bundle = bundle_of(traced)
    name = trace_name(traced)
    assert name == "trace.json.gz"
    assert [f["path"] for f in bundle["files"]][-1] == name
    assert decoded(bundle, name) == Path(traced.trace.path).read_bytes()  # type: ignore[union-attr]
    run = verify_bundle(bundle)
    assert run.files[name] == decoded(bundle, name)
    # The server keeps it where its run page looks for it.
    accept_bundles([bundle], db_url=f"sqlite:///{tmp_path / 's.db'}", files_root=tmp_path / "f")
    kept = tmp_path / "f" / traced.id / name
    assert kept.read_bytes() == decoded(bundle, name)


def test_a_trace_that_is_not_a_gzip_of_json_is_refused(
    traced: RunRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    from reef.bench import bundle as bundle_module

    real = decoded(bundle_of(traced), "trace.json.gz")
    for data, says in (
        (b"<script>alert(1)</script>", "not a gzip file"),
        (gzip.compress(b"<html></html>"), "does not unpack to JSON"),
        (real[: len(real) // 2], "cut short"),
    ):
        bundle = bundle_of(traced)
        replace_file(bundle, "trace.json.gz", data)
        message = refused(bundle)
        assert "trace.json.gz" in message and says in message, message
    # A bomb: read no further than the cap.
    monkeypatch.setattr(bundle_module, "_TRACE_UNPACKED_MAX", 1000)
    bundle = bundle_of(traced)
    replace_file(bundle, "trace.json.gz", gzip.compress(b"[" + b" " * 100_000 + b"]"))
    assert "unpacks to more than 1000 bytes" in refused(bundle)


def test_a_trace_over_the_cap_is_left_out_with_a_note(
    traced: RunRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reef.bench import bundle as bundle_module

    notes: list[str] = []
    size = Path(traced.trace.path).stat().st_size  # type: ignore[union-attr]
    logs = sum(
        len(base64.b64decode(f["data"]))
        for f in bundle_of(traced)["files"]
        if f["path"] != "trace.json.gz"
    )
    monkeypatch.setattr(bundle_module, "MAX_FILES_BYTES", logs + size - 1)
    made = build_bundle(traced, note=notes.append)
    assert "trace.json.gz" not in [f.path for f in made.files]
    assert any("its trace trace.json.gz left out of the bundle" in n for n in notes), notes
    verify_bundle(json.loads(made.model_dump_json()))  # a bundle without it still verifies


# --- compliance audits -------------------------------------------------------------------------

AUDIT = "compliance/TEST01"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> RunRecord:
    """An Offline run with its TEST01 and TEST04 audits (reef bench --audit)."""
    home = tmp_path_factory.mktemp("bundle-audited")
    (record,) = bench_runs(home, "--scenario", "Offline", "--audit", "TEST01", "--audit", "TEST04")
    assert [a.test for a in record.audits] == ["TEST01", "TEST04"]
    return record


def test_an_audited_runs_compliance_files_travel_and_the_server_keeps_them(
    audited: RunRecord, tmp_path: Path
) -> None:
    from reef.api.submissions import accept_bundles

    bundle = bundle_of(audited)
    paths = {f["path"] for f in bundle["files"]}
    folders = {a.test: Path(a.path) for a in audited.audits}
    for test, names in (
        (
            "TEST01",
            ("verify_accuracy.txt", "verify_performance.txt", "accuracy/mlperf_log_accuracy.json"),
        ),
        ("TEST04", ("verify_performance.txt",)),
    ):
        for name in ("audit.config", "performance/run_1/mlperf_log_detail.txt", *names):
            where = f"compliance/{test}/{name}"
            assert where in paths, where
            assert decoded(bundle, where) == (folders[test] / name).read_bytes()
    assert "compliance/TEST04/verify_accuracy.txt" not in paths
    assert not any(p.endswith("mlperf_log_trace.json") for p in paths)
    run = verify_bundle(bundle)
    assert set(run.files) == paths
    accept_bundles([bundle], db_url=f"sqlite:///{tmp_path / 's.db'}", files_root=tmp_path / "f")
    kept = tmp_path / "f" / audited.id / AUDIT / "verify_performance.txt"
    assert kept.read_bytes() == decoded(bundle, f"{AUDIT}/verify_performance.txt")


def test_a_verify_file_that_contradicts_the_record_is_refused(audited: RunRecord) -> None:
    bundle = bundle_of(audited)
    checks = {c.name: c.passed for c in audited.audits[0].checks}
    flipped = b"TEST FAIL: edited\n" if checks["performance"] else b"TEST PASS\n"
    replace_file(bundle, f"{AUDIT}/verify_performance.txt", flipped)
    with pytest.raises(FiguresMismatch) as caught:
        verify_bundle(bundle)
    assert caught.value.field == "audits[0].checks.performance"
    assert caught.value.log == f"{AUDIT}/verify_performance.txt"
    # The record edited to agree with nothing LoadGen wrote: its audit flipped instead.
    bundle = bundle_of(audited)
    for check in bundle["record"]["audits"][0]["checks"]:
        if check["name"] == "accuracy":
            check["passed"] = not check["passed"]
    with pytest.raises(FiguresMismatch) as caught:
        verify_bundle(bundle)
    assert caught.value.field == "audits[0].checks.accuracy"


def test_a_verify_file_without_a_verdict_or_a_detail_log_that_is_not_one_is_refused(
    audited: RunRecord,
) -> None:
    bundle = bundle_of(audited)
    replace_file(bundle, f"{AUDIT}/verify_accuracy.txt", b"<script>alert(1)</script>\n")
    assert "verify_accuracy.txt: no TEST PASS or TEST FAIL line" in refused(bundle)
    bundle = bundle_of(audited)
    replace_file(bundle, f"{AUDIT}/performance/run_1/mlperf_log_detail.txt", b"hello\n")
    assert "mlperf_log_detail.txt: not a LoadGen detail log" in refused(bundle)


def test_only_an_audits_own_files_travel(audited: RunRecord) -> None:
    for path in (
        f"{AUDIT}/run.sh",
        "compliance/TEST05/verify_performance.txt",  # an audit the record does not name
        f"{AUDIT}/performance/run_1/mlperf_log_trace.json",
    ):
        bundle = bundle_of(audited)
        file_of(bundle, f"{AUDIT}/audit.config")["path"] = path
        assert "nor an audit's file" in refused(bundle), path


def test_an_audit_whose_folder_is_gone_still_bundles_without_it(
    audited: RunRecord, tmp_path: Path
) -> None:
    moved = audited.model_copy(deep=True)
    moved.audits[0].path = str(tmp_path / "gone" / moved.id / AUDIT)
    from reef import config

    gone = config.runs_dir() / moved.id / AUDIT  # not under this test's REEF_HOME either
    assert not gone.exists()
    bundle = bundle_of(moved)
    assert not any(f["path"].startswith(f"{AUDIT}/") for f in bundle["files"])
    assert any(f["path"].startswith("compliance/TEST04/") for f in bundle["files"])
    verify_bundle(bundle)


def test_audit_files_over_the_caps_are_left_out_with_a_note(
    audited: RunRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = bundle_of(audited)["files"]
    logs = sum(len(base64.b64decode(f["data"])) for f in whole if "compliance/" not in f["path"])
    monkeypatch.setattr(bundle_module, "MAX_FILES_BYTES", logs + 1000)  # room for configs only
    notes: list[str] = []
    made = build_bundle(audited, note=notes.append)
    kept = [f.path for f in made.files if f.path.startswith("compliance/")]
    assert f"{AUDIT}/audit.config" in kept
    assert f"{AUDIT}/performance/run_1/mlperf_log_detail.txt" not in kept
    assert any(
        n.startswith(
            f"run {audited.id}: audit file {AUDIT}/performance/run_1/mlperf_log_detail.txt"
        )
        and "left out of the bundle" in n
        for n in notes
    ), notes
    verify_bundle(json.loads(made.model_dump_json()))  # a bundle without them still verifies
