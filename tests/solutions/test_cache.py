"""The step cache seen from outside: listing entries and cleaning them by solution, by age or
all at once; a dry run and a refused request change nothing; unfinished folders never show."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from reef import api, config
from reef.api import solutions
from reef.errors import ReefError

DAY = 86400.0


def steps_dir() -> Path:
    return config.cache_dir() / "steps"


def folders() -> list[str]:
    root = steps_dir()
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A trusted repository with two solutions, ``one`` (steps a, b) and ``two`` (step c);
    each step appends its name to ``calls.txt`` and writes a file."""
    root = tmp_path / "lab"
    calls = tmp_path / "calls.txt"
    for name, steps in (("one", ["a", "b"]), ("two", ["c"])):
        data = {
            "kind": "solution",
            "name": name,
            "version": "1.2.0",
            "steps": [
                {"name": s, "uses": "shell", "with": {"run": f"echo {s} >> {calls}; echo {s} > f"}}
                for s in steps
            ],
        }
        (root / name).mkdir(parents=True)
        (root / name / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    api.repo_add(str(root), trusted=True)
    return tmp_path


@pytest.fixture
def filled(lab: Path) -> Path:
    solutions.run("one")
    solutions.run("two")
    return lab


def calls(lab: Path) -> list[str]:
    path = lab / "calls.txt"
    return path.read_text().split() if path.is_file() else []


def listed() -> list[tuple[str, str]]:
    return sorted((e.solution, e.step) for e in solutions.cache_list())


def age(key: str, days: float) -> None:
    """Make the entry look last used ``days`` ago."""
    then = time.time() - days * DAY
    os.utime(steps_dir() / key / "entry.json", (then, then))


def key_of(step: str) -> str:
    [entry] = [e for e in solutions.cache_list() if e.step == step]
    return entry.key


# --- list ---------------------------------------------------------------------------------


def test_an_empty_cache_lists_nothing() -> None:
    assert solutions.cache_list() == []


def test_list_shows_each_step_with_its_solution(filled: Path) -> None:
    assert listed() == [("one@1.2.0", "a"), ("one@1.2.0", "b"), ("two@1.2.0", "c")]
    for entry in solutions.cache_list():
        assert entry.uses == "shell"
        assert entry.path == steps_dir() / entry.key
        assert (entry.out / "f").read_text().strip() == entry.step
        assert entry.log.is_file()
        data = entry.to_json()
        json.dumps(data)  # JSON-serialisable
        assert data["solution"] == entry.solution and data["step"] == entry.step
        assert data["size_bytes"] > 0
        assert data["duration_s"] >= 0
        assert data["output_sha256"]


def test_list_one_solution(filled: Path) -> None:
    assert sorted(e.step for e in solutions.cache_list("one")) == ["a", "b"]
    assert [e.step for e in solutions.cache_list("two")] == ["c"]
    assert solutions.cache_list("three") == []


def test_unfinished_folders_are_never_listed(filled: Path) -> None:
    done = steps_dir() / key_of("a")
    # a step still running (or killed): its staging folder, even with an entry file in it
    shutil.copytree(done, steps_dir() / ".tmp-0123456789abcdef-deadbeef")
    # a folder whose entry file was never written
    half = steps_dir() / ("f" * 64)
    (half / "out").mkdir(parents=True)
    # an entry file that is not JSON
    broken = steps_dir() / ("e" * 64)
    shutil.copytree(done, broken)
    (broken / "entry.json").write_text("{not json")
    assert len(solutions.cache_list()) == 3
    assert listed() == [("one@1.2.0", "a"), ("one@1.2.0", "b"), ("two@1.2.0", "c")]


# --- clean --------------------------------------------------------------------------------


def test_clean_without_a_selector_is_refused(filled: Path) -> None:
    before = folders()
    with pytest.raises(ReefError) as info:
        solutions.cache_clean()
    assert info.value.exit_code == 2
    assert "say what to remove" in info.value.message
    assert "--all" in (info.value.hint or "")
    with pytest.raises(ReefError):
        solutions.cache_clean(dry_run=True)
    assert folders() == before


def test_clean_all(filled: Path) -> None:
    removed = solutions.cache_clean(everything=True)
    assert sorted(e.step for e in removed) == ["a", "b", "c"]
    assert solutions.cache_list() == []
    assert folders() == []
    # the next run does the work again
    record = solutions.run("one")
    assert {s.status for s in record.steps} == {"ok"}
    assert calls(filled) == ["a", "b", "c", "a", "b"]


def test_clean_one_solution_keeps_the_others(filled: Path) -> None:
    removed = solutions.cache_clean(solution="one")
    assert sorted((e.solution, e.step) for e in removed) == [("one@1.2.0", "a"), ("one@1.2.0", "b")]
    assert listed() == [("two@1.2.0", "c")]
    for entry in removed:
        assert not entry.path.exists()
    assert {s.status for s in solutions.run("two").steps} == {"cached"}
    assert {s.status for s in solutions.run("one").steps} == {"ok"}


def test_clean_a_solution_with_no_entries(filled: Path) -> None:
    assert solutions.cache_clean(solution="three") == []
    assert len(solutions.cache_list()) == 3


def test_clean_unused_for_removes_only_old_entries(filled: Path) -> None:
    age(key_of("a"), 10)
    age(key_of("c"), 3)
    removed = solutions.cache_clean(unused_for_s=5 * DAY)
    assert [e.step for e in removed] == ["a"]
    assert listed() == [("one@1.2.0", "b"), ("two@1.2.0", "c")]
    removed = solutions.cache_clean(unused_for_s=2 * DAY)
    assert [e.step for e in removed] == ["c"]
    assert listed() == [("one@1.2.0", "b")]


def test_using_an_entry_makes_it_recent(filled: Path) -> None:
    age(key_of("c"), 10)
    solutions.run("two")  # taken from the cache: a use
    assert solutions.cache_clean(unused_for_s=5 * DAY) == []
    assert len(solutions.cache_list()) == 3


def test_clean_by_solution_and_age_takes_both(filled: Path) -> None:
    age(key_of("a"), 10)
    age(key_of("c"), 10)
    removed = solutions.cache_clean(solution="one", unused_for_s=5 * DAY)
    assert [(e.solution, e.step) for e in removed] == [("one@1.2.0", "a")]
    assert listed() == [("one@1.2.0", "b"), ("two@1.2.0", "c")]


def test_a_dry_run_removes_nothing(filled: Path) -> None:
    stale = steps_dir() / ".tmp-0000000000000000-00000000"
    (stale / "out").mkdir(parents=True)
    os.utime(stale, (time.time() - 3 * DAY,) * 2)
    before = folders()
    for selector in ({"everything": True}, {"solution": "one"}, {"unused_for_s": 0.0}):
        removed = solutions.cache_clean(dry_run=True, **selector)  # type: ignore[arg-type]
        assert removed, selector
        assert folders() == before, selector
    assert len(solutions.cache_list()) == 3


def test_clean_sweeps_old_unfinished_folders_only(filled: Path) -> None:
    fresh = steps_dir() / ".tmp-1111111111111111-11111111"
    (fresh / "out").mkdir(parents=True)
    old = steps_dir() / ".tmp-2222222222222222-22222222"
    (old / "out").mkdir(parents=True)
    os.utime(old, (time.time() - 2 * DAY,) * 2)
    solutions.cache_clean(solution="two")
    names = folders()
    assert fresh.name in names  # a step may be running in it
    assert old.name not in names
    assert listed() == [("one@1.2.0", "a"), ("one@1.2.0", "b")]


def test_a_negative_age_is_refused(filled: Path) -> None:
    before = folders()
    with pytest.raises(ReefError):
        solutions.cache_clean(unused_for_s=-1.0)
    assert folders() == before
