"""reef init through the real CLI: a dry run changes nothing; a program that is not Python
and a requirement no index has are exit 2 with nothing left behind; the benchmark worker runs
without the requirements of Reef's that an environment does not get; (slow) a lock pinned to
an older onnxruntime is built, reused, and benchmarked inside its environment, and pip builds
the same lock to the same versions; a built-in model gets only the worker's requirements and
the ONNX Runtime this machine has. An unknown Python and a lock that is not there are checked
in-process in ``tests/cli/test_cli_init.py``."""

from __future__ import annotations

import json
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import SHORT, Reef, assert_usage_error

from reef.components.repository import builtin_root
from reef.environment.installers import find_uv
from reef.environment.provision import WORKER_REQUIREMENTS

BUILD_TIMEOUT_S = 600
ORT = "1.22.0"  # not the onnxruntime Reef itself runs with, so the record shows which ran
# Reef's requirements that serve the command, never the worker: no environment gets them.
NOT_FOR_THE_WORKER = ("alembic", "sqlalchemy", "typer", "rich", "resolvelib")

needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")


def with_python(manifest: Path, *requirements: str) -> Path:
    """The component folder of ``manifest``, its ``python`` requirements replaced."""
    data = yaml.safe_load(manifest.read_text())
    data["python"] = list(requirements)
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    return manifest.parent


def envs(reef: Reef) -> list[str]:
    """Everything under REEF_HOME/envs, temporary folders included."""
    folder = reef.home / "cache" / "envs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_a_dry_run_changes_nothing(reef: Reef) -> None:
    data = reef.ok("init", "digits-classifier", "--dry-run", "--json").json()
    assert data["dry_run"] is True and data["root"] == "digits-classifier"
    assert data["components"] == ["digits@1.0.0", "digits-classifier@1.0.0"]
    env = data["environment"]
    assert env["action"] == "create" and len(env["hash"]) == 64
    assert any("onnxruntime" in r for r in env["requirements"])
    human = reef.ok("init", "digits-classifier", "--dry-run", "--installer", "pip")
    assert "would create:" in human.stdout and "-m venv" in human.stdout
    assert human.says("nothing was changed")
    assert list(reef.cwd.iterdir()) == []
    assert not reef.home.exists() or list(reef.home.rglob("*")) == []


def test_a_program_that_is_not_python_is_exit_2(reef: Reef, tmp_path: Path) -> None:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\necho '{}'\n")
    script.chmod(0o755)
    result = reef("init", "digits-classifier", "--python", str(script))
    assert_usage_error(result, "not a usable Python interpreter", str(script))
    assert list(reef.cwd.iterdir()) == [] and envs(reef) == []


def test_bench_of_a_provisioned_lock_whose_environment_is_gone(reef: Reef) -> None:
    reef.ok("resolve", "digits-classifier")
    lock = json.loads((reef.cwd / "reef.lock").read_text())
    lock["environment"] = {"python": "3.11.7", "packages": {"onnxruntime": ORT}}
    (reef.cwd / "reef.lock").write_text(json.dumps(lock))
    result = reef("bench", "reef.lock", *SHORT)
    assert_usage_error(result, f"provisioned (onnxruntime=={ORT})", "run `reef init ", "reef.lock`")


def blocker(folder: Path, modules: list[str]) -> Path:
    """A ``sitecustomize`` in ``folder`` that, in the benchmark worker only, makes importing any
    of ``modules`` fail as if it were not installed."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        textwrap.dedent(
            f"""
            import sys

            BLOCKED = {set(modules)!r}

            class Blocker:
                def find_spec(self, name, path=None, target=None):
                    if name.split(".")[0] in BLOCKED:
                        raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                    return None

            if "reef.bench.worker" in sys.orig_argv:
                sys.meta_path.insert(0, Blocker())
            """
        )
    )
    return folder


def test_the_worker_needs_only_what_an_environment_gets(reef: Reef, tmp_path: Path) -> None:
    """What ``reef init`` leaves out of an environment (Reef's requirements but the worker's,
    and every runtime but the lock's) is not importable in the worker: the built-in
    classifier and the photo CNN (Pillow's steps) still run and are valid."""
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    assert not set(NOT_FOR_THE_WORKER) & WORKER_REQUIREMENTS
    left_out = set(NOT_FOR_THE_WORKER) | {"torch", "openvino", "ai-edge-litert", "onnx"}
    modules = [
        module
        for module, dists in packages_distributions().items()
        if any(canonicalize_name(d) in left_out for d in dists)
    ]
    assert {"sqlalchemy", "typer", "torch"} <= set(modules)
    folder = blocker(tmp_path / "site", modules)
    env = {"PYTHONPATH": str(folder)}
    for model in ("digits-classifier", "digits-cnn-photos"):
        result = reef("bench", model, *SHORT, "-s", "SingleStream", "--json", env=env)
        assert result.rc == 0, str(result)
        (record,) = result.json()
        assert record["status"] == "valid", record["reasons"]


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_requirement_that_does_not_exist(reef: Reef, digits_copy: Path, installer: str) -> None:
    if installer == "uv" and find_uv() is None:
        pytest.skip("uv is not installed")
    folder = with_python(digits_copy, "reef-no-such-package-xyz==1.0")
    result = reef("init", str(folder), "--installer", installer, timeout=BUILD_TIMEOUT_S)
    # The installer's own words, then Reef's hint; exit 3 (the installer failed: Reef's
    # environment); nothing half-made anywhere.
    assert result.rc == 3, str(result)
    assert "Traceback" not in result.stderr
    assert result.says(f"{installer}: installing the requirements failed")
    assert "reef-no-such-package-xyz" in result.stderr.split("failed", 1)[1]
    assert envs(reef) == []
    assert not (reef.cwd / "reef.lock").exists()
    as_json = reef("init", str(folder), "--installer", installer, "--json")
    assert as_json.rc == 3 and "reef-no-such-package-xyz" in as_json.json()["output_tail"]
    assert envs(reef) == []


@dataclass
class Pinned:
    """``reef init`` of the digits classifier pinned to onnxruntime ``ORT``, with uv: the home
    and working folder it was made in, and its JSON report."""

    reef: Reef
    report: dict[str, Any]


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory) -> Pinned:
    """Built once for the module: the tests only read it, or copy its lock elsewhere."""
    if find_uv() is None:
        pytest.skip("uv is not installed")
    base = tmp_path_factory.mktemp("pinned")
    (base / "work").mkdir()
    cli = Reef(base / "reef-home", base / "work")
    copy = shutil.copytree(builtin_root() / "digits-classifier", base / "digits-classifier")
    folder = with_python(Path(copy) / "reef.yaml", f"onnxruntime=={ORT}")
    data = cli("init", str(folder), "--json", timeout=BUILD_TIMEOUT_S)
    assert data.rc == 0, str(data)
    return Pinned(cli, data.json())


@pytest.mark.slow
@needs_uv
def test_init_then_bench_runs_inside_the_environment(pinned: Pinned) -> None:
    reef = pinned.reef
    env = pinned.report["environment"]
    assert env["status"] == "created" and env["installer"] == "uv"
    assert envs(reef) == [env["hash"]]
    lock = json.loads((reef.cwd / "reef.lock").read_text())
    assert lock["environment"]["packages"]["onnxruntime"] == ORT
    assert lock["environment"]["python"] == env["python_version"]

    again = reef.ok("init", "reef.lock")
    assert again.stdout.startswith(f"environment {env['hash'][:16]} reused")
    assert json.loads((reef.cwd / "reef.lock").read_text()) == lock

    result = reef.ok("bench", "reef.lock", *SHORT, "--mode", "performance", "--json")
    (record,) = result.json()
    assert record["status"] == "valid", record["reasons"]
    assert record["predictor"]["version"] == ORT  # measured by the pinned onnxruntime
    assert record["environment"]["provisioned"]["hash"] == env["hash"]
    fingerprint = {k: v for k, v in record["environment"].items() if k != "provisioned"}
    assert ORT in strings(fingerprint)
    inside = str(reef.home / "cache" / "envs" / env["hash"])
    assert any(s.startswith(inside) for s in strings(fingerprint)), "interpreter not in env"
    # The lock names its onnxruntime: no other build beside it, nothing the worker never uses.
    assert not [p for p in env["packages"] if p.startswith("onnxruntime") and p != "onnxruntime"]
    assert not set(NOT_FOR_THE_WORKER) & set(env["packages"])


@pytest.mark.slow
@needs_uv
def test_pip_builds_the_same_lock(pinned: Pinned, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(pinned.reef.cwd / "reef.lock", work / "reef.lock")
    elsewhere = Reef(tmp_path / "other-home", work)
    data = elsewhere("init", "reef.lock", "--installer", "pip", "--json", timeout=BUILD_TIMEOUT_S)
    assert data.rc == 0, str(data)
    env = data.json()["environment"]
    assert env["status"] == "created" and env["installer"] == "pip"
    assert env["hash"] == pinned.report["environment"]["hash"]
    assert env["packages"] == pinned.report["environment"]["packages"]  # exactly the pins


@pytest.mark.slow
@needs_uv
def test_a_built_in_model_gets_the_workers_requirements_and_this_machines_runtime(
    reef: Reef,
) -> None:
    from reef.environment.provision import host_onnxruntime

    data = reef("init", "digits-classifier", "--json", timeout=BUILD_TIMEOUT_S)
    assert data.rc == 0, str(data)
    env = data.json()["environment"]
    build = host_onnxruntime()  # the CPU build here, unless this machine has another
    assert any(r.startswith(build) for r in env["requirements"])
    assert build in env["packages"]
    assert not set(NOT_FOR_THE_WORKER) & set(env["packages"])
    assert set(env["packages"]) >= WORKER_REQUIREMENTS
    result = reef.ok("bench", "reef.lock", *SHORT, "-s", "SingleStream", "--json")
    (record,) = result.json()
    assert record["status"] == "valid", record["reasons"]
    assert record["environment"]["provisioned"]["hash"] == env["hash"]
    assert record["predictor"]["version"] == env["packages"][build]
    # --backend runs in the provisioned environment too, not in Reef's own interpreter.
    again = reef.ok("bench", "digits-classifier", *SHORT, "-b", "onnxruntime", "--json")
    (chosen,) = again.json()
    assert chosen["predictor"]["name"] == "onnxruntime"
    assert chosen["environment"]["provisioned"]["hash"] == env["hash"]
