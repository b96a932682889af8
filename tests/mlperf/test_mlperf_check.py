"""reef export mlperf --check: a passing tree, and a failing case for every rule."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mlperf_trees import (
    SUMMARY,
    acc,
    export_open,
    key,
    officialise,
    perf,
    replace_in,
    set_values,
)

from reef.errors import SettingsError
from reef.meta.run import RunRecord
from reef.mlperf import check, rules
from reef.mlperf.layout import ACCURACY_LOG, ACCURACY_TXT, DETAIL, Layout


@pytest.fixture(scope="module")
def passing(digits_runs: list[RunRecord], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An open-division tree of the session's runs, its performance logs made official."""
    root = tmp_path_factory.mktemp("passing") / "tree"
    export_open(digits_runs, root)
    officialise(root)
    return root


@pytest.fixture
def tree(passing: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(passing, copy)
    return copy


def errors(root: Path, round_: str | None = None) -> list[check.Finding]:
    return check.check(root, round_).errors


def test_the_official_tree_passes_with_warnings_for_the_mapped_dataset(passing: Path) -> None:
    report = check.check(passing)
    assert report.passed, [f.message for f in report.errors]
    assert report.round == "v6.0"
    assert sorted(r.scenario for r in report.results) == ["Offline", "SingleStream"]
    assert all(r.passed and r.result and r.accuracy for r in report.results)
    # open division: a model mapped onto resnet does not cover ImageNet
    assert {f.rule for f in report.findings} == {"accuracy-dataset", "performance-sample-count"}
    assert all(f.severity == "warning" for f in report.findings)


def test_the_short_runs_break_the_duration_rule_only(
    digits_runs: list[RunRecord], tmp_path: Path
) -> None:
    """The runs use LoadGen's mlperf.conf (v6.1's seeds): the round follows the seeds, and
    only their 0.3 s duration breaks a rule; naming v6.0 breaks the seeds too."""
    report = export_open(digits_runs, tmp_path / "t")
    assert report.round == "v6.1"
    found = errors(tmp_path / "t")
    assert {f.rule for f in found} == {"min-duration"}
    assert len(found) == 2
    assert all("min_duration is 300 ms, under 600000 ms" in f.message for f in found)
    assert {f.rule for f in errors(tmp_path / "t", "v6.0")} == {"min-duration", "seeds"}


def _to_closed(root: Path) -> None:
    (root / "open").rename(root / "closed")
    sys_json = root / "closed" / "Reef" / "systems" / "box.json"
    desc = json.loads(sys_json.read_text())
    desc["division"] = "closed"
    sys_json.write_text(json.dumps(desc))


def _detail_error(root: Path) -> None:
    path = perf(root, "Offline")
    event = {
        "key": "error_invalid_config",
        "value": "a broken setting",
        "metadata": {"is_error": True},
    }
    with path.open("a") as handle:
        handle.write(f":::MLLOG {json.dumps(event)}\n")


def _v(path_of: Callable[[Path], Path], **values: object) -> Callable[[Path], None]:
    return lambda root: set_values(path_of(root), **values)


def _rm(path_of: Callable[[Path], Path]) -> Callable[[Path], None]:
    return lambda root: path_of(root).unlink()


def _edit_json(path_of: Callable[[Path], Path], **change: object) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = path_of(root)
        data = json.loads(path.read_text())
        for k, v in change.items():
            if v is None:
                del data[k]
            else:
                data[k] = v
        path.write_text(json.dumps(data))

    return edit


def _system(root: Path) -> Path:
    return root / "open" / "Reef" / "systems" / "box.json"


def _measurements(root: Path) -> Path:
    return Layout(root).results_dir(key("Offline")) / "measurements.json"


def _failed_audit(root: Path) -> None:
    folder = Layout(root).test_dir(key("Offline"), "TEST04")
    (folder / "performance" / "run_1").mkdir(parents=True)
    shutil.copy(perf(root, "Offline"), folder / "performance" / "run_1" / DETAIL)
    (folder / "verify_performance.txt").write_text("TEST FAIL: 30% faster\n")


def _closed_accuracy_under_target(root: Path) -> None:
    _to_closed(root)
    replace_in(acc(root, "Offline", ACCURACY_TXT, "closed"), "accuracy=99.", "accuracy=50.")


def _as_benchmark(name: str, division: str = "open") -> Callable[[Path], None]:
    def rename(root: Path) -> None:
        if division == "closed":
            _to_closed(root)
        results = root / division / "Reef" / "results" / "box"
        (results / "resnet").rename(results / name)
        src = root / division / "Reef" / "src"
        (src / "resnet").rename(src / name)

    return rename


def _unknown_benchmark(root: Path) -> None:
    results = root / "open" / "Reef" / "results" / "box"
    (results / "resnet").rename(results / "digits")
    (root / "open" / "Reef" / "src" / "resnet").rename(root / "open" / "Reef" / "src" / "digits")


CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "required-files": (
        _rm(lambda r: perf(r, "Offline", SUMMARY)),
        "mlperf_log_summary.txt is missing",
    ),
    "benchmark": (_unknown_benchmark, "digits is no benchmark of round v6.0"),
    "scenario": (
        _v(lambda r: perf(r, "Offline"), effective_scenario="Server"),
        "the log's scenario is Server",
    ),
    "loadgen-errors": (_detail_error, "a broken setting"),
    "result-validity": (
        _v(lambda r: perf(r, "Offline"), result_validity="INVALID"),
        "verdict is INVALID",
    ),
    "early-stopping": (
        _v(lambda r: perf(r, "SingleStream"), early_stopping_met=False),
        "condition was not met",
    ),
    "server-latency": (
        _v(
            lambda r: perf(r, "Offline"),
            effective_scenario="Server",
            effective_target_latency_ns=100_000_000,
        ),
        "the target latency is 100 ms; resnet's bound is 15 ms",
    ),
    "min-duration": (
        _v(lambda r: perf(r, "Offline"), effective_min_duration_ms=599_999),
        "599999 ms, under 600000",
    ),
    "min-query-count": (
        _v(lambda r: perf(r, "Offline"), effective_min_query_count=0),
        "min_query_count is 0",
    ),
    "offline-samples-per-query": (_to_closed, "under 24576"),
    "performance-sample-count": (_to_closed, "performance_sample_count is 450, resnet needs 1024"),
    "equal-issue": (
        _as_benchmark("rgat", "closed"),
        "rgat runs in equal-issue mode: sample_concatenate_permutation is false",
    ),
    "seeds": (
        _v(lambda r: perf(r, "SingleStream"), effective_schedule_rng_seed=7),
        "schedule_rng_seed is 7",
    ),
    "summary-detail": (
        lambda r: replace_in(
            perf(r, "Offline", SUMMARY), "Samples per second: ", "Samples per second: 1"
        ),
        "the detail log's result_samples_per_second",
    ),
    "accuracy-mode": (
        lambda r: shutil.copy(perf(r, "Offline"), acc(r, "Offline", DETAIL)),
        "not AccuracyOnly",
    ),
    "accuracy-log-truncated": (
        lambda r: acc(r, "Offline", ACCURACY_LOG).write_text("[" + " " * 20000 + "]"),
        "not truncated",
    ),
    "accuracy-hash": (
        lambda r: replace_in(acc(r, "Offline", ACCURACY_TXT), "hash=", "sha="),
        "no hash",
    ),
    "accuracy-value": (
        lambda r: (
            _to_closed(r),
            replace_in(acc(r, "Offline", ACCURACY_TXT, "closed"), "accuracy=", "top1="),
        ),
        "no acc figure for resnet",
    ),
    "accuracy-target": (
        _closed_accuracy_under_target,
        "acc 50.333 is under resnet's target 75.6954",
    ),
    "accuracy-dataset": (_to_closed, "covered 450 samples, resnet's dataset has 50000"),
    "compliance": (_failed_audit, "TEST04: verify_performance.txt does not say TEST PASS"),
    "measurement-fields": (_edit_json(_measurements, retraining=None), "missing retraining"),
    "system-json": (_rm(_system), "box.json is missing"),
    "system-fields": (_edit_json(_system, cooling=""), "missing or empty: cooling"),
    "system-status": (_edit_json(_system, status="soon"), "status 'soon'"),
    "system-type": (_edit_json(_system, system_type="laptop"), "system_type 'laptop'"),
    "system-division": (_edit_json(_system, submitter="Other"), "submitter is 'Other'"),
    "code": (lambda r: shutil.rmtree(r / "open" / "Reef" / "src"), "no src/resnet/ folder"),
}


def test_every_rule_has_a_failing_case() -> None:
    assert set(CASES) == set(check.RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_a_broken_rule_is_an_error_naming_its_file(rule: str, tree: Path) -> None:
    assert not errors(tree)
    breaks, message = CASES[rule]
    breaks(tree)
    report = check.check(tree)
    assert not report.passed
    hits = [f for f in report.errors if f.rule == rule]
    assert hits, [(f.rule, f.message) for f in report.errors]
    assert any(message in f.message for f in hits), [f.message for f in hits]
    assert all(f.file.startswith(("open/Reef/", "closed/Reef/")) for f in hits), hits


def test_equal_issue_is_a_closed_and_network_rule(tree: Path) -> None:
    # MLCommons' checker holds only those divisions to it: an open rgat result is not.
    _as_benchmark("rgat")(tree)
    assert "equal-issue" not in {f.rule for f in check.check(tree).findings}


def test_closed_compliance_needs_the_benchmarks_audits(tree: Path) -> None:
    _to_closed(tree)
    found = [f for f in errors(tree) if f.rule == "compliance"]
    assert {f.message for f in found} >= {
        "TEST01 is missing: resnet needs it",
        "TEST04 is missing: resnet needs it",
    }


def test_open_model_mapping_names_the_benchmark(tree: Path) -> None:
    _unknown_benchmark(tree)
    (tree / "open" / "Reef" / "model_mapping.json").write_text('{"digits": "resnet"}')
    assert not errors(tree)


def test_a_folder_without_a_submission_is_refused(tmp_path: Path) -> None:
    (tmp_path / "open" / "Reef" / "results").mkdir(parents=True)
    with pytest.raises(check.NotATree, match="is not an MLPerf submission tree"):
        check.check(tmp_path)
    with pytest.raises(check.NotATree, match="is not a folder"):
        check.check(tmp_path / "nothing")


def test_an_unknown_round_is_refused(passing: Path) -> None:
    with pytest.raises(SettingsError, match=r"unknown MLPerf round 'v9\.9'"):
        check.check(passing, "v9.9")


def test_the_seeds_name_the_round(tree: Path) -> None:
    """Logs with v6.1's seeds are checked as v6.1; naming v6.0 flags every seed."""
    officialise(tree, "v6.1")
    assert check.check(tree).round == "v6.1"
    assert not errors(tree)
    seeds = [f for f in errors(tree, "v6.0") if f.rule == "seeds"]
    assert len(seeds) == 2
    assert all(k in seeds[0].message for k in rules.SEED_KEYS)


def test_the_split_layout_of_v5(digits_runs: list[RunRecord], tmp_path: Path) -> None:
    root = tmp_path / "t"
    export_open(digits_runs, root, round_="v5.1")
    sub = root / "open" / "Reef"
    assert sorted(p.name for p in sub.iterdir()) == ["code", "measurements", "results", "systems"]
    assert (sub / "measurements" / "box" / "resnet" / "Offline" / "box_reef_Offline.json").is_file()
    assert (sub / "code" / "resnet" / "README.md").is_file()
    officialise(root, "v5.1")
    report = check.check(root)
    assert report.round == "v5.1" and report.passed, [f.message for f in report.errors]
    (sub / "measurements" / "box" / "resnet" / "Offline" / "user.conf").unlink()
    assert [f.file for f in errors(root)] == ["open/Reef/measurements/box/resnet/Offline/user.conf"]


def _move_scenario(root: Path, old: str, new: str) -> Path:
    folder = Layout(root).results_dir(key(old))
    target = folder.parent / new
    folder.rename(target)
    return target


def test_an_interactive_result_is_a_server_run(tree: Path) -> None:
    moved = _move_scenario(tree, "Offline", "Interactive")
    set_values(
        moved / "performance" / "run_1" / DETAIL,
        effective_scenario="Server",
        effective_target_latency_ns=15_000_000,  # resnet's bound
    )
    replace_in(moved / "performance" / "run_1" / SUMMARY, "Scenario : Offline", "Scenario : Server")
    assert not errors(tree)
    set_values(moved / "performance" / "run_1" / DETAIL, early_stopping_met=False)
    # a Server run's rule; and the summary still says it was met
    assert [f.rule for f in errors(tree)] == ["early-stopping", "summary-detail"]


def test_an_inferred_result_needs_an_edge_system(tree: Path) -> None:
    _move_scenario(tree, "SingleStream", "MultiStream")
    assert not errors(tree)  # the system is an edge system
    _edit_json(_system, system_type="datacenter")(tree)
    found = errors(tree)
    assert [f.rule for f in found] == ["scenario"]
    assert found[0].message == "the log's scenario is SingleStream, the folder's MultiStream"


@pytest.mark.parametrize(
    ("lines", "failed"),
    [
        (
            [
                "First token check pass: Skipped",
                "EOS check pass: True",
                "Sample length check pass: True",
            ],
            None,
        ),
        (
            [
                "First token check pass: True",
                "EOS check pass: True",
                "Sample length check pass: False",
            ],
            "Sample length check",
        ),
        (["EOS check pass: True", "Sample length check pass: True"], "First token check"),
    ],
)
def test_test06_passes_on_each_of_its_checks(
    lines: list[str], failed: str | None, tree: Path
) -> None:
    folder = Layout(tree).test_dir(key("Offline"), "TEST06")
    folder.mkdir()
    (folder / "verify_accuracy.txt").write_text("\n".join([*lines, "TEST06 verification complete"]))
    found = errors(tree)
    if failed is None:
        assert not found
    else:
        assert [(f.rule, f.message) for f in found] == [
            ("compliance", f"TEST06: {failed} did not pass")
        ]


def test_closed_audit_runs_are_held_to_the_performance_rules(
    tree: Path, digits_runs: list[RunRecord]
) -> None:
    _to_closed(tree)
    short = Path(digits_runs[0].artifacts["loadgen_performance"]) / DETAIL  # 300 ms
    for test in ("TEST01", "TEST04"):
        folder = Layout(tree).test_dir(key("Offline", "closed"), test)
        (folder / "performance" / "run_1").mkdir(parents=True)
        shutil.copy(short, folder / "performance" / "run_1" / DETAIL)
        (folder / "verify_performance.txt").write_text("TEST PASS\n")
        if test == "TEST01":
            (folder / "verify_accuracy.txt").write_text("TEST PASS\n")
    audit_findings = {
        (f.file.split("/")[6], f.rule) for f in errors(tree) if "/Offline/TEST0" in f.file
    }
    assert {("TEST01", "min-duration"), ("TEST04", "min-duration")} <= audit_findings
    assert ("TEST04", "compliance") not in audit_findings  # its files are all there


def test_test09_needs_its_output_length_verdict(tree: Path) -> None:
    folder = Layout(tree).test_dir(key("Offline"), "TEST09")
    folder.mkdir()
    found = [f for f in errors(tree) if f.rule == "compliance"]
    assert [f.message for f in found] == ["TEST09: verify_output_len.txt is missing"]
    (folder / "verify_output_len.txt").write_text("TEST FAIL\n")
    found = [f for f in errors(tree) if f.rule == "compliance"]
    assert [f.message for f in found] == ["TEST09: verify_output_len.txt does not say TEST PASS"]
    (folder / "verify_output_len.txt").write_text("TEST PASS\n")
    assert not errors(tree)


def test_v6_1_has_no_retired_benchmark(tree: Path) -> None:
    """v6.1 retired retinanet, pointpainting, llama2-70b-99, mixtral-8x7b and llama3.1-405b."""
    retired = {"retinanet", "pointpainting", "llama2-70b-99", "mixtral-8x7b", "llama3.1-405b"}
    assert not retired & set(rules.ROUND_FACTS["v6.1"].benchmarks)
    assert retired <= set(rules.ROUND_FACTS["v6.0"].benchmarks)
    moved = tree / "open" / "Reef" / "results" / "box" / "retinanet"
    (tree / "open" / "Reef" / "results" / "box" / "resnet").rename(moved)
    found = [f.message for f in errors(tree, "v6.1") if f.rule == "benchmark"]
    assert found == ["retinanet is no benchmark of round v6.1"] * 2


@pytest.mark.parametrize(
    ("line", "lacking"),
    [
        ("Result is : VALID", "Result is"),
        ("Scenario : Offline", "Scenario"),
        ("Mode ", "Mode"),
    ],
)
def test_a_performance_summary_must_say_what_it_summarises(
    line: str, lacking: str, tree: Path
) -> None:
    """A summary without the lines the detail log is compared on is not taken as agreeing."""
    summary = perf(tree, "Offline", SUMMARY)
    kept = [raw for raw in summary.read_text().splitlines() if not raw.startswith(line)]
    summary.write_text("\n".join(kept) + "\n")
    found = [f.message for f in errors(tree) if f.rule == "summary-detail"]
    assert found == [f"the summary gives no {lacking}"]


def test_open_accuracy_without_the_figure_is_a_warning(tree: Path) -> None:
    replace_in(acc(tree, "Offline", ACCURACY_TXT), "accuracy=", "top1=")
    report = check.check(tree)
    assert report.passed
    [found] = [f for f in report.findings if f.rule == "accuracy-value"]
    assert found.severity == "warning" and found.message == "no acc figure for resnet"


def test_gpt_oss_accuracy_covers_its_subset(tree: Path) -> None:
    """gpt-oss-120b's accuracy run covers 4395 samples, not its 6396-sample dataset."""
    assert rules.BENCHMARKS["gpt-oss-120b"].accuracy_samples == 4395
    assert rules.BENCHMARKS["resnet"].accuracy_samples == 50000
    _to_closed(tree)
    results = tree / "closed" / "Reef" / "results" / "box"
    (results / "resnet").rename(results / "gpt-oss-120b")
    detail = results / "gpt-oss-120b" / "Offline" / "accuracy" / DETAIL

    def offline_findings() -> list[str]:
        found = [f for f in errors(tree) if f.rule == "accuracy-dataset"]
        return [f.message for f in found if "/Offline/" in f.file]

    set_values(detail, effective_accuracy_sample_count=6396)
    assert offline_findings() == [
        "the accuracy run covered 6396 samples, gpt-oss-120b's dataset has 4395"
    ]
    set_values(detail, effective_accuracy_sample_count=4395)
    assert offline_findings() == []


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        (
            "stable-diffusion-xl",
            "{'FID_SCORE': 23.5, 'CLIP_SCORE': 31.9}",
            ["CLIP_SCORE 31.9 is over stable-diffusion-xl's upper limit 31.8133"],
        ),
        ("stable-diffusion-xl", "{'FID_SCORE': 23.5, 'CLIP_SCORE': 31.7}", []),
        (
            "llama3.1-8b",
            "{'rouge1': 38.9, 'rouge2': 16.0, 'rougeL': 24.6, 'rougeLsum': 30.0, "
            "'gen_len': 9000000}",
            [
                "ROUGELSUM 30 is under llama3.1-8b's target 35.4351",
                "GEN_LEN 9e+06 is over llama3.1-8b's upper limit 8984408.4000",
            ],
        ),
        (
            "deepseek-r1",
            "{'exact_match': 81.0, 'tokens_per_sample': 3000.0}",
            ["TOKENS_PER_SAMPLE 3000 is under deepseek-r1's target 3497.6047"],
        ),
    ],
)
def test_closed_accuracy_has_every_metric_within_its_bounds(
    name: str, text: str, says: list[str], tmp_path: Path
) -> None:
    """Each metric MLCommons judges, the LLMs' output lengths and SDXL's upper bounds too."""
    path = tmp_path / ACCURACY_TXT
    path.write_text(f"{text}\nhash={'0' * 64}\n")
    checker = check._Checker(tmp_path, None)
    check._check_accuracy_txt(checker, path, rules.BENCHMARKS[name], closed=True)
    assert [f.message for f in checker.findings] == says
    open_checker = check._Checker(tmp_path, None)
    check._check_accuracy_txt(open_checker, path, rules.BENCHMARKS[name], closed=False)
    assert open_checker.findings == []


def test_a_measurement_field_must_say_something(tree: Path) -> None:
    _edit_json(_measurements, weight_transformations=" ")(tree)
    found = [f.message for f in errors(tree) if f.rule == "measurement-fields"]
    assert found == ["empty weight_transformations"]


def test_the_audits_a_benchmark_needs_follow_the_round() -> None:
    """v5.0 asked no TEST06 of llama3.1-405b; v5.1 and v6.0 do."""
    bench = rules.BENCHMARKS["llama3.1-405b"]
    assert rules.audits(bench, rules.ROUND_FACTS["v5.0"]) == ()
    assert rules.audits(bench, rules.ROUND_FACTS["v5.1"]) == ("TEST06",)
    assert rules.audits(bench, rules.ROUND_FACTS["v6.0"]) == ("TEST06",)
    resnet = rules.BENCHMARKS["resnet"]
    assert rules.audits(resnet, rules.ROUND_FACTS["v5.0"]) == ("TEST01", "TEST04")
