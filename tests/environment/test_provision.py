"""Provisioning: the environment hash, what gets installed, plans that write nothing, errors
that leave nothing, and (slow) a real build with uv that is then reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import reef
from reef import api, owner
from reef.components.resolve import resolve
from reef.environment import installers, provision
from reef.environment.provision import (
    MARKER,
    ProvisionError,
    environment_hash,
    find_interpreter,
    find_provisioned,
    requirements,
)
from reef.errors import ReefError
from reef.meta.lock import Lock, LockedEnvironment

needs_uv = pytest.mark.skipif(installers.find_uv() is None, reason="uv is not installed")


@pytest.fixture
def lock() -> Lock:
    return resolve("digits-classifier")


def with_environment(lock: Lock, **packages: str) -> Lock:
    env = LockedEnvironment(python="3.11.7", packages=packages or {"numpy": "2.0.0"})
    return lock.model_copy(update={"environment": env})


def test_the_hash_ignores_the_environment_section(lock: Lock) -> None:
    plain = environment_hash(lock, "cpython-3.11")
    assert environment_hash(with_environment(lock), "cpython-3.11") == plain
    assert environment_hash(with_environment(lock, onnxruntime="1.0"), "cpython-3.11") == plain
    assert environment_hash(lock, "cpython-3.12") != plain
    changed = lock.model_copy(update={"python": ["onnxruntime==1.22.0"]})
    assert environment_hash(changed, "cpython-3.11") != plain


def test_a_lock_never_provisioned_keeps_its_bytes(lock: Lock) -> None:
    from reef.components.lockfile import lock_bytes

    assert b'"environment"' not in lock_bytes(lock)
    assert b'"environment"' in lock_bytes(with_environment(lock))


def test_requirements_are_the_locks_reefs_and_its_pins(lock: Lock) -> None:
    lock = lock.model_copy(update={"python": ["onnxruntime==1.22.0"]})
    reqs = requirements(lock)
    assert reqs[0] == "onnxruntime==1.22.0"
    assert "pydantic>=2.6" in reqs
    assert not any("pytest" in r or "extra" in r for r in reqs)  # base requirements only
    pinned = requirements(with_environment(lock, numpy="2.0.0", rich="13.0.0"))
    assert pinned[-2:] == ["numpy==2.0.0", "rich==13.0.0"]


def test_a_requirement_that_is_not_one_is_refused(lock: Lock) -> None:
    bad = lock.model_copy(update={"python": ["--index-url=http://example.com"]})
    with pytest.raises(ProvisionError, match=r"python\[0\].*not a Python requirement"):
        requirements(bad)
    # A pin that is not a plain name and version cannot even be a lock's (see below).
    env = LockedEnvironment.model_construct(python="3.11.7", packages={"numpy": "2.0; rm -rf"})
    with pytest.raises(ProvisionError, match=r"environment\.packages\.numpy"):
        requirements(lock.model_copy(update={"environment": env}))


@pytest.mark.parametrize(
    "packages",
    [
        {"numpy 2": "2.0.0"},
        {"numpy@x": "2.0.0"},
        {"numpy;x": "2.0.0"},
        {"numpy[x]": "2.0.0"},
        {"numpy": "2.0; rm -rf"},
        {"numpy": "https://example.com/numpy.whl"},
        {"numpy": ">=2.0"},
    ],
)
def test_a_locks_pins_are_plain_names_and_versions(
    lock: Lock, tmp_path: Path, packages: dict[str, str]
) -> None:
    from reef.components.lockfile import read_lock
    from reef.errors import ManifestError

    data = json.loads(lock.model_dump_json())
    data["environment"] = {"python": "3.11.7", "packages": packages}
    path = tmp_path / "reef.lock"
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"environment\.packages") as err:
        read_lock(path)
    assert err.value.exit_code == 2
    assert LockedEnvironment(python="3.11", packages={"onnx-runtime.x_1": "1.0.post1+local"})


def test_the_gpu_bindings_follow_the_host(lock: Lock, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    class Host:
        version = "12.535.161"

    def fake(name: str) -> object:
        if name == "nvidia-ml-py":
            return Host()
        return distribution(name)

    monkeypatch.setattr(provision, "distribution", fake)
    assert "nvidia-ml-py==12.535.161" in requirements(lock)
    pinned = requirements(with_environment(lock, **{"nvidia-ml-py": "12.0.0"}))
    assert "nvidia-ml-py==12.0.0" in pinned and "nvidia-ml-py==12.535.161" not in pinned

    def missing(name: str) -> object:
        if name == "nvidia-ml-py":
            raise PackageNotFoundError(name)
        return distribution(name)

    monkeypatch.setattr(provision, "distribution", missing)
    assert not any(r.startswith("nvidia-ml-py") for r in requirements(lock))


def names(reqs: list[str]) -> set[str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return {canonicalize_name(Requirement(r).name) for r in reqs}


def host_builds(monkeypatch: pytest.MonkeyPatch, *builds: str) -> None:
    """This machine has these builds of ONNX Runtime installed (none: not installed)."""
    from reef.environment.detectors import frameworks

    def fake(framework: str) -> dict[str, str]:
        return {b: "1.20.0" for b in builds} if framework == "onnxruntime" else {}

    monkeypatch.setattr(frameworks, "installed_distributions", fake)


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision, "gpu_requirements", lambda pins: [])


@pytest.mark.usefixtures("no_gpu")
def test_an_environment_gets_what_the_worker_imports_and_the_runtime(
    lock: Lock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_builds(monkeypatch, "onnxruntime")
    reqs = requirements(lock)
    assert names(reqs) == provision.WORKER_REQUIREMENTS | {"onnxruntime"}
    assert "onnxruntime>=1.17" in reqs  # the [cpu] extra's specifier
    # Every one the worker needs is a requirement of Reef's, as its metadata spells it.
    assert names(provision.reef_requirements()) == provision.WORKER_REQUIREMENTS
    for absent in ("sqlalchemy", "alembic", "typer", "rich", "resolvelib"):
        assert absent not in names(reqs)


@pytest.mark.usefixtures("no_gpu")
@pytest.mark.parametrize(
    ("builds", "expected"),
    [
        ((), "onnxruntime>=1.17"),
        (("onnxruntime",), "onnxruntime>=1.17"),
        (("onnxruntime-gpu",), "onnxruntime-gpu>=1.17"),
        (("onnxruntime-openvino",), "onnxruntime-openvino"),
        # Both (one overwrote the other's module): the GPU build was chosen on purpose.
        (("onnxruntime", "onnxruntime-gpu"), "onnxruntime-gpu>=1.17"),
    ],
)
def test_the_onnx_runtime_build_follows_the_host(
    lock: Lock, monkeypatch: pytest.MonkeyPatch, builds: tuple[str, ...], expected: str
) -> None:
    host_builds(monkeypatch, *builds)
    reqs = requirements(lock)
    runtimes = [r for r in reqs if "onnxruntime" in r]
    assert runtimes == [expected]


@pytest.mark.usefixtures("no_gpu")
def test_the_lock_names_its_runtime(lock: Lock, monkeypatch: pytest.MonkeyPatch) -> None:
    host_builds(monkeypatch, "onnxruntime-gpu")
    named = lock.model_copy(update={"python": ["onnxruntime==1.22.0"]})
    assert [r for r in requirements(named) if "onnxruntime" in r] == ["onnxruntime==1.22.0"]
    # A lock provisioned on another machine installs its exact pins, whatever this one has:
    # adding this machine's build beside them would overwrite their module.
    pinned = with_environment(lock, onnxruntime="1.21.0", numpy="2.0.0")
    assert [r for r in requirements(pinned) if "onnxruntime" in r] == ["onnxruntime==1.21.0"]
    gpu = with_environment(lock, **{"onnxruntime-gpu": "1.20.0"})
    assert [r for r in requirements(gpu) if "onnxruntime" in r] == ["onnxruntime-gpu==1.20.0"]


@pytest.mark.usefixtures("no_gpu")
@pytest.mark.parametrize(
    ("framework", "expected"),
    [
        ("torch", {"torch"}),
        ("tflite", {"ai-edge-litert"}),
        ("openvino", {"openvino"}),
        ("sklearn", {"scikit-learn", "joblib"}),
        ("some-plugins-framework", set()),  # its component lists what it needs
    ],
)
def test_the_runtime_of_other_frameworks(
    lock: Lock, monkeypatch: pytest.MonkeyPatch, framework: str, expected: set[str]
) -> None:
    host_builds(monkeypatch, "onnxruntime")
    reqs = requirements(lock, frameworks=[framework])
    assert names(reqs) == provision.WORKER_REQUIREMENTS | expected
    both = requirements(lock, frameworks=["onnxruntime", framework])
    assert names(both) == provision.WORKER_REQUIREMENTS | expected | {"onnxruntime"}
    # The extra's own specifier (torch's test pin never leaks in from the test extra).
    if framework == "torch":
        assert "torch>=2.3" in reqs
    # A version the lock asks for wins.
    if expected:
        first = sorted(expected)[0]
        asked = lock.model_copy(update={"python": [f"{first}==1.0"]})
        assert [r for r in requirements(asked, frameworks=[framework]) if first in r] == [
            f"{first}==1.0"
        ]


def test_the_plan_takes_the_locks_frameworks(
    lock: Lock, monkeypatch: pytest.MonkeyPatch, no_gpu: None
) -> None:
    host_builds(monkeypatch, "onnxruntime")
    chosen = provision.plan(lock, installer="pip", frameworks=["torch"])
    assert "torch>=2.3" in chosen.requirements
    assert not any("onnxruntime" in r for r in chosen.requirements)
    assert "onnxruntime>=1.17" in provision.plan(lock, installer="pip").requirements


def test_an_environment_with_two_onnx_runtime_builds_is_warned_about(
    lock: Lock, reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requirement of the lock's that depends on the CPU build, beside the GPU build Reef
    chose for this machine: the build says so (the installer is faked)."""
    installed: dict[str, str] = {}

    def inspect(python: Path) -> dict[str, object]:
        site = python.parent.parent / "lib" / "site"
        site.mkdir(parents=True, exist_ok=True)
        return {"site": str(site), "packages": dict(installed)}

    def install(argv: list[str], what: str, **kwargs: object) -> None:
        if "install" in argv:
            installed.update({"onnxruntime": "1.22.0", "onnxruntime-gpu": "1.22.0"})

    monkeypatch.setattr(provision, "_inspect", inspect)
    monkeypatch.setattr(provision, "run", install)
    messages: list[str] = []
    chosen = provision.plan(lock, installer="pip")
    env = provision.provision(chosen, progress=messages.append)
    assert env.status == "created"
    (warning,) = [m for m in messages if m.startswith("warning:")]
    assert "2 builds of ONNX Runtime (onnxruntime, onnxruntime-gpu)" in warning
    assert provision.several_builds({"onnxruntime": "1.22.0", "numpy": "2.0.0"}) is None


def test_requirements_cannot_become_installer_options() -> None:
    uv = installers.Installer("uv", "/usr/bin/uv")
    argv = uv.install_argv(Path("/env/bin/python"), ["numpy"], ["/wheels"], no_index=True)
    assert argv[-2:] == ["--", "numpy"]
    assert argv[argv.index("--find-links") + 1] == "/wheels" and "--no-index" in argv
    pip = installers.Installer("pip").install_argv(Path("/env/bin/python"), ["numpy"])
    assert pip[:4] == ["/env/bin/python", "-m", "pip", "install"] and pip[-2:] == ["--", "numpy"]


def test_installer_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert installers.choose("pip").name == "pip"
    with pytest.raises(ReefError, match="unknown installer"):
        installers.choose("conda")
    monkeypatch.setattr(installers, "find_uv", lambda: None)
    assert installers.choose("auto").name == "pip"
    with pytest.raises(ReefError, match="uv is not installed") as err:
        installers.choose("uv")
    assert err.value.exit_code == 2


def test_an_unknown_python_is_a_clear_error() -> None:
    for request in ("3.99", "/no/such/python3", "python-that-does-not-exist"):
        with pytest.raises(ProvisionError, match="no such Python found") as err:
            find_interpreter(request)
        assert err.value.exit_code == 2
        assert request in err.value.message


def test_a_program_that_is_not_python_is_a_clear_error(tmp_path: Path) -> None:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\necho '{}'\n")
    script.chmod(0o755)
    with pytest.raises(ProvisionError, match="not a usable Python interpreter") as err:
        find_interpreter(str(script))
    assert err.value.exit_code == 2


def test_this_python_by_version_or_path() -> None:
    version = ".".join(map(str, sys.version_info[:2]))
    assert find_interpreter(version).executable == sys.executable
    assert find_interpreter(sys.executable).version.startswith(version)
    assert find_interpreter(None).key == f"{sys.implementation.name}-{version}"


def test_a_dry_run_writes_nothing(
    reef_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = api.init("digits-classifier", dry_run=True, installer="pip")
    data = report.model_dump(mode="json")
    assert data["dry_run"] is True and data["lock_written"] is False
    env = data["environment"]
    assert env["action"] == "create" and env["installer"] == "pip"
    assert env["path"] == str(reef_home / "cache" / "envs" / env["hash"])
    assert [argv[1:3] for argv in env["commands"]] == [["-m", "venv"], ["-m", "pip"]]
    assert {s["status"] for s in data["sources"]} == {"local"}
    assert list(tmp_path.iterdir()) == []
    assert list(reef_home.rglob("*")) == []  # not even the component index


def test_a_dry_run_checks_the_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProvisionError, match=r"3\.99"):
        api.init("digits-classifier", dry_run=True, python="3.99")


def fake_env(
    lock: Lock,
    *,
    stamp: str = "old",
    packages: dict[str, str] | None = None,
    at: Path | None = None,
) -> Path:
    """A folder that looks like a complete environment for ``lock`` (no real interpreter)."""
    digest = environment_hash(lock, provision._lock_key(lock))
    env = at or provision.envs_dir() / digest
    python = provision.env_python(env)
    python.parent.mkdir(parents=True)
    python.write_text("")
    (env / "lib" / "site").mkdir(parents=True)
    marker = {"hash": digest, "site": "lib/site", "reef_stamp": stamp, "installer": "uv"}
    (env / MARKER).write_text(json.dumps(marker | {"packages": packages or {}}))
    return env


def test_the_hash_ignores_how_the_target_was_spelled(lock: Lock) -> None:
    spelled = resolve("digits-classifier@1.0.0")
    assert spelled.target != lock.target
    assert environment_hash(spelled, "cpython-3.11") == environment_hash(lock, "cpython-3.11")


def test_pins_the_environment_does_not_hold() -> None:
    marker = {"packages": {"numpy": "2.0.0", "Rich": "13.0.0"}}
    assert provision.pin_mismatches({}, marker) == {}
    assert provision.pin_mismatches({"numpy": "2.0.0", "rich": "13.0.0"}, marker) == {}
    assert provision.pin_mismatches({"numpy": "1.26.4"}, marker) == {"numpy": "2.0.0"}
    assert provision.pin_mismatches({"onnx": "1.16.0"}, marker) == {"onnx": None}


def fake_build(calls: list[str], lock: Lock, fail: bool = False) -> object:
    """Stands in for the installer: makes a complete-looking environment of the plan's pins."""

    def build(chosen: provision.Plan, tmp: Path, say: object, on_line: object) -> dict[str, object]:
        calls.append(tmp.name)
        if fail:
            tmp.mkdir()
            raise ReefError("the installer failed")
        fake_env(lock, at=tmp, packages=chosen.pins)
        return json.loads((tmp / MARKER).read_text()) | {"hash": chosen.hash}

    return build


def test_an_environment_without_the_locks_pins_is_rebuilt(
    lock: Lock, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_lock = with_environment(lock, numpy="1.26.4")
    env = fake_env(old_lock, packages={"numpy": "1.26.4"})
    (env / "old-file").write_text("")
    new_lock = with_environment(lock, numpy="2.0.0")
    same = provision.plan(old_lock, installer="pip")
    assert same.ready
    chosen = provision.plan(new_lock, installer="pip")
    assert chosen.path == env and not chosen.ready and chosen.to_json()["action"] == "create"

    calls: list[str] = []
    monkeypatch.setattr(provision, "_build", fake_build(calls, new_lock, fail=True))
    with pytest.raises(ReefError, match="installer failed"):
        provision.provision(chosen)
    assert (env / "old-file").exists()  # a failed rebuild leaves the old one in use
    assert [p.name for p in env.parent.iterdir()] == [env.name]

    monkeypatch.setattr(provision, "_build", fake_build(calls, new_lock))
    said: list[str] = []
    done = provision.provision(chosen, progress=said.append)
    assert done.status == "rebuilt" and done.packages == {"numpy": "2.0.0"}
    assert any("numpy==2.0.0 (has 1.26.4)" in m for m in said)
    assert not (env / "old-file").exists()
    assert [p.name for p in env.parent.iterdir()] == [env.name]  # the old one is gone
    assert provision.provision(chosen).status == "reused" and len(calls) == 2


def test_bench_of_a_provisioned_lock_without_its_environment(lock: Lock, tmp_path: Path) -> None:
    from reef.bench.target import resolve as bench_target
    from reef.components.lockfile import write_lock

    path = tmp_path / "reef.lock"
    write_lock(with_environment(lock, onnxruntime="1.22.0", numpy="2.0.0"), path)
    with pytest.raises(ReefError, match="not here") as err:
        bench_target(str(path))
    assert err.value.exit_code == 2
    assert "numpy==2.0.0, onnxruntime==1.22.0" in err.value.message
    assert f"reef init {path}" in err.value.message


def test_an_environment_without_its_marker_is_never_used(lock: Lock) -> None:
    env = fake_env(lock)
    assert find_provisioned(lock) is not None
    (env / MARKER).unlink()
    assert find_provisioned(lock) is None
    assert not provision.plan(lock, installer="pip").ready
    (env / MARKER).write_text('{"hash": "somebody else"}')
    assert find_provisioned(lock) is None


def test_reefs_copy_is_refreshed_when_reef_changed(lock: Lock) -> None:
    env = fake_env(lock, stamp="an older reef")
    found = find_provisioned(lock)
    assert found is not None and found.status == "reused"
    site = env / "lib" / "site"
    assert (site / "reef" / "bench" / "worker.py").is_file()
    assert not list(site.rglob("__pycache__"))
    (info,) = site.glob("reef_bench-*.dist-info")
    assert "reef.predictors" in (info / "entry_points.txt").read_text()
    assert "reef/bench/worker.py,," in (info / "RECORD").read_text()
    stamp = json.loads((env / MARKER).read_text())["reef_stamp"]
    assert stamp == provision._reef_stamp()
    before = (site / "reef").stat().st_ino
    find_provisioned(lock)
    assert (site / "reef").stat().st_ino == before  # same code: not copied again


def test_scripts_are_pointed_at_the_final_path(tmp_path: Path) -> None:
    tmp, final = tmp_path / ".tmp-abc-1-x", tmp_path / "abc"
    (tmp / "bin").mkdir(parents=True)
    script = tmp / "bin" / "tool"
    script.write_text(f"#!{tmp}/bin/python\nimport tool\n")
    script.chmod(0o755)
    binary = tmp / "bin" / "native"
    binary.write_bytes(b"\x7fELF\0" + str(tmp).encode())
    (tmp / "bin" / "python").symlink_to(sys.executable)
    (tmp / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = python -m venv {tmp}\n")
    provision._relocate(tmp, final)
    assert script.read_text() == f"#!{final}/bin/python\nimport tool\n"
    assert os.access(script, os.X_OK)
    assert binary.read_bytes() == b"\x7fELF\0" + str(tmp).encode()
    assert str(final) in (tmp / "pyvenv.cfg").read_text()


def test_builds_that_died_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    # A tag with the dead process's id (and so no start time that could still match).
    gone = tmp_path / f".tmp-{owner.Owner(dead.pid, 1.0).tag}-0123456789abcdef-aa"
    mine = tmp_path / f"{owner.staging_prefix('tmp')}0123456789abcdef-bb"
    for folder in (gone, mine):
        (folder / "bin").mkdir(parents=True)
    provision._sweep(tmp_path)
    assert not gone.exists() and mine.exists()


@pytest.mark.slow
@needs_uv
def test_built_once_with_uv_then_reused(
    reef_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    messages: list[str] = []
    report = api.init("digits-classifier", installer="uv", progress=messages.append)
    env = report.environment
    assert env is not None and env.status == "created" and env.installer == "uv"
    assert env.path == reef_home / "cache" / "envs" / env.hash
    assert any("creating the environment with uv" in m for m in messages)
    assert [p.name for p in env.path.parent.iterdir()] == [env.hash]  # no temporary left

    written = Lock.model_validate_json((tmp_path / "reef.lock").read_text())
    assert written.environment is not None
    assert written.environment.packages == env.packages
    assert "onnxruntime" in env.packages and "reef-bench" not in env.packages
    probe = (
        "import importlib.metadata as m, sys; import reef.bench.worker; "
        "print(m.version('reef-bench'), [e.name for e in m.entry_points(group='reef.predictors')], "
        "sys.prefix)"
    )
    out = subprocess.run(
        [str(env.python), "-I", "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[0] == reef.__version__
    assert "'onnxruntime'" in out and str(env.path) in out

    started = time.monotonic()
    again = api.init("reef.lock")
    elapsed = time.monotonic() - started
    assert again.environment is not None and again.environment.status == "reused"
    assert again.environment.hash == env.hash and again.lock_written is False
    assert again.environment.seconds < 0.5, again.environment.seconds
    assert elapsed < 2.0, elapsed


def test_bench_finds_the_environment_of_a_lock_or_a_component(lock: Lock, tmp_path: Path) -> None:
    from reef.bench.target import resolve as bench_target
    from reef.components.lockfile import write_lock

    path = tmp_path / "reef.lock"
    write_lock(lock, path)
    assert bench_target(str(path)).provisioned is None
    assert bench_target("digits-classifier").provisioned is None
    env = fake_env(lock)
    for target in (str(path), "digits-classifier"):
        found = bench_target(target).provisioned
        assert found is not None and found.path == env, target
    # Another spelling of the same target resolves to the same lock, so the same environment.
    found = bench_target("digits-classifier@1.0.0").provisioned
    assert found is not None and found.path == env
