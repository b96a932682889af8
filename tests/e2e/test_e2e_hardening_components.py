"""Issue 13, components: concurrent ``reef repo`` and ``reef install`` commands, ``kill -9``
leftovers, special files and read-only or full disks, each with the real ``reef`` command in
real processes (what a lock or a dead owner means cannot be seen in one process)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from e2e_support import Reef, Result

CONCURRENT = 5
TRIALS = 3


def _together(reef: Reef, commands: list[tuple[str, ...]]) -> list[Result]:
    """Start every command at once; wait for all of them."""
    procs = [(args, reef.popen(*args)) for args in commands]
    results = []
    for args, proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(Result(args, proc.returncode, out, err))
    return results


def _repos(reef: Reef) -> dict[str, bool]:
    data = json.loads((reef.home / "repos.json").read_text(encoding="utf-8"))
    return {r["name"]: r["trusted"] for r in data["repositories"]}


def test_concurrent_repo_adds_keep_every_repository(reef: Reef, tmp_path: Path) -> None:
    """Five `reef repo add` at once, three times: every repository is still listed after."""
    for trial in range(TRIALS):
        names = [f"lab{trial}-{i}" for i in range(CONCURRENT)]
        for name in names:
            (tmp_path / name).mkdir()
        results = _together(reef, [("repo", "add", str(tmp_path / n), "--name", n) for n in names])
        for result in results:
            assert result.rc == 0, str(result)
        assert set(names) <= set(_repos(reef)), f"trial {trial}: {sorted(_repos(reef))}"
    assert len(_repos(reef)) == CONCURRENT * TRIALS


def test_an_untrust_racing_an_add_is_not_undone(reef: Reef, tmp_path: Path) -> None:
    """`repo untrust` said "not trusted" while an `add` that read the list before it wrote it
    back trusted: each command's change now survives the others'."""
    (tmp_path / "main").mkdir()
    reef.ok("repo", "add", str(tmp_path / "main"), "--name", "main", "--trusted")
    for trial in range(TRIALS):
        others = [f"other{trial}-{i}" for i in range(CONCURRENT - 1)]
        for name in others:
            (tmp_path / name).mkdir()
        trust = "untrust" if trial % 2 == 0 else "trust"
        commands = [("repo", "add", str(tmp_path / n), "--name", n) for n in others]
        commands.insert(len(commands) // 2, ("repo", trust, "main"))
        results = _together(reef, commands)
        for result in results:
            assert result.rc == 0, str(result)
        repos = _repos(reef)
        assert repos["main"] is (trust == "trust"), f"trial {trial}: {repos}"
        assert set(others) <= set(repos)


# --- item 14: concurrent installs sharing components ------------------------------------------


def test_concurrent_installs_of_shared_components_all_succeed(reef: Reef, tmp_path: Path) -> None:
    """Five `reef install` of the same pack at once, three times: each exits 0, without a
    traceback (one in twelve failed with [Errno 39] Directory not empty), and the components
    are installed once, whole."""
    pack = tmp_path / "d.reef.tar.gz"
    reef.ok("pack", "digits-classifier", "-o", str(pack))
    for trial in range(TRIALS):
        home = tmp_path / f"home-{trial}"
        other = Reef(home, reef.cwd)
        results = _together(other, [("install", str(pack), "--json")] * CONCURRENT)
        for result in results:
            assert result.rc == 0, str(result)
            assert "Traceback" not in result.stderr, str(result)
        statuses = sorted(c["status"] for result in results for c in result.json()["components"])
        # Each component is put in place by one install; the others find it there.
        assert statuses.count("installed") == 2, statuses
        installed = sorted(p.name for p in (home / "installed").iterdir())
        assert installed == [".reef-generation", "digits", "digits-classifier"]
        assert not [p for p in home.iterdir() if p.name.startswith(".")]
        shown = other.ok("show", "digits-classifier", "--json").json()
        assert shown["repository"] == "installed"


# --- item 16: what kill -9 leaves ---------------------------------------------------------------


def _started(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"reef ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"{what} did not happen within 60 s")
        time.sleep(0.005)


def _kill_9(proc: subprocess.Popen[str]) -> None:
    """kill -9 the reef process and whatever it started (the step's shell)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_a_run_killed_mid_step_is_interrupted_and_its_staging_cleaned(
    reef: Reef, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    lab = tmp_path / "lab" / "sol"
    lab.mkdir(parents=True)
    # The first run waits in its step to be killed; later ones finish at once.
    step = f'if [ ! -e "{marker}" ]; then touch "{marker}"; sleep 120; fi'
    manifest = {
        "kind": "solution",
        "name": "sol",
        "version": "1.0.0",
        "steps": [{"name": "wait", "uses": "shell", "with": {"run": step}}],
    }
    (lab / "reef.yaml").write_text(json.dumps(manifest), encoding="utf-8")
    reef.ok("repo", "add", str(lab.parent), "--trusted")
    steps = reef.home / "cache" / "steps"

    proc = reef.popen("run", "sol", new_session=True)
    _started(proc, marker.exists, "the step started")
    _kill_9(proc)
    [run_file] = list((reef.home / "runs").glob("*/solution-run.json"))
    assert json.loads(run_file.read_text())["status"] == "running"
    staging = [p for p in steps.iterdir() if p.name.startswith(".tmp-")]
    assert len(staging) == 1, staging

    cleaned = reef.ok("cache", "clean", "--all")
    assert not staging[0].exists(), cleaned
    again = reef.ok("run", "sol", "--json")
    assert again.json()["status"] == "ok"
    killed = json.loads(run_file.read_text())
    assert killed["status"] == "interrupted"
    assert [s["status"] for s in killed["steps"]] == ["skipped"]
    assert "killed" in killed["steps"][0]["reason"]


def test_an_install_killed_mid_way_is_cleaned_by_the_next(reef: Reef, tmp_path: Path) -> None:
    """The staging folder of a `reef install` killed with kill -9 (1.4 GB in one probe) is
    removed by the next install, whose own work is not disturbed."""
    lab = tmp_path / "lab" / "big"
    lab.mkdir(parents=True)
    blob = lab / "weights.bin"
    with blob.open("wb") as f:
        for _ in range(128):
            f.write(bytes(1 << 20))
    sha = hashlib.sha256(blob.read_bytes()).hexdigest()
    manifest = {
        "kind": "program",
        "name": "big",
        "version": "1.0.0",
        "command": ["true"],
        "sources": [{"path": "weights.bin", "sha256": sha}],
    }
    (lab / "reef.yaml").write_text(json.dumps(manifest), encoding="utf-8")
    reef.ok("repo", "add", str(lab.parent))
    pack = tmp_path / "big.reef.tar.gz"
    reef.ok("pack", "big", "-o", str(pack))
    home = tmp_path / "home"
    other = Reef(home, reef.cwd)

    def staging() -> list[Path]:
        return (
            [p for p in home.iterdir() if p.name.startswith(".install-")] if home.exists() else []
        )

    proc = other.popen("install", str(pack), new_session=True)
    _started(proc, lambda: bool(staging()), "the install staged")
    _kill_9(proc)
    [left] = staging()
    assert not (home / "installed" / "big").exists()

    other.ok("install", str(pack))
    assert not left.exists()
    assert staging() == []
    assert (home / "installed" / "big" / "1.0.0" / "weights.bin").stat().st_size == 128 << 20
