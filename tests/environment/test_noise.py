"""``reef env check``: each check read from a made-up /sys and /proc, and a real busy process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from reef.environment import noise


def tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")
    return root


CPU = "/sys/devices/system/cpu"


def test_a_powersave_governor_warns_and_says_what_to_run(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        f"{CPU}/cpu0/cpufreq/scaling_governor": "powersave",
        f"{CPU}/cpu1/cpufreq/scaling_governor": "performance",
    })  # fmt: skip
    found = noise.governor(root)
    assert found.status == "warning"
    assert found.found == "powersave on 1 CPU; performance on 1 CPU"
    assert "cpupower frequency-set -g performance" in (found.advice or "")


def test_performance_everywhere_is_fine_and_a_vm_is_unknown(tmp_path: Path) -> None:
    root = tree(tmp_path / "a", {f"{CPU}/cpu0/cpufreq/scaling_governor": "performance"})
    assert noise.governor(root).status == "ok"
    bare = tree(tmp_path / "b", {f"{CPU}/cpu0/topology/core_id": "0"})
    assert noise.governor(bare).status == "unknown"


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({f"{CPU}/intel_pstate/no_turbo": "0"}, "warning"),
        ({f"{CPU}/intel_pstate/no_turbo": "1"}, "ok"),
        ({f"{CPU}/cpufreq/boost": "1"}, "warning"),
        ({f"{CPU}/cpufreq/boost": "0"}, "ok"),
        ({}, "unknown"),
    ],
)
def test_turbo(tmp_path: Path, files: dict[str, str], status: str) -> None:
    assert noise.turbo(tree(tmp_path, files)).status == status


def test_smt_siblings_warn(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        f"{CPU}/smt/active": "1",
        f"{CPU}/cpu0/topology/thread_siblings_list": "0,2",
        f"{CPU}/cpu2/topology/thread_siblings_list": "0,2",
        f"{CPU}/cpu1/topology/thread_siblings_list": "1,3",
    })  # fmt: skip
    found = noise.smt(root)
    assert found.status == "warning" and found.found == "on: CPUs sharing a core: 0,2 1,3"
    assert "--cpus" in (found.advice or "")
    single = tree(tmp_path / "one", {f"{CPU}/cpu0/topology/thread_siblings_list": "0"})
    assert noise.smt(single).status == "ok"


def test_isolated_cores_are_offered_for_cpus(tmp_path: Path) -> None:
    found = noise.isolated(tree(tmp_path, {f"{CPU}/isolated": "2-3"}))
    assert found.status == "ok" and "--cpus 2-3" in found.found


def test_steal_from_proc_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stat = tmp_path / "proc" / "stat"
    stat.parent.mkdir()
    readings = iter([
        "cpu  100 0 100 700 0 0 0 100 0 0",
        "cpu  150 0 150 800 0 0 0 200 0 0",  # 300 more jiffies, 100 of them stolen
    ])  # fmt: skip
    stat.write_text(next(readings))
    monkeypatch.setattr(noise.time, "sleep", lambda s: stat.write_text(next(readings)))
    found = noise.steal(tmp_path, 0.0)
    assert found.status == "warning" and found.found.startswith("33.3% of CPU time stolen")


def test_battery() -> None:
    on_battery = noise.battery(lambda: SimpleNamespace(power_plugged=False, percent=41))
    assert on_battery.status == "warning" and on_battery.found == "on battery (41%)"
    assert noise.battery(lambda: SimpleNamespace(power_plugged=True, percent=99)).status == "ok"
    assert noise.battery(lambda: None).status == "ok"


def test_a_busy_process_is_named() -> None:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        found = noise.busy_processes(0.5)
    finally:
        hog.kill()
        hog.wait()
    assert found.status == "warning"
    assert f"pid {hog.pid}" in found.found


def test_the_report_is_noisy_when_any_check_warns(tmp_path: Path) -> None:
    report = noise.check(tree(tmp_path, {f"{CPU}/intel_pstate/no_turbo": "0"}), watch_s=0.05)
    assert report.noisy
    assert [c.name for c in report.checks][:2] == [
        "other busy processes",
        "steal time (virtual machine)",
    ]
    assert "turbo boost" in {c.name for c in report.checks if c.status == "warning"}
