"""Issue 13, solutions: what a ``reef run`` killed with ``kill -9`` leaves (a
``solution-run.json`` stuck at ``running``, a ``cache/steps/.tmp-*`` folder) is recognised by
its dead owner and settled or removed on the next run, by ``load_run`` and by
``reef cache clean``; what a live run is doing is left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reef import api, config, owner
from reef.api import solutions
from reef.solutions import cache
from reef.solutions.tracker import (
    ORPHAN_REASON,
    RUN_FILE,
    RunOwner,
    SolutionRun,
    StepRecord,
    load_run,
    settle_orphans,
)


def dead_owner() -> RunOwner:
    """The owner of a real process, killed with SIGKILL."""
    script = (
        "import os, signal; from reef import owner;"
        "print(owner.current().tag, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    found = owner.Owner.from_tag(proc.stdout.strip())
    assert found is not None
    return RunOwner(pid=found.pid, started=found.started)


def running(run_owner: RunOwner | None) -> SolutionRun:
    """A run as a process killed after its first step left it."""
    run = SolutionRun(
        solution="sol",
        version="1.0.0",
        path="/somewhere/sol/reef.yaml",
        lock_sha256="0" * 64,
        owner=run_owner,
        steps=[
            StepRecord(name="a", uses="shell", status="ok"),
            StepRecord(name="b", uses="shell"),
            StepRecord(name="c", uses="shell"),
        ],
    )
    run.save()
    return run


def saved(run: SolutionRun) -> SolutionRun:
    path = run.folder / RUN_FILE
    return SolutionRun.model_validate_json(path.read_text(encoding="utf-8"))


def test_a_run_whose_process_died_is_interrupted_when_read() -> None:
    run = running(dead_owner())
    loaded = load_run(run.id[:10])
    assert loaded is not None
    assert loaded.status == "interrupted"
    assert [(s.status, s.reason) for s in loaded.steps] == [
        ("ok", None),
        ("skipped", ORPHAN_REASON),
        ("skipped", ORPHAN_REASON),
    ]
    assert saved(run).status == "interrupted"  # said once, on disk, for every reader after


def test_a_live_run_and_an_old_record_stay_running() -> None:
    live = running(RunOwner.this_process())
    unknown = running(None)  # written by a Reef that recorded no owner: cannot tell
    assert settle_orphans() == []
    for run in (live, unknown):
        loaded = load_run(run.id)
        assert loaded is not None and loaded.status == "running"
        assert saved(run).status == "running"


def test_the_next_run_settles_every_orphan(tmp_path: Path) -> None:
    orphans = [running(dead_owner()) for _ in range(2)]
    finished = running(None)
    finished.status = "ok"
    finished.save()
    (config.runs_dir() / "a-bench-run").mkdir()  # a benchmark run's folder: no solution run
    root = tmp_path / "lab"
    manifest = root / "sol" / "reef.yaml"
    manifest.parent.mkdir(parents=True)
    steps = [{"name": "a", "uses": "shell", "with": {"run": "true"}}]
    data = {"kind": "solution", "name": "sol", "version": "1.0.0", "steps": steps}
    manifest.write_text(yaml.safe_dump(data), encoding="utf-8")
    api.repo_add(str(root), trusted=True)
    record = solutions.run("sol")
    assert record.status == "ok"
    assert record.owner == RunOwner.this_process()
    assert [saved(r).status for r in orphans] == ["interrupted", "interrupted"]
    assert saved(finished).status == "ok"


def dead_step_staging() -> Path:
    """A step staging folder of a process killed mid-step."""
    root = cache.steps_dir()
    script = (
        "import os, signal, sys; from pathlib import Path; from reef import owner;"
        "p = Path(sys.argv[1]) / (owner.staging_prefix('tmp') + 'k' * 16 + '-abcdef12');"
        "(p / 'out').mkdir(parents=True); (p / 'out' / 'half.bin').write_bytes(b'x' * 4096);"
        "print(p, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return Path(proc.stdout.strip())


def test_the_next_step_removes_a_dead_steps_folder() -> None:
    stale = dead_step_staging()
    staging = cache.stage("f" * 64)
    assert not stale.exists()
    assert staging.path.is_dir()
    staging.discard()


@pytest.mark.parametrize("selector", [{"everything": True}, {"solution": "other"}])
def test_cache_clean_removes_a_dead_steps_folder(selector: dict[str, object]) -> None:
    """It survived `reef cache clean --all`: only folders a day old were swept."""
    stale = dead_step_staging()
    mine = cache.stage("e" * 64)  # this process is alive: its step may be running
    solutions.cache_clean(**selector)  # type: ignore[arg-type]
    assert not stale.exists()
    assert mine.path.is_dir()
    mine.discard()


def test_a_folder_half_deleted_by_a_killed_clean_is_removed() -> None:
    root = cache.steps_dir()
    aside = root / ".del-0123abcd-deadbeef"
    (aside / "out").mkdir(parents=True)
    solutions.cache_clean(everything=True)
    assert not aside.exists()
    assert os.listdir(root) == []
