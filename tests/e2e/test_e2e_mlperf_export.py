"""reef export mlperf through the real CLI: bench digits-cnn (Offline and SingleStream), export
an open-division submission mapped onto resnet, check it; and the bad inputs that exit 2
writing nothing."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import SHORT, Reef, Watched

SYSTEM_YAML = """\
status: available
system_type: edge
host_processors_per_node: 1
host_storage_capacity: 1 TB
host_storage_type: SSD
host_networking: none
host_network_card_count: 0
host_networking_topology: N/A
host_memory_configuration: unknown
cooling: air
"""


@dataclass
class Runs:
    cli: Reef
    ids: list[str]
    desc: Path


def _bench(cli: Reef, *options: str) -> list[str]:
    result = cli(
        "bench", "digits-cnn", "--scenario", "Offline", "--scenario", "SingleStream",
        "--warmup", "5", *options, "--json", timeout=1800,
    )  # fmt: skip
    assert result.rc == 0, str(result)
    return [r["id"] for r in result.json()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("mlperf-e2e")
    (base / "work").mkdir()
    cli = Reef(base / "reef-home", base / "work")
    desc = base / "system.yaml"
    desc.write_text(SYSTEM_YAML)
    return Runs(cli, _bench(cli, *SHORT), desc)


def _export(runs: Runs, out: Path, *extra: str) -> tuple[str, ...]:
    return (
        "export", "mlperf", *runs.ids, "-o", str(out), "--division", "open",
        "--submitter", "Reef", "--system", "ci-box", "--benchmark", "resnet",
        "--system-desc", str(runs.desc), *extra,
    )  # fmt: skip


def test_export_then_check_flags_the_short_durations(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "submission"
    done = runs.cli(*_export(runs, out), "--json")
    assert done.rc == 0, str(done)
    report = done.json()
    assert report["division"] == "open" and report["round"] == "v6.1"
    assert sorted(r["scenario"] for r in report["results"]) == ["Offline", "SingleStream"]
    assert done.says("accuracy log truncated; the original stays at")
    system = json.loads((out / "open" / "Reef" / "systems" / "ci-box.json").read_text())
    assert system["system_name"] == "ci-box" and system["cooling"] == "air"

    checked = runs.cli("export", "mlperf", "--check", str(out), "--json")
    assert checked.rc == 1, str(checked)
    found = checked.json()
    assert found["passed"] is False
    errors = [f for f in found["findings"] if f["severity"] == "error"]
    assert [f["rule"] for f in errors] == ["min-duration", "min-duration"]
    assert {f["file"] for f in errors} == {
        f"open/Reef/results/ci-box/resnet/{s}/performance/run_1/mlperf_log_detail.txt"
        for s in ("Offline", "SingleStream")
    }
    assert checked.says("[min-duration] min_duration is 300 ms, under 600000 ms", "FAILS")


def test_round_trip_export_import_gives_the_same_figures(runs: Runs, tmp_path: Path) -> None:
    """Export, then `reef runs import-mlperf` into another home: the same figures."""
    out = tmp_path / "submission"
    runs.cli.ok(*_export(runs, out))
    shown = {
        r["settings"]["scenario"]: r
        for r in (runs.cli.ok("runs", "show", i, "--json").json() for i in runs.ids)
    }
    (tmp_path / "work").mkdir()
    other = Reef(tmp_path / "home", tmp_path / "work")
    imported = other.ok("runs", "import-mlperf", str(out), "--json").json()["runs"]
    assert sorted(r["scenario"] for r in imported) == ["Offline", "SingleStream"]
    for row in imported:
        record = shown[row["scenario"]]
        assert row["benchmark"] == "resnet" and row["division"] == "open"
        assert row["throughput_qps"] == pytest.approx(
            record["performance"]["throughput_qps"], rel=1e-4
        )
        assert row["p90_ms"] == pytest.approx(record["performance"]["latency_ms"]["p90"], rel=1e-4)
        assert row["accuracy_value"] == pytest.approx(record["accuracy"]["value"], rel=1e-4)


def _nothing_written(result: object, out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), str(result)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown-run", "no run"),
        ("unknown-benchmark", "unknown MLPerf benchmark 'resnet5'"),
        ("same-run-twice", "is named twice"),
        (
            "missing-fields",
            "needs fields the fingerprint cannot know: status, host_processors_per_node, "
            "host_storage_capacity, system_type, host_memory_configuration, host_networking,",
        ),
        ("no-division", "reef export mlperf needs --division"),
    ],
)
def test_bad_input_exits_2_writing_nothing(
    case: str, message: str, runs: Runs, tmp_path: Path
) -> None:
    out = tmp_path / "submission"
    args = list(_export(runs, out))
    if case == "unknown-run":
        args[2] = "0123abcd"
    elif case == "unknown-benchmark":
        args[args.index("resnet")] = "resnet5"
    elif case == "same-run-twice":
        args.insert(2, runs.ids[0])
    elif case == "missing-fields":
        bare = tmp_path / "bare.yaml"
        bare.write_text("cooling: air\nhost_storage_type: SSD\n")
        args[args.index(str(runs.desc))] = str(bare)
    elif case == "no-division":
        i = args.index("--division")
        del args[i : i + 2]
    result = runs.cli(*args)
    assert result.rc == 2, str(result)
    assert result.says(message), str(result)
    _nothing_written(result, out)


def test_a_non_empty_folder_needs_force(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "submission"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused = runs.cli(*_export(runs, out))
    assert refused.rc == 2 and refused.says("is not empty", "--force"), str(refused)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    runs.cli.ok(*_export(runs, out), "--force")
    assert sorted(p.name for p in out.iterdir()) == ["open"]


def test_check_refuses_what_is_not_a_tree(runs: Runs, tmp_path: Path) -> None:
    result = runs.cli("export", "mlperf", "--check", str(tmp_path))
    assert result.rc == 2 and result.says("is not an MLPerf submission tree"), str(result)
    both = runs.cli("export", "mlperf", runs.ids[0], "--check", str(tmp_path))
    assert both.rc == 2 and both.says("--check takes a folder alone, not RUN"), str(both)


def test_an_interrupted_run_is_refused_writing_nothing(reef: Reef, tmp_path: Path) -> None:
    """An export of a run the user stopped is exit 2, naming the run and its status."""
    proc = reef.popen("bench", "digits-cnn", "--duration", "60", "--mode", "performance")
    watched = Watched(proc)
    watched.wait_until_measuring(settle_s=0.5)
    proc.send_signal(signal.SIGINT)
    assert watched.finish()[0] == 130
    [run] = reef.runs()
    assert run["status"] == "interrupted"
    desc = tmp_path / "system.yaml"
    desc.write_text(SYSTEM_YAML)
    out = tmp_path / "submission"
    result = reef(
        "export", "mlperf", run["id"], "-o", str(out), "--division", "open",
        "--submitter", "Reef", "--system", "ci-box", "--benchmark", "resnet",
        "--system-desc", str(desc),
    )  # fmt: skip
    assert result.rc == 2, str(result)
    assert result.says(f"run {run['id'][:8]} is interrupted"), str(result)
    _nothing_written(result, out)
