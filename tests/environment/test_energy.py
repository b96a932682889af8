"""Reading energy counters: RAPL through a fake powercap tree under a temporary folder (and the
real one where this machine has it), NVML through a fake ``pynvml`` module. A counter that
cannot be read is said in one line and leaves no figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from reef.environment import energy
from reef.environment.energy import (
    NO_GPU_ENERGY,
    NO_NVML,
    NO_RAPL,
    RAPL_DENIED,
    EnergyMeter,
    merge,
    rapl_zones,
)
from reef.meta.run import EnergyDomain, EnergyInfo, load_record

RANGE_UJ = 262_143_328_850  # a real package's max_energy_range_uj


def zone(root: Path, folder: str, name: str, uj: int, range_uj: int | None = RANGE_UJ) -> Path:
    """One zone of a powercap tree as the kernel lays it out: a folder with ``name``,
    ``energy_uj`` and ``max_energy_range_uj``."""
    path = root / folder
    path.mkdir(parents=True)
    (path / "name").write_text(f"{name}\n")
    (path / "energy_uj").write_text(f"{uj}\n")
    if range_uj is not None:
        (path / "max_energy_range_uj").write_text(f"{range_uj}\n")
    return path


def set_uj(root: Path, folder: str, uj: int) -> None:
    (root / folder / "energy_uj").write_text(f"{uj}\n")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two packages, the first with its DRAM and core subzones, and psys: what a laptop or a
    two-socket server shows."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control type's own folder, not a zone
    zone(root, "intel-rapl:0", "package-0", 1_000_000)
    zone(root, "intel-rapl:0:0", "core", 400_000)
    zone(root, "intel-rapl:0:1", "dram", 2_000_000)
    zone(root, "intel-rapl:1", "package-1", 5_000_000)
    zone(root, "intel-rapl:2", "psys", 9_000_000)
    zone(root, "intel-rapl-mmio:0", "package-0", 7_000_000)
    return root


@pytest.fixture(autouse=True)
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NVML unless a test brings its fake: ``import pynvml`` raises ImportError."""
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.delenv(energy.ROOT_ENV, raising=False)


def by_name(info: EnergyInfo) -> dict[str, EnergyDomain]:
    return {d.name: d for d in info.domains}


def test_package_and_dram_counters_are_found_and_the_rest_left_out(tree: Path) -> None:
    zones, notes = rapl_zones(tree)
    assert notes == []
    assert [z.name for z in zones] == ["package-0", "dram-0", "package-1"]
    assert zones[0].path == tree / "intel-rapl:0" / "energy_uj"
    assert zones[0].range_uj == RANGE_UJ


def test_counters_that_advance_give_joules_watts_and_joules_per_sample(tree: Path) -> None:
    meter = EnergyMeter(tree)
    meter.start()
    set_uj(tree, "intel-rapl:0", 1_000_000 + 3_000_000)  # 3 J
    set_uj(tree, "intel-rapl:0:1", 2_000_000 + 500_000)  # 0.5 J
    set_uj(tree, "intel-rapl:1", 5_000_000 + 1_500_000)  # 1.5 J
    set_uj(tree, "intel-rapl:0:0", 900_000)  # core: inside the package, not counted again
    info = meter.stop(samples=1000)
    assert info is not None
    found = by_name(info)
    assert found["package-0"].joules == pytest.approx(3.0)
    assert found["dram-0"].joules == pytest.approx(0.5)
    assert found["package-1"].joules == pytest.approx(1.5)
    assert {d.method for d in info.domains} == {"rapl"}
    assert info.joules == pytest.approx(5.0)
    assert info.samples == 1000
    assert info.joules_per_sample == pytest.approx(0.005)
    assert info.seconds > 0
    assert info.watts == pytest.approx(5.0 / info.seconds, rel=1e-3)
    assert info.notes == [NO_NVML]


def test_a_counter_that_wraps_counts_the_joules_past_its_range(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", RANGE_UJ - 1_000_000)
    meter = EnergyMeter(tmp_path)
    meter.start()
    set_uj(tmp_path, "intel-rapl:0", 2_000_000)  # 1 J to the top, then 2 J after the wrap
    info = meter.stop(samples=3)
    assert info is not None
    assert by_name(info)["package-0"].joules == pytest.approx(3.0)
    assert info.joules_per_sample == pytest.approx(1.0)


def test_a_counter_that_goes_back_without_a_range_is_left_out(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", 5_000_000, range_uj=None)
    meter = EnergyMeter(tmp_path)
    meter.start()
    set_uj(tmp_path, "intel-rapl:0", 1_000_000)
    info = meter.stop(samples=3)
    assert info is not None
    assert info.domains == [] and info.joules is None and info.joules_per_sample is None
    assert "package-0: the counter went back and its range is unknown" in info.notes


def test_amd_zones_are_read_alike(tmp_path: Path) -> None:
    zone(tmp_path, "amd-rapl:0", "package-0", 0)
    meter = EnergyMeter(tmp_path)
    meter.start()
    set_uj(tmp_path, "amd-rapl:0", 250_000)
    info = meter.stop(samples=1)
    assert info is not None and info.joules == pytest.approx(0.25)


def test_permission_denied_is_said_once_and_leaves_no_figure(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, whom chmod does not stop: the read itself is made to refuse.
    def denied(path: Path) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(energy, "read_uj", denied)
    meter = EnergyMeter(tree)
    meter.start()
    info = meter.stop(samples=10)
    assert info is not None
    assert info.notes == [NO_NVML, RAPL_DENIED]
    assert RAPL_DENIED == "permission denied: run as root or add a udev rule"
    assert info.domains == [] and info.joules is None and info.watts is None


def test_no_tree_at_all_is_no_rapl_in_this_vm(tmp_path: Path) -> None:
    assert rapl_zones(tmp_path / "absent") == ([], ["no RAPL in this VM"])
    assert rapl_zones(tmp_path) == ([], [NO_RAPL])  # a tree without RAPL zones
    meter = EnergyMeter(tmp_path / "absent")
    meter.start()
    info = meter.stop(samples=5)
    assert info is not None
    assert info.notes == ["no RAPL in this VM", "no NVIDIA driver (NVML)"]
    assert info.joules is None and info.joules_per_sample is None and info.domains == []
    assert info.samples == 5


def test_the_root_comes_from_the_environment(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(energy.ROOT_ENV, str(tree))
    assert energy.powercap_root() == tree
    assert [z.name for z in rapl_zones()[0]] == ["package-0", "dram-0", "package-1"]
    assert energy.powercap_root("/elsewhere") == Path("/elsewhere")


def test_stop_without_start_is_none(tree: Path) -> None:
    assert EnergyMeter(tree).stop() is None


class NotSupported(Exception):
    pass


def fake_nvml(energies_mj: list[int | None], *, init_fails: bool = False) -> ModuleType:
    """A ``pynvml`` with a GPU per value (None: one that does not report total energy); each
    read of a GPU's counter advances it by 2 J."""
    module = ModuleType("pynvml")
    state: dict[str, Any] = {"mj": list(energies_mj), "shutdown": False}

    class NVMLError(Exception):
        pass

    def init() -> None:
        if init_fails:
            raise NVMLError("Driver Not Loaded")

    def energy_of(handle: SimpleNamespace) -> int:
        value = state["mj"][handle.index]
        if value is None:
            raise NotSupported("Not Supported")
        state["mj"][handle.index] = value + 2000
        return int(value)

    def shutdown() -> None:
        state["shutdown"] = True

    module.NVMLError = NVMLError  # type: ignore[attr-defined]
    module.NVMLError_NotSupported = NotSupported  # type: ignore[attr-defined]
    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = shutdown  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: len(energies_mj)  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda i: SimpleNamespace(index=i)  # type: ignore[attr-defined]
    module.nvmlDeviceGetTotalEnergyConsumption = energy_of  # type: ignore[attr-defined]
    module.state = state  # type: ignore[attr-defined]
    return module


def test_nvml_absent_is_said(tmp_path: Path) -> None:
    assert NO_NVML in EnergyMeter(tmp_path).notes


def test_nvml_that_does_not_start_is_no_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([0], init_fails=True))
    assert EnergyMeter(tmp_path).notes == [NO_RAPL, NO_NVML]


def test_gpu_energy_from_nvml_and_a_gpu_that_does_not_report_it(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nvml = fake_nvml([10_000, None])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    meter = EnergyMeter(tree)
    meter.start()
    set_uj(tree, "intel-rapl:0", 2_000_000)  # 1 J
    info = meter.stop(samples=4)
    assert info is not None
    found = by_name(info)
    assert found["gpu-0"].joules == pytest.approx(2.0) and found["gpu-0"].method == "nvml"
    assert "gpu-1" not in found
    assert info.notes == [f"gpu-1: {NO_GPU_ENERGY}"]
    assert NO_GPU_ENERGY == "this GPU does not report total energy"
    assert info.joules == pytest.approx(3.0)
    assert info.joules_per_sample == pytest.approx(0.75)
    assert nvml.state["shutdown"]


def test_processes_add_up_and_one_without_figures_is_left_out_of_every_sum() -> None:
    def one(joules: float, seconds: float, samples: int) -> EnergyInfo:
        domain = EnergyDomain(name="package-0", joules=joules, method="rapl")
        return energy.summarise([domain], seconds, samples, [NO_NVML])

    nothing = energy.summarise([], 1.0, 50, [NO_RAPL])
    merged = merge([one(2.0, 1.0, 100), nothing, one(4.0, 1.0, 100), None])
    assert merged is not None
    assert merged.joules == pytest.approx(6.0)
    assert merged.samples == 200 and merged.seconds == pytest.approx(2.0)
    assert merged.joules_per_sample == pytest.approx(0.03)
    assert merged.watts == pytest.approx(3.0)
    assert merged.notes == [NO_NVML, NO_RAPL, "no energy figures for process 2, 4"]
    assert merge([None, None]) is None
    unmeasured = merge([nothing, nothing])
    assert unmeasured is not None and unmeasured.joules is None and unmeasured.notes == [NO_RAPL]


REAL = Path("/sys/class/powercap")


@pytest.mark.skipif(
    not rapl_zones(REAL)[0], reason="no RAPL powercap tree on this machine (a VM, or not Linux)"
)
def test_the_real_tree_reads_or_says_why_not() -> None:
    meter = EnergyMeter(REAL)
    meter.start()
    sum(i * i for i in range(200_000))  # some work between the readings
    info = meter.stop(samples=1)
    assert info is not None
    rapl = [d for d in info.domains if d.method == "rapl"]
    unreadable = [n for n in info.notes if n == RAPL_DENIED or ": cannot read " in n]
    if RAPL_DENIED in info.notes:
        assert rapl == []  # one line for every counter, and no figure
    else:
        # Each counter read gives joules; one the kernel would not give is said, by name.
        assert len(rapl) + len(unreadable) == len(rapl_zones(REAL)[0])
        assert all(d.joules >= 0 for d in rapl)


def test_a_record_from_before_energy_loads_without_it() -> None:
    frozen = Path(__file__).parents[1] / "meta" / "fixtures" / "record-2026-11-25.json"
    data = json.loads(frozen.read_text())
    assert "energy" not in data
    record = load_record(data, str(frozen))
    assert record.energy is None
    assert load_record(json.loads(record.model_dump_json()), "again") == record
