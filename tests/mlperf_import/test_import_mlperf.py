"""``import_mlperf``: an MLPerf submission tree into the store as runs marked as imported.

The tree under tests/data/mlperf/inference_results_v5.1 (written by generate.py there) has
two closed-division submitters in the layout MLCommons' checker reads: Acme's edge system
(resnet50 SingleStream and Offline, no accelerator) and Bolt's datacenter system (resnet50
Offline and Server, 8 GPUs), each with compliance audits and measurements beside results.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reef import api
from reef.errors import FileRefused, ManifestError
from reef.meta.run import RunRecord

TREE = Path(__file__).parents[1] / "data" / "mlperf" / "inference_results_v5.1"
ACME = "closed/Acme/results/acme_edge_e1/resnet50"
BOLT = "closed/Bolt/results/bolt_dc_8xh100/resnet50"

# (submitter, scenario) -> (throughput, p90 ms, p99 ms, accuracy top1), as generate.py wrote them
EXPECTED = {
    ("Acme", "SingleStream"): (811.67, 1.234567, 1.456789, 0.76014),
    ("Acme", "Offline"): (2345.67, 540.123456, 594.012345, 0.76014),
    ("Bolt", "Offline"): (712345.6, 539.912345, 593.912345, 0.76078),
    ("Bolt", "Server"): (650021.3, 7.812345, 11.212345, 0.76078),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the fixture tree the test may break."""
    copy = tmp_path / "inference_results_v5.1"
    shutil.copytree(TREE, copy)
    return copy


def imported_records() -> dict[tuple[str, str], RunRecord]:
    records = api.runs_list(api.RunFilter(tag="mlperf"))
    out = {}
    for r in records:
        assert r.imported is not None
        out[(r.imported.submitter or "", r.scenario)] = r
    return out


def assert_nothing_written(home: Path) -> None:
    runs = home / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    assert not (home / "reef.db").exists()


def test_each_result_becomes_a_run_with_the_trees_figures(reef_home: Path) -> None:
    report = api.import_mlperf(TREE)
    assert (report.imported, report.already_stored, report.skipped) == (4, 0, [])
    records = imported_records()
    assert set(records) == set(EXPECTED)
    for key, (qps, p90, p99, top1) in EXPECTED.items():
        r = records[key]
        assert r.status == "valid" and r.reasons == []
        assert r.performance is not None and r.accuracy is not None and r.loadgen is not None
        assert r.performance.throughput_qps == pytest.approx(qps)
        assert r.performance.latency_ms.p90 == pytest.approx(p90)
        assert r.performance.latency_ms.p99 == pytest.approx(p99)
        assert (r.accuracy.metric, r.accuracy.value) == ("top1", pytest.approx(top1))
        assert r.accuracy.samples == 50000
        assert r.accuracy.passed is True  # the closed division's target: 99% of 76.46%
        assert r.loadgen.result == "VALID" and r.loadgen.version == "5.1.0"
        assert r.loadgen.effective["qsl_rng_seed"] == 1780908523862526354
        assert (r.target.kind, r.target.name, r.target.version) == ("mlperf", "resnet50", "v5.1")
        assert r.predictor is not None and r.predictor.name == "imported"
        assert r.settings.duration_s == 600.0
        assert r.settings.seed is None  # the round's official seeds, as mlperf.conf sets them
        assert r.imported is not None
        assert (r.imported.division, r.imported.benchmark, r.imported.round) == (
            "closed",
            "resnet50",
            "v5.1",
        )
        assert r.imported.notes == []
    single = records[("Acme", "SingleStream")]
    assert single.performance is not None
    assert single.performance.queries == 487000
    assert single.performance.early_stopping[0].startswith("Processed at least 64 queries")
    assert single.created_at.isoformat() == "2025-07-14T09:12:44+00:00"
    offline = records[("Bolt", "Offline")]
    assert offline.performance is not None and offline.performance.samples == 427407360
    server = records[("Bolt", "Server")]
    assert (server.settings.target_qps, server.settings.latency_bound_ms) == (650000.0, 15.0)


def test_the_system_description_is_the_runs_environment(reef_home: Path) -> None:
    api.import_mlperf(TREE)
    records = imported_records()
    bolt = records[("Bolt", "Server")]
    assert bolt.imported is not None and bolt.imported.system == "bolt_dc_8xh100"
    hardware = bolt.environment["hardware"]
    assert hardware["cpu"] == {"model": "AMD EPYC 9654 96-Core Processor", "logical_cores": 192}
    assert hardware["gpu"]["devices"] == [{"name": "NVIDIA H100-SXM-80GB"}] * 8
    assert bolt.environment["mlperf_system"]["system_type"] == "datacenter"
    assert bolt.predictor is not None and bolt.predictor.version == "TensorRT 10.2, CUDA 12.4"
    acme = records[("Acme", "Offline")]
    assert acme.environment["hardware"]["gpu"]["devices"] == []  # "N/A" is no accelerator
    assert acme.environment["os"]["system"]["name"] == "Ubuntu 22.04.4 LTS"
    labels = {row.hardware for row in api.board().rows}
    assert labels == {
        "Intel(R) Xeon(R) Gold 6448Y",
        "AMD EPYC 9654 96-Core Processor + 8x NVIDIA H100-SXM-80GB",
    }


def test_the_logs_are_copied_to_the_runs_folder(reef_home: Path) -> None:
    api.import_mlperf(TREE)
    r = imported_records()[("Acme", "Offline")]
    folder = reef_home / "runs" / r.id
    source = TREE / ACME / "Offline"
    for rel, original in [
        ("performance/mlperf_log_detail.txt", "performance/run_1/mlperf_log_detail.txt"),
        ("performance/mlperf_log_summary.txt", "performance/run_1/mlperf_log_summary.txt"),
        ("accuracy/accuracy.txt", "accuracy/accuracy.txt"),
        ("accuracy/mlperf_log_accuracy.json", "accuracy/mlperf_log_accuracy.json"),
        ("accuracy/mlperf_log_detail.txt", "accuracy/mlperf_log_detail.txt"),
    ]:
        assert (folder / rel).read_bytes() == (source / original).read_bytes(), rel
    system = json.loads((folder / "system.json").read_text())
    assert system["submitter"] == "Acme"
    assert json.loads((folder / "record.json").read_text())["id"] == r.id
    assert r.artifacts["loadgen_performance"] == str(folder / "performance")
    assert r.artifacts["loadgen_accuracy"] == str(folder / "accuracy")
    assert r.loadgen is not None and r.loadgen.log_dir == str(folder)
    # The compliance audits' logs are read by a checker, not imported as results.
    assert sorted(p.name for p in (reef_home / "runs").iterdir()) == sorted(
        x.id for x in imported_records().values()
    )


def test_an_accuracy_log_over_the_cap_is_left_out_with_a_note(
    tree: Path, reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An untruncated accuracy log can be GBs: over the import's cap it is not copied, and
    the run keeps its accuracy.txt figure and says what was left out."""
    from reef.mlperf import importer

    log = tree / ACME / "Offline" / "accuracy" / "mlperf_log_accuracy.json"
    entry = '{"seq_id": 0, "qsl_idx": 0, "data": "00000000"}'
    log.write_text("[\n" + ",\n".join([entry] * 400) + "\n]\n")  # about 20 KB
    monkeypatch.setattr(importer, "COPY_MAX_BYTES", 16_000)  # above every other file's size
    api.import_mlperf(tree)
    r = imported_records()[("Acme", "Offline")]
    folder = reef_home / "runs" / r.id
    assert not (folder / "accuracy" / "mlperf_log_accuracy.json").exists()
    assert (folder / "accuracy" / "accuracy.txt").is_file()
    assert r.accuracy is not None and r.accuracy.value == pytest.approx(0.76014)
    assert r.imported is not None
    [note] = [n for n in r.imported.notes if "mlperf_log_accuracy.json" in n]
    assert "not copied" in note and "over the import's cap" in note


def test_a_file_grown_past_the_cap_since_the_scan_is_refused_and_nothing_is_left(
    tree: Path, reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reef.mlperf import importer

    found, _ = importer.scan(tree / ACME / "Offline", None)
    monkeypatch.setattr(importer, "COPY_MAX_BYTES", 100)  # every log is larger now
    monkeypatch.setattr(importer, "scan", lambda path, round_: (found, []))
    with pytest.raises(FileRefused, match="more than the 100 bytes"):
        api.import_mlperf(tree / ACME / "Offline")
    runs = reef_home / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_importing_again_stores_nothing_new(reef_db: str) -> None:
    first = api.import_mlperf(TREE)
    again = api.import_mlperf(TREE)
    assert (again.imported, again.already_stored) == (0, 4)
    assert {r.id for r in again.runs} == {r.id for r in first.runs}
    assert {r.result for r in again.runs} == {"already stored"}
    # A part of the tree, or a copy of it elsewhere, holds the same results.
    part = api.import_mlperf(TREE / "closed" / "Bolt")
    assert (part.imported, part.already_stored) == (0, 2)
    assert len(api.runs_list()) == 4


def test_a_submitter_folder_or_one_scenario_folder_imports_alone(reef_home: Path) -> None:
    report = api.import_mlperf(TREE / "closed" / "Acme", mlperf_round="v5.0")
    assert sorted(r.scenario for r in report.runs) == ["Offline", "SingleStream"]
    assert {r.submitter for r in report.runs} == {"Acme"}
    one = api.import_mlperf(TREE / BOLT / "Server")
    assert [(r.system, r.scenario, r.result) for r in one.runs] == [
        ("bolt_dc_8xh100", "Server", "imported")
    ]
    versions = {r.target.version for r in api.runs_list()}
    assert versions == {"v5.0", "v5.1"}  # --round, then the folder's name


def test_imported_runs_compare_and_make_a_frontier(reef_home: Path) -> None:
    api.import_mlperf(TREE)
    records = imported_records()
    a, b = records[("Acme", "Offline")], records[("Bolt", "Offline")]
    comparison = api.compare([a.id, b.id])
    assert [r.id for r in comparison.runs] == [a.id, b.id]
    frontier = api.pareto(["latency_p99:min", "throughput:max"])
    assert {r.id for r in frontier.frontier} == {
        records[("Acme", "SingleStream")].id,
        records[("Bolt", "Server")].id,
        b.id,
    }
    board = api.board()
    assert {row.backend for row in board.rows} == {"imported"}
    assert {(row.scenario, row.value) for row in board.rows} >= {
        ("Server", 650021.3),
        ("SingleStream", 1.234567),
    }


def test_an_invalid_result_is_imported_as_invalid_with_loadgens_reasons(
    tree: Path, reef_home: Path
) -> None:
    log = tree / ACME / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt"
    text = log.read_text()
    text = text.replace('"value": "VALID"', '"value": "INVALID"', 1)
    text = text.replace(
        '"key": "result_min_duration_met", "value": true',
        '"key": "result_min_duration_met", "value": false',
    )
    log.write_text(text)
    api.import_mlperf(tree)
    r = imported_records()[("Acme", "Offline")]
    assert r.status == "invalid"
    assert r.reasons == ["minimum duration not met"]
    assert r.loadgen is not None and r.loadgen.result == "INVALID"


def test_a_partial_tree_imports_what_is_complete_and_says_what_was_skipped(
    tree: Path, reef_home: Path
) -> None:
    # Acme SingleStream: accuracy only. Acme Offline: no summary beside the detail log.
    shutil.rmtree(tree / ACME / "SingleStream" / "performance")
    (tree / ACME / "Offline" / "performance" / "run_1" / "mlperf_log_summary.txt").unlink()
    # Bolt Server: a log cut short before LoadGen's verdict; Bolt's system undescribed.
    server_log = tree / BOLT / "Server" / "performance" / "run_1" / "mlperf_log_detail.txt"
    lines = server_log.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if '"result_validity"' in line)
    server_log.write_text("".join(lines[:cut]))
    (tree / "closed" / "Bolt" / "systems" / "bolt_dc_8xh100.json").unlink()
    # Bolt Offline: no accuracy.txt.
    (tree / BOLT / "Offline" / "accuracy" / "accuracy.txt").unlink()

    report = api.import_mlperf(tree)
    assert [(r.submitter, r.scenario) for r in report.runs] == [("Bolt", "Offline")]
    reasons = {Path(s.path).relative_to(tree).as_posix(): s.reason for s in report.skipped}
    assert reasons == {
        f"{ACME}/SingleStream": "no performance/run_1/mlperf_log_detail.txt: no performance result",
        f"{ACME}/Offline": "no performance/run_1/mlperf_log_summary.txt beside the detail log",
        f"{BOLT}/Server/performance/run_1/mlperf_log_detail.txt": "holds no LoadGen verdict "
        "(result_validity): cut short?",
    }
    (r,) = api.runs_list()
    assert r.accuracy is None and r.environment == {}
    assert r.imported is not None
    assert r.imported.notes == [
        "no accuracy/accuracy.txt: accuracy not imported",
        "no systems/bolt_dc_8xh100.json: the system is not described",
    ]


def test_a_log_without_its_scenarios_figure_is_skipped_naming_it(
    tree: Path, reef_home: Path
) -> None:
    log = tree / BOLT / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt"
    kept = [
        line
        for line in log.read_text().splitlines(keepends=True)
        if "samples_per_second" not in line
    ]
    log.write_text("".join(kept))
    report = api.import_mlperf(tree)
    assert report.imported == 3
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(log), "lacks LoadGen's result_samples_per_second")
    ]


def test_audit_logs_inside_a_scenario_folder_are_not_results(tree: Path, reef_home: Path) -> None:
    """The v6 layout keeps TEST01/ inside the scenario folder."""
    audit = tree / ACME / "Offline" / "TEST01" / "performance" / "run_1"
    audit.mkdir(parents=True)
    shutil.copy(tree / ACME / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt", audit)
    report = api.import_mlperf(tree)
    assert (report.imported, report.skipped) == (4, [])


def test_other_logs_of_a_result_folder_are_not_results(tree: Path, reef_home: Path) -> None:
    """A power run's ranging logs, a second run, an audit: the folder is one result."""
    perf = tree / ACME / "Offline" / "performance"
    for extra in ("ranging", "run_2"):
        (perf / extra).mkdir()
        shutil.copy(perf / "run_1" / "mlperf_log_detail.txt", perf / extra)
    stray = tree / "closed" / "Acme" / "results" / "mlperf_log_detail.txt"
    shutil.copy(perf / "run_1" / "mlperf_log_detail.txt", stray)
    report = api.import_mlperf(tree)
    assert report.imported == 4
    assert [(s.path, s.reason) for s in report.skipped] == [
        (
            str(stray),
            "not in a folder of a results/SYSTEM/BENCHMARK/SCENARIO/ folder "
            "(performance/run_1/, accuracy/)",
        )
    ]


def test_a_log_whose_scenario_is_not_its_folders_is_skipped(tree: Path, reef_home: Path) -> None:
    (tree / ACME / "Offline").rename(tree / ACME / "MultiStream")
    report = api.import_mlperf(tree)
    assert report.imported == 3
    (skip,) = report.skipped
    assert skip.reason == "the log is of scenario Offline, its folder says MultiStream"


def test_accuracy_under_the_closed_target_fails_it_and_open_is_not_judged(
    tree: Path, reef_home: Path
) -> None:
    (tree / ACME / "Offline" / "accuracy" / "accuracy.txt").write_text(
        "accuracy=75.500%, good=37750, total=50000\n"
    )
    (tree / "closed" / "Bolt").rename(tree / "closed" / "Bolt-open")
    (tree / "open").mkdir()
    (tree / "closed" / "Bolt-open").rename(tree / "open" / "Bolt")
    api.import_mlperf(tree)
    records = imported_records()
    low = records[("Acme", "Offline")].accuracy
    assert low is not None and (low.value, low.passed) == (pytest.approx(0.755), False)
    open_run = records[("Bolt", "Server")]
    assert open_run.imported is not None and open_run.imported.division == "open"
    assert open_run.accuracy is not None and open_run.accuracy.passed is None


def test_reefs_own_accuracy_line_gives_the_runs_metric_unrounded(
    tree: Path, reef_home: Path
) -> None:
    """``reef export mlperf`` writes the checker's line and the run's own figure."""
    (tree / ACME / "Offline" / "accuracy" / "accuracy.txt").write_text(
        "accuracy=99.333%, good=447, total=450\n# Reef metric top1: 0.9933333333333333\n"
        "hash=" + "ab" * 32 + "\n"
    )
    api.import_mlperf(tree)
    acc = imported_records()[("Acme", "Offline")].accuracy
    assert acc is not None
    assert (acc.metric, acc.value, acc.samples) == ("top1", 0.9933333333333333, 450)


def test_the_round_comes_from_the_official_seeds_when_no_name_gives_it(
    tree: Path, tmp_path: Path, reef_home: Path
) -> None:
    plain = tmp_path / "published"
    tree.rename(plain)
    api.import_mlperf(plain)
    assert {r.target.version for r in api.runs_list()} == {"v5.1"}


def test_one_seed_for_all_three_is_the_settings_seed(tree: Path, reef_home: Path) -> None:
    log = tree / ACME / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt"
    text = log.read_text()
    for seed in ("1780908523862526354", "14771362308971278857", "18209322760996052031"):
        text = text.replace(f'"value": {seed},', '"value": 7,')
    log.write_text(text)
    api.import_mlperf(tree)
    records = imported_records()
    assert records[("Acme", "Offline")].settings.seed == 7
    assert records[("Acme", "SingleStream")].settings.seed is None


def test_an_imported_run_is_not_reproduced(reef_home: Path) -> None:
    from reef.errors import ReefError

    api.import_mlperf(TREE / BOLT / "Server")
    (run,) = api.runs_list()
    with pytest.raises(ReefError) as caught:
        api.reproduce(run.id)
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"run {run.id[:12]} was imported from an MLPerf submission tree ({TREE / BOLT}/Server): "
        "it was not measured here, and Reef holds no model to run again"
    )
    assert [r.id for r in api.runs_list()] == [run.id]


# -- bad input: exit 2, the message names what is wrong, nothing is written ------------------


def test_a_missing_folder_is_refused(tmp_path: Path, reef_home: Path) -> None:
    with pytest.raises(FileRefused) as caught:
        api.import_mlperf(tmp_path / "nowhere")
    assert caught.value.message == f"{tmp_path / 'nowhere'}: not found"
    assert caught.value.exit_code == 2
    assert_nothing_written(reef_home)


def test_a_round_that_is_not_one_is_refused(reef_home: Path) -> None:
    from reef.errors import SettingsError

    with pytest.raises(SettingsError) as caught:
        api.import_mlperf(TREE, mlperf_round="5.0")
    assert caught.value.message == "--round 5.0: not an MLPerf round"
    assert caught.value.exit_code == 2
    assert_nothing_written(reef_home)


def test_a_file_is_not_a_tree(reef_home: Path) -> None:
    path = TREE / "closed" / "Acme" / "systems" / "acme_edge_e1.json"
    with pytest.raises(FileRefused, match="not a folder"):
        api.import_mlperf(path)
    assert_nothing_written(reef_home)


def test_a_tree_without_loadgen_logs_is_refused(tree: Path, reef_home: Path) -> None:
    for folder in tree.glob("closed/*/results"):
        shutil.rmtree(folder)
    for folder in tree.glob("closed/*/compliance"):
        shutil.rmtree(folder)
    with pytest.raises(FileRefused) as caught:
        api.import_mlperf(tree)
    assert caught.value.message == (
        f"{tree}: no mlperf_log_detail.txt under it: not an MLPerf submission tree"
    )
    assert_nothing_written(reef_home)


def test_reefs_own_run_folders_are_not_a_submission_tree(reef_home: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs" / "0123abcd"
    (runs / "performance").mkdir(parents=True)
    shutil.copy(
        TREE / ACME / "Offline" / "performance" / "run_1" / "mlperf_log_detail.txt",
        runs / "performance",
    )
    with pytest.raises(FileRefused) as caught:
        api.import_mlperf(tmp_path / "runs")
    assert caught.value.message == (
        f"{tmp_path / 'runs'}: no mlperf_log_detail.txt in a results/SYSTEM/BENCHMARK/SCENARIO/ "
        "folder under it: not an MLPerf submission tree"
    )
    assert caught.value.hint is not None and "reef runs import" in caught.value.hint
    assert_nothing_written(reef_home)


def test_a_malformed_detail_log_is_named_with_its_line(tree: Path, reef_home: Path) -> None:
    log = tree / BOLT / "Server" / "performance" / "run_1" / "mlperf_log_detail.txt"
    lines = log.read_text().splitlines(keepends=True)
    lines[4] = ':::MLLOG {"key": "qsl_reported_performance_count", "value": 10\n'
    log.write_text("".join(lines))
    with pytest.raises(ManifestError) as caught:
        api.import_mlperf(tree)
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith(f"{log}: line 5: not a LoadGen event: ")
    assert_nothing_written(reef_home)


def test_a_file_that_is_not_a_detail_log_is_named(tree: Path, reef_home: Path) -> None:
    log = tree / ACME / "SingleStream" / "accuracy" / "mlperf_log_detail.txt"
    log.write_text("accuracy=76.0%\n")
    with pytest.raises(ManifestError) as caught:
        api.import_mlperf(tree)
    assert str(caught.value) == (
        f"{log}: line 1: does not start with :::MLLOG: not a LoadGen detail log"
    )
    assert_nothing_written(reef_home)


def test_a_system_description_that_is_not_json_is_named(tree: Path, reef_home: Path) -> None:
    system = tree / "closed" / "Acme" / "systems" / "acme_edge_e1.json"
    system.write_text("{not json")
    with pytest.raises(ManifestError) as caught:
        api.import_mlperf(tree)
    assert caught.value.message.startswith(f"{system}: not a system description: not JSON")
    assert_nothing_written(reef_home)


def test_a_tree_where_nothing_is_complete_is_refused(tree: Path, reef_home: Path) -> None:
    for summary in tree.glob("closed/*/results/*/*/*/performance/run_1/mlperf_log_summary.txt"):
        summary.unlink()
    with pytest.raises(ManifestError) as caught:
        api.import_mlperf(tree)
    assert caught.value.message.startswith("4 problems:")
    assert "no performance/run_1/mlperf_log_summary.txt beside the detail log" in str(caught.value)
    assert caught.value.hint == "nothing was imported: no result in the tree is complete"
    assert_nothing_written(reef_home)


@pytest.mark.parametrize(
    "link",
    [
        f"{ACME}/Offline/accuracy/mlperf_log_accuracy.json",  # a file the import copies
        f"{ACME}/Offline/performance/run_1/mlperf_log_detail.txt",  # a file it reads
        f"{ACME}/Offline/accuracy",  # a folder on the way
        "closed/Acme/systems",
    ],
)
def test_a_link_out_of_the_tree_is_refused_reading_nothing_there(
    link: str, tree: Path, reef_home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    path = tree / link
    if path.is_dir():
        shutil.copytree(path, outside)
        shutil.rmtree(path)
    else:
        outside.write_bytes(path.read_bytes())
        path.unlink()
    path.symlink_to(outside)
    with pytest.raises(ManifestError) as caught:
        api.import_mlperf(tree)
    assert caught.value.exit_code == 2
    assert "a link out of the tree" in str(caught.value), str(caught.value)
    assert str(tree / link) in str(caught.value)
    assert_nothing_written(reef_home)


def test_a_link_within_the_tree_is_followed(tree: Path, reef_home: Path) -> None:
    acc = tree / ACME / "Offline" / "accuracy" / "accuracy.txt"
    kept = acc.with_name("accuracy.orig")
    acc.rename(kept)
    acc.symlink_to(kept)
    report = api.import_mlperf(tree)
    assert report.imported == 4


@pytest.mark.parametrize(
    ("benchmark", "line", "expected"),
    [
        ("resnet50", "accuracy=76.014%, good=38007, total=50000", ("top1", 0.76014)),
        ("resnet50", "mAP=37.9%", ("mAP", 0.379)),
        ("pointpainting", "mAP=0.5431", ("mAP", 0.5431)),  # its target, 0.54, is a fraction
        ("rgat", '{"accuracy": 0.7297, "total": 788379}', ("top1", 0.7297)),
    ],
)
def test_accuracy_is_read_in_the_units_of_the_benchmarks_target(
    benchmark: str, line: str, expected: tuple[str, float]
) -> None:
    from reef.mlperf import importer

    where = importer._Where(
        folder=Path("t"),
        division="closed",
        submitter="Acme",
        system="box",
        benchmark=benchmark,
        scenario="Offline",
        submitter_dir=Path("t"),
        root=Path("t"),
    )
    metric, value = importer._figure([line], where) or ("", 0.0)
    assert (metric, value) == (expected[0], pytest.approx(expected[1]))
