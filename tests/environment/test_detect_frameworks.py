"""The frameworks detector's view of ONNX Runtime's builds: which distribution provides the
module ``onnxruntime``, both of two installed side by side (one overwrote the other: a problem
with the fix), and none at all (``reef detect`` still answers)."""

from __future__ import annotations

import sys
import types
from importlib.metadata import Distribution, PackageNotFoundError, distributions
from pathlib import Path

import pytest

from reef.environment.detectors import frameworks as fw

NATIVE = "onnxruntime/capi/onnxruntime_pybind11_state.so"


def dist_info(site: Path, name: str, version: str, native_size: int) -> None:
    """A dist-info of ``name`` in ``site`` whose RECORD lists the native extension at
    ``native_size`` bytes."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (folder / "top_level.txt").write_text("onnxruntime\n")
    (folder / "RECORD").write_text(f"{NATIVE},sha256=x,{native_size}\n")


def host(monkeypatch: pytest.MonkeyPatch, site: Path, providers: list[str] | None = None) -> None:
    """Package metadata read from ``site`` alone, and an ``onnxruntime`` module with these
    providers (None: it is not importable)."""

    def lookup(name: str) -> Distribution:
        for found in distributions(name=name, path=[str(site)]):
            return found
        raise PackageNotFoundError(name)

    monkeypatch.setattr(fw, "distribution", lookup)
    if providers is None:
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    else:
        module = types.ModuleType("onnxruntime")
        module.get_available_providers = lambda: providers  # type: ignore[attr-defined]
        module.get_device = lambda: "GPU" if "CUDAExecutionProvider" in providers else "CPU"  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "onnxruntime", module)


def native(site: Path, size: int) -> None:
    path = site / NATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)


def test_the_distribution_that_provides_onnxruntime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist_info(tmp_path, "onnxruntime-gpu", "1.20.0", 300)
    native(tmp_path, 300)
    host(monkeypatch, tmp_path, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    facts = fw.frameworks.detect()
    ort = facts["onnxruntime"]
    assert ort["distribution"] == "onnxruntime-gpu" and ort["version"] == "1.20.0"
    assert ort["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert "distributions" not in ort  # one build: the fingerprint is as it was
    assert facts["problems"] == []
    assert fw.installed_distributions("onnxruntime") == {"onnxruntime-gpu": "1.20.0"}


@pytest.mark.parametrize(("on_disk", "survivor"), [(100, "onnxruntime"), (300, "onnxruntime-gpu")])
def test_two_builds_side_by_side_are_a_problem_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_disk: int, survivor: str
) -> None:
    dist_info(tmp_path, "onnxruntime", "1.22.0", 100)
    dist_info(tmp_path, "onnxruntime-gpu", "1.20.0", 300)
    native(tmp_path, on_disk)
    providers = ["CPUExecutionProvider"] if survivor == "onnxruntime" else ["CUDAExecutionProvider"]
    host(monkeypatch, tmp_path, providers)
    facts = fw.frameworks.detect()
    ort = facts["onnxruntime"]
    assert ort["distributions"] == {"onnxruntime": "1.22.0", "onnxruntime-gpu": "1.20.0"}
    assert ort["distribution"] == survivor  # whose files are on disk
    assert ort["version"] == ("1.22.0" if survivor == "onnxruntime" else "1.20.0")
    (problem,) = facts["problems"]
    assert "installed by 2 distributions (onnxruntime and onnxruntime-gpu)" in problem
    assert f"{survivor}'s files overwrote the others'" in problem
    assert f"survive ({', '.join(providers)})" in problem
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in problem
    assert "reef-bench[cpu]" in problem and "reef-bench[gpu]" in problem


def test_two_builds_whose_files_cannot_be_told_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist_info(tmp_path, "onnxruntime", "1.22.0", 100)
    dist_info(tmp_path, "onnxruntime-directml", "1.22.0", 100)
    native(tmp_path, 100)
    host(monkeypatch, tmp_path, ["DmlExecutionProvider", "CPUExecutionProvider"])
    facts = fw.frameworks.detect()
    assert facts["onnxruntime"]["distribution"] == "onnxruntime"  # the first listed
    (problem,) = facts["problems"]
    assert "the one installed last overwrote the others' files" in problem


def test_no_onnxruntime_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host(monkeypatch, tmp_path, None)
    facts = fw.frameworks.detect()
    assert "onnxruntime" not in facts and "onnxruntime" not in facts["volatile"]
    assert facts["problems"] == []
    assert fw.installed_distributions("onnxruntime") == {}


def test_installed_but_not_importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist_info(tmp_path, "onnxruntime", "1.22.0", 100)
    host(monkeypatch, tmp_path, None)
    facts = fw.frameworks.detect()
    assert facts["onnxruntime"]["providers"] is None
    (problem,) = facts["problems"]
    assert "onnxruntime 1.22.0 is installed but cannot be imported" in problem
