"""reef export mlperf: the tree it writes, and the runs and folders it refuses (writing
nothing)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from mlperf_trees import SYSTEM_DESC, export_open, key

from reef.errors import SettingsError
from reef.meta.run import RunRecord
from reef.mlperf import contents, export, layout, rules, systems
from reef.mlperf.layout import ACCURACY_LOG, ACCURACY_TXT, DETAIL, SUMMARY, Layout


def test_the_tree_holds_every_file_a_scenario_needs(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    out = tmp_path / "sub"
    report = export_open(digits_runs, out)
    assert report.root == str(out.resolve()) and report.round == "v6.1"
    tree = Layout(out, report.round)
    for scenario, record in zip(("Offline", "SingleStream"), digits_runs, strict=True):
        k = key(scenario)
        assert sorted(p.name for p in tree.performance_dir(k).iterdir()) == [DETAIL, SUMMARY]
        assert sorted(p.name for p in tree.accuracy_dir(k).iterdir()) == sorted(
            [ACCURACY_TXT, ACCURACY_LOG, DETAIL, SUMMARY]
        )
        names = {p.name for p in tree.results_dir(k).iterdir()}
        assert {"README.md", "user.conf", "mlperf.conf", "measurements.json"} <= names
        perf = Path(record.artifacts["loadgen_performance"])
        assert (tree.performance_dir(k) / DETAIL).read_bytes() == (perf / DETAIL).read_bytes()
        readme = (tree.results_dir(k) / "README.md").read_text()
        assert f"reef bench digits-cnn --scenario {scenario}" in readme and record.id in readme
    code = (out / "open" / "Reef" / "src" / "resnet" / "README.md").read_text()
    assert "reef reproduce" in code and '"lock_version": 1' in code
    desc = json.loads((out / "open" / "Reef" / "systems" / "box.json").read_text())
    assert not systems.missing_fields(desc)
    cpu = digits_runs[0].environment["hardware"]["cpu"]["model"]
    assert desc["host_processor_model_name"] == cpu
    assert desc["division"] == "open" and desc["submitter"] == "Reef"
    assert desc["framework"].startswith("onnxruntime ")


def test_the_accuracy_log_is_truncated_and_the_original_kept(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    report = export_open(digits_runs, tmp_path / "sub")
    result = report.results[0]
    original = Path(result.accuracy_log_original or "")
    assert original.is_file() and original.stat().st_size > rules.MAX_ACCURACY_LOG_BYTES
    assert result.accuracy_log_truncated
    acc_dir = Path(result.results_dir) / "accuracy"
    cut = (acc_dir / ACCURACY_LOG).read_bytes()
    whole = original.read_bytes()
    assert len(cut) <= rules.MAX_ACCURACY_LOG_BYTES
    assert cut.startswith(whole[:4096]) and cut.endswith(whole[-4096:])
    text = (acc_dir / ACCURACY_TXT).read_text()
    assert f"hash={hashlib.sha256(whole).hexdigest()}" in text.splitlines()
    value = digits_runs[0].accuracy.value  # type: ignore[union-attr]
    assert text.startswith(f"accuracy={value * 100:.3f}%, good=")
    assert result.accuracy == pytest.approx(value * 100)


def test_user_conf_holds_what_did_not_come_from_mlperf_conf(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    export_open(digits_runs, tmp_path / "sub")
    conf = (Layout(tmp_path / "sub").results_dir(key("Offline")) / "user.conf").read_text()
    assert "digits-cnn.Offline.min_duration = 300" in conf
    assert "rng_seed" not in conf  # from mlperf.conf


def test_user_conf_from_the_effective_settings_of_an_older_record(
    digits_runs: list[RunRecord],
) -> None:
    record = digits_runs[0]
    assert record.loadgen is not None
    old = record.model_copy(update={"loadgen": record.loadgen.model_copy(update={"config": {}})})
    conf = contents.user_conf(old, rules.BENCHMARKS["resnet"])
    assert "digits-cnn.Offline.min_duration = 300\n" in conf
    assert "digits-cnn.Offline.qsl_rng_seed = 2085463073848966840\n" in conf


def test_audits_are_copied_to_the_compliance_folder(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    audit = tmp_path / "audit" / "TEST04"
    (audit / "performance" / "run_1").mkdir(parents=True)
    (audit / "verify_performance.txt").write_text("TEST PASS\n")
    (audit / "performance" / "run_1" / DETAIL).write_text("")
    first = digits_runs[0].model_copy(
        update={"audits": [SimpleNamespace(test="TEST04", passed=True, path=str(audit))]}
    )
    report = export_open([first, digits_runs[1]], tmp_path / "sub")
    assert report.results[0].compliance == ["TEST04"]
    copied = Layout(tmp_path / "sub").test_dir(key("Offline"), "TEST04")
    assert (copied / "verify_performance.txt").read_text() == "TEST PASS\n"


def test_v5_rounds_write_the_split_layout(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    export_open(digits_runs[:1], tmp_path / "sub", round_="v5.0")
    sub = tmp_path / "sub" / "open" / "Reef"
    meas = sub / "measurements" / "box" / "resnet" / "Offline"
    assert sorted(p.name for p in meas.iterdir()) == [
        "README.md",
        "box_reef_Offline.json",
        "mlperf.conf",
        "user.conf",
    ]
    assert (sub / "code" / "resnet" / "README.md").is_file()
    assert not (sub / "results" / "box" / "resnet" / "Offline" / "user.conf").exists()


def _refused(records: list[RunRecord], out: Path, match: str, **kw: object) -> None:
    before = sorted(out.parent.iterdir())
    with pytest.raises(SettingsError, match=match):
        export_open(records, out, **kw)
    assert sorted(out.parent.iterdir()) == before  # nothing written, no staging left


@pytest.mark.parametrize("status", ["failed", "interrupted", "invalid"])
def test_a_run_that_is_not_valid_is_refused(
    status: str, digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    bad = digits_runs[1].model_copy(update={"status": status, "reasons": ["it broke"]})
    _refused([digits_runs[0], bad], tmp_path / "sub", f"run {bad.id[:8]} is {status}: it broke")


def test_a_non_empty_folder_needs_force(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    out = tmp_path / "sub"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    _refused(digits_runs, out, "is not empty")
    assert (out / "mine.txt").read_text() == "keep"
    export_open(digits_runs, out, force=True)
    assert not (out / "mine.txt").exists() and (out / "open").is_dir()


def test_an_unknown_benchmark_is_refused(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    _refused(
        digits_runs, tmp_path / "sub", "unknown MLPerf benchmark 'resnet51'", benchmark="resnet51"
    )


def test_a_model_without_a_benchmark_is_refused(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    _refused(
        digits_runs, tmp_path / "sub", "MLPerf model 'digits-cnn' is no benchmark", benchmark=None
    )


def test_two_runs_of_one_scenario_are_refused(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    twin = digits_runs[0].model_copy(update={"id": "f" * 32})
    _refused([digits_runs[0], twin], tmp_path / "sub", "are both resnet Offline")


def test_missing_system_fields_are_named(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    partial = {k: v for k, v in SYSTEM_DESC.items() if k not in ("cooling", "status")}
    _refused(
        digits_runs, tmp_path / "sub", "needs fields .*: status, cooling$", system_desc=partial
    )


def test_closed_names_everything_the_run_lacks(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    out = tmp_path / "sub"
    with pytest.raises(SettingsError) as caught:
        export_open(digits_runs[:1], out, division="closed")
    message = caught.value.message
    for missing in (
        "reference model: the run was not configured as resnet's model",
        "dataset: the accuracy run covered 450 samples",
        "official settings: the run was not made with --compliant",
        "official settings: min_duration 300 ms is under 600000 ms",
        "compliance audits: TEST01, TEST04 not run and passed (reef bench --audit TEST01)",
    ):
        assert missing in message
    assert "accuracy target" not in message  # 99.3% top-1 is over resnet's 75.7
    assert not out.exists()


def test_bad_names_are_refused(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    _refused(digits_runs, tmp_path / "sub", "submitter '../x' cannot name", submitter="../x")
    _refused(digits_runs, tmp_path / "sub", "division 'network'", division="network")
    _refused(digits_runs, tmp_path / "sub", "unknown MLPerf round", round_="v4.0")


def test_layout_paths_per_round() -> None:
    k = layout.ScenarioKey("closed", "Org", "sys", "resnet", "Offline")
    new, old = Layout(Path("/t"), "v6.0"), Layout(Path("/t"), "v5.1")
    assert new.measurements_json(k) == Path(
        "/t/closed/Org/results/sys/resnet/Offline/measurements.json"
    )
    assert old.measurements_json(k) == Path(
        "/t/closed/Org/measurements/sys/resnet/Offline/sys_reef_Offline.json"
    )
    assert new.test_dir(k, "TEST01") == Path("/t/closed/Org/results/sys/resnet/Offline/TEST01")
    assert old.test_dir(k, "TEST01") == Path("/t/closed/Org/compliance/sys/resnet/Offline/TEST01")
    assert new.code_dir("closed", "Org", "resnet") == Path("/t/closed/Org/src/resnet")
    assert old.code_dir("closed", "Org", "resnet") == Path("/t/closed/Org/code/resnet")


def test_a_run_with_the_reference_setup_qualifies_for_closed(
    digits_runs: list[RunRecord],
) -> None:
    """What closed_problems accepts: resnet50, ImageNet's 50000 images over the target,
    --compliant, the round's seeds, 600 s."""
    record = digits_runs[0]
    assert record.loadgen is not None and record.accuracy is not None
    facts = rules.ROUND_FACTS["v6.1"]
    effective = {**record.loadgen.effective, **facts.seeds, "min_duration_ms": 600_000}
    good = record.model_copy(
        update={
            "loadgen": record.loadgen.model_copy(
                update={"mlperf_model": "resnet50", "effective": effective}
            ),
            "accuracy": record.accuracy.model_copy(update={"samples": 50000, "value": 0.7601}),
            "settings": record.settings.model_copy(update={"compliant": True}),
            "audits": [
                SimpleNamespace(test=t, passed=True, path=None) for t in ("TEST01", "TEST04")
            ],
        }
    )
    bench = rules.BENCHMARKS["resnet"]
    assert export.closed_problems(good, bench, facts) == []
    low = good.model_copy(
        update={"accuracy": good.accuracy.model_copy(update={"value": 0.75})}  # type: ignore[union-attr]
    )
    assert export.closed_problems(low, bench, facts) == [
        f"run {good.id[:8]}: accuracy target: acc 75.0 is under resnet's target 75.6954"
    ]
    assert export.closed_problems(good, bench, rules.ROUND_FACTS["v6.0"]) == [
        f"run {good.id[:8]}: official seeds: qsl_rng_seed, sample_index_rng_seed, "
        "schedule_rng_seed differ from round v6.0's"
    ]
    assert good.loadgen is not None
    server = good.model_copy(
        update={"settings": good.settings.model_copy(update={"scenario": "Server"})}
    )
    for latency, said in ((100_000_000, "100000000"), (None, "None")):
        eff = {**good.loadgen.effective, "target_latency_ns": latency}
        slow = server.model_copy(
            update={"loadgen": good.loadgen.model_copy(update={"effective": eff})}
        )
        assert export.closed_problems(slow, bench, facts) == [
            f"run {good.id[:8]}: official settings: the Server latency bound {said} ns is over "
            "resnet's 15000000 ns"
        ]
    eff = {**good.loadgen.effective, "target_latency_ns": 15_000_000}
    fast = server.model_copy(update={"loadgen": good.loadgen.model_copy(update={"effective": eff})})
    assert export.closed_problems(fast, bench, facts) == []


def test_accuracy_is_given_in_the_units_of_the_benchmarks_target(
    digits_runs: list[RunRecord],
) -> None:
    """A percentage for resnet (target 75.7) and yolo; the fraction for rgat and
    pointpainting, whose targets (0.72, 0.54) are fractions."""
    record = digits_runs[0]
    assert record.accuracy is not None and record.accuracy.value is not None
    value = record.accuracy.value
    for name in ("resnet", "retinanet", "yolo-99"):
        figure = contents.accuracy_figure(record, rules.BENCHMARKS[name])
        assert figure == pytest.approx(value * 100)
    for name in ("rgat", "pointpainting"):
        assert contents.accuracy_figure(record, rules.BENCHMARKS[name]) == value


@pytest.mark.parametrize(
    "name",
    ["3d-unet-99", "whisper", "gpt-oss-120b", "resnet", "retinanet", "pointpainting", "rgat"],
)
def test_accuracy_txt_gives_the_figure_as_the_checker_reads_it(
    name: str, digits_runs: list[RunRecord]
) -> None:
    """accuracy.txt's first line matches the benchmark's pattern and gives the run's figure."""
    bench = rules.BENCHMARKS[name]
    metric = bench.targets[0][0]
    text = contents.accuracy_text(digits_runs[0], bench, "ab" * 32)
    match = re.match(rules.ACCURACY_PATTERNS[metric], text.splitlines()[0])
    assert match, text
    figure = contents.accuracy_figure(digits_runs[0], bench)
    assert figure is not None
    assert float(match.group(1)) == pytest.approx(figure, abs=1e-3 if figure > 1 else 1e-5)
    assert text.splitlines()[-1] == "hash=" + "ab" * 32


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("status", "soon", "status 'soon' is not one of available, preview, rdi"),
        ("system_type", "laptop", "system_type 'laptop' is not one of datacenter, edge"),
    ],
)
def test_a_system_description_the_checker_would_refuse_is_refused(
    field: str, value: str, says: str, digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    """What --check calls a broken system-status or system-type is not written at all."""
    desc = {**SYSTEM_DESC, field: value}
    _refused(digits_runs, tmp_path / "sub", re.escape(says), system_desc=desc)
