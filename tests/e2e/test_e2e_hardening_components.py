"""Issue 13, components: concurrent ``reef repo`` and ``reef install`` commands, ``kill -9``
leftovers, special files and read-only or full disks, each with the real ``reef`` command in
real processes (what a lock or a dead owner means cannot be seen in one process)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from e2e_support import Reef, Result

CONCURRENT = 5
TRIALS = 3


def _start(reef: Reef, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        reef.argv(*args),
        env=reef.env,
        cwd=reef.cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _together(reef: Reef, commands: list[tuple[str, ...]]) -> list[Result]:
    """Start every command at once; wait for all of them."""
    procs = [(args, _start(reef, *args)) for args in commands]
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
