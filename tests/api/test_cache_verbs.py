"""Issue 14, item 6: `reef.api.cache` lists and cleans the three kinds Reef caches (solution
steps, fetched sources, provisioned environments), never removes an environment a live run
holds a lease on, and reports the leftovers of killed processes it sweeps, with their size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reef import config
from reef.api.cache import cache_clean, cache_list
from reef.environment import cache as envs
from reef.errors import SettingsError
from reef.solutions import cache as steps

DAY = 86400.0
# A process id no live process has (Linux ids stay below 2**22): its staging is stale.
DEAD = f"{2**22 + 1234}@1000"


def fake_source(data: bytes = b"x" * 1000, *, name: str = "a" * 64, age_days: float = 0) -> Path:
    path = config.cache_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    _age(path, age_days)
    return path


def fake_env(name: str = "b" * 64, *, age_days: float = 0) -> Path:
    """A folder that looks like a complete environment (no real interpreter)."""
    env = config.envs_dir() / name
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_bytes(b"\0" * 500)
    marker = {
        "hash": name,
        "site": "lib",
        "installer": "uv",
        "python": {"implementation": "cpython", "version": "3.11.7"},
        "packages": {"numpy": "2.0.0", "onnx": "1.17.0"},
        "created_at": "2025-03-01T12:00:00+00:00",
    }
    (env / envs.MARKER).write_text(json.dumps(marker))
    _age(env / envs.MARKER, age_days)
    return env


def fake_step(solution: str = "sol@1.0.0", step: str = "a", *, age_days: float = 0) -> Path:
    staged = steps.stage(steps.step_key({"solution": solution, "step": step}))
    (staged.out / "data.bin").write_bytes(b"y" * 2000)
    entry = staged.commit(solution=solution, step=step, uses="shell", duration_s=0.5, result={})
    _age(entry.path / steps.ENTRY, age_days)
    return entry.path


def _age(path: Path, days: float) -> None:
    if days:
        then = time.time() - days * DAY
        os.utime(path, (then, then))


@contextmanager
def leased(env: Path) -> Iterator[subprocess.Popen[str]]:
    """Another live process holding a lease on ``env`` (as a running bench would)."""
    code = (
        "import sys; from pathlib import Path; from reef.environment.cache import lease; "
        f"print(lease(Path({str(env)!r})), flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "True"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_an_empty_cache() -> None:
    assert cache_list() == []
    report = cache_clean(everything=True)
    assert report.removed == [] and report.kept == [] and report.leftovers == []
    assert report.freed_bytes == report.leftover_bytes == 0


def test_every_kind_is_listed_with_its_size() -> None:
    fake_step()
    fake_source()
    fake_env()
    items = cache_list()
    assert [i.kind for i in items] == ["steps", "sources", "envs"]
    step, source, env = items
    assert step.solution == "sol@1.0.0" and step.step == "a" and step.size_bytes > 2000
    assert source.key == "a" * 64 and source.size_bytes == 1000
    assert env.key == "b" * 64 and env.complete and env.python == "cpython 3.11.7"
    assert env.packages == 2 and env.installer == "uv" and env.size_bytes > 500
    assert env.in_use_by == []
    assert [i.kind for i in cache_list(["env", "SOURCES"])] == ["sources", "envs"]
    assert [i.kind for i in cache_list(solution="sol")] == ["steps"]
    assert cache_list(solution="other") == []


def test_a_dry_run_removes_nothing() -> None:
    paths = [fake_step(), fake_source(), fake_env()]
    report = cache_clean(everything=True, dry_run=True)
    assert report.dry_run and len(report.removed) == 3
    assert report.freed_bytes == sum(i.size_bytes for i in report.removed)
    assert all(p.exists() for p in paths)


def test_clean_all_of_one_kind() -> None:
    step, source, env = fake_step(), fake_source(), fake_env()
    report = cache_clean(["sources"], everything=True)
    assert [i.key for i in report.removed] == ["a" * 64]
    assert report.freed_bytes == 1000
    assert not source.exists() and step.exists() and env.exists()
    cache_clean(["envs"], everything=True)
    assert not env.exists() and step.exists()
    assert sorted(p.name for p in config.envs_dir().iterdir()) == []


def test_unused_for_days() -> None:
    old_step, new_step = fake_step(step="old", age_days=10), fake_step(step="new")
    old_source = fake_source(name="c" * 64, age_days=10)
    new_source = fake_source(name="d" * 64)
    old_env, new_env = fake_env("e" * 64, age_days=10), fake_env("f" * 64)
    report = cache_clean(unused_for_days=5)
    assert sorted(i.kind for i in report.removed) == ["envs", "sources", "steps"]
    assert not old_step.exists() and not old_source.exists() and not old_env.exists()
    assert new_step.exists() and new_source.exists() and new_env.exists()


def test_an_environment_in_use_is_kept() -> None:
    env = fake_env()
    with leased(env) as holder:
        [listed] = cache_list(["envs"])
        assert listed.in_use_by == [holder.pid]
        report = cache_clean(everything=True)
        assert report.removed == []
        assert [(i.key, i.in_use_by) for i in report.kept] == [("b" * 64, [holder.pid])]
        assert env.is_dir()
    # Once its process is gone the lease no longer counts.
    report = cache_clean(everything=True)
    assert [i.key for i in report.removed] == ["b" * 64]
    assert not env.exists()


def test_a_lease_is_refused_once_the_environment_is_removed() -> None:
    env = fake_env()
    assert envs.lease(env)
    assert envs.users(env) == (os.getpid(),)  # this process uses it now
    assert envs.remove(env) is False
    assert env.is_dir()
    for lease in env.glob(".use-*"):
        lease.unlink()
    assert envs.remove(env) is True
    assert not env.exists()
    assert envs.lease(env) is False


def test_leftovers_of_killed_processes_are_reported_and_swept() -> None:
    partial = config.cache_dir() / f".partial-{DEAD}-abc"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"z" * 3000)
    build = config.envs_dir() / f".tmp-{DEAD}-0123456789abcdef-00"
    (build / "bin").mkdir(parents=True)
    (build / "bin" / "python").write_bytes(b"z" * 700)
    live = config.cache_dir() / "steps" / f".tmp-{envs.owner.current().tag}-running"
    live.mkdir(parents=True)
    dry = cache_clean(everything=True, dry_run=True)
    assert sorted((x.what, x.size_bytes) for x in dry.leftovers) == [
        ("download", 3000),
        ("environment build", 700),
    ]
    assert dry.leftover_bytes == 3700 and partial.exists() and build.exists()
    report = cache_clean(everything=True)
    assert report.leftover_bytes == 3700
    assert not partial.exists() and not build.exists()
    assert live.is_dir()  # a step of this live process


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "say what to remove"),
        ({"unused_for_days": -1.0}, "--unused-for: expected a number of days >= 0, got -1.0"),
        ({"unused_for_days": float("nan")}, "--unused-for: expected a number of days >= 0"),
        ({"kinds": ["wheels"], "everything": True}, "--kind: unknown kind 'wheels'"),
        ({"kinds": ["envs"], "solution": "sol"}, "--solution applies to cached steps"),
    ],
)
def test_bad_requests_remove_nothing(kwargs: dict[str, object], message: str) -> None:
    paths = [fake_step(), fake_source(), fake_env()]
    with pytest.raises(SettingsError) as caught:
        cache_clean(**kwargs)  # type: ignore[arg-type]
    assert caught.value.message.startswith(message)
    assert all(p.exists() for p in paths)


def test_a_fetch_that_finds_a_source_marks_it_used(tmp_path: Path) -> None:
    import hashlib

    from reef.components.fetch import fetch

    original = tmp_path / "weights.bin"
    original.write_bytes(b"w" * 100)
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    cached = fetch(original.as_uri(), digest)
    _age(cached, 10)
    assert [i.key for i in cache_clean(["sources"], unused_for_days=5, dry_run=True).removed] == [
        digest
    ]
    fetch(original.as_uri(), digest)  # found in the cache: used now
    assert cache_clean(["sources"], unused_for_days=5).removed == []
    assert cached.exists()
