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
from reef import api
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
    with pytest.raises(ProvisionError, match=r"environment\.packages\.numpy"):
        requirements(with_environment(lock, numpy="2.0; rm -rf"))


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
    data = report.to_json()
    assert data["dry_run"] is True and data["lock_written"] is False
    env = data["environment"]
    assert env["action"] == "create" and env["installer"] == "pip"
    assert env["path"] == str(reef_home / "envs" / env["hash"])
    assert [argv[1:3] for argv in env["commands"]] == [["-m", "venv"], ["-m", "pip"]]
    assert {s["status"] for s in data["sources"]} == {"local"}
    assert list(tmp_path.iterdir()) == []
    assert not (reef_home / "envs").exists() and not (reef_home / "cache").exists()


def test_a_dry_run_checks_the_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProvisionError, match=r"3\.99"):
        api.init("digits-classifier", dry_run=True, python="3.99")


def fake_env(lock: Lock, *, stamp: str = "old") -> Path:
    """A folder that looks like a complete environment for ``lock`` (no real interpreter)."""
    digest = environment_hash(lock, provision.current_interpreter().key)
    env = provision.envs_dir() / digest
    python = provision.env_python(env)
    python.parent.mkdir(parents=True)
    python.write_text("")
    (env / "lib" / "site").mkdir(parents=True)
    marker = {"hash": digest, "site": "lib/site", "reef_stamp": stamp, "installer": "uv"}
    (env / MARKER).write_text(json.dumps(marker))
    return env


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
    (info,) = site.glob("reef-*.dist-info")
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
    gone = tmp_path / f".tmp-0123456789abcdef-{dead.pid}-aa"
    mine = tmp_path / f".tmp-0123456789abcdef-{os.getpid()}-bb"
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
    assert env.path == reef_home / "envs" / env.hash
    assert any("creating the environment with uv" in m for m in messages)
    assert [p.name for p in env.path.parent.iterdir()] == [env.hash]  # no temporary left

    written = Lock.model_validate_json((tmp_path / "reef.lock").read_text())
    assert written.environment is not None
    assert written.environment.packages == env.packages
    assert "onnxruntime" in env.packages and "reef" not in env.packages
    probe = (
        "import importlib.metadata as m, sys; import reef.bench.worker; "
        "print(m.version('reef'), [e.name for e in m.entry_points(group='reef.predictors')], "
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
    # Another spelling of the target is another lock, with no environment of its own.
    assert bench_target("digits-classifier@1.0.0").provisioned is None
