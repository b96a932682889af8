"""Resolving components and their requirements into a lock."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from reef.components import repository
from reef.components.content import content_sha256
from reef.components.index import Entry
from reef.components.lockfile import LockMismatch, locate, lock_bytes
from reef.components.resolve import (
    DependencyCycle,
    ResolutionError,
    UnknownComponent,
    merge_python,
    resolve,
    resolve_entries,
)
from reef.errors import ReefError


def entry(name: str, version: str, *requires: str, repository: str = "lab") -> Entry:
    """An index entry with no folder behind it: enough for resolve_entries."""
    return Entry(
        repository=repository,
        kind="program",
        name=name,
        version=version,
        path=f"{name}/{version}/reef.yaml",
        requires=requires,
        root=f"/nowhere/{repository}",
    )


def versions(target: str, entries: list[Entry]) -> dict[str, str]:
    return {name: e.version for name, e in resolve_entries(target, entries).items()}


def program(folder: Path, name: str, version: str, **fields: Any) -> Path:
    """A program component in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {"kind": "program", "name": name, "version": version, "command": ["echo"], **fields}
    (folder / "reef.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def test_highest_version_wins() -> None:
    entries = [entry("app", "1.0.0", "lib"), entry("lib", "1.0.0"), entry("lib", "2.0.0")]
    assert versions("app", entries) == {"app": "1.0.0", "lib": "2.0.0"}


def test_target_constraint() -> None:
    entries = [entry("lib", "1.0.0"), entry("lib", "2.0.0"), entry("lib", "3.0.0")]
    assert versions("lib@<3", entries) == {"lib": "2.0.0"}
    assert versions("lib >=1,<2", entries) == {"lib": "1.0.0"}
    assert versions("lib@3.0.0", entries) == {"lib": "3.0.0"}


def test_constraints_of_several_requirers_intersect() -> None:
    entries = [
        entry("app", "1.0.0", "lib >=1.5", "tool"),
        entry("tool", "1.0.0", "lib <3"),
        *(entry("lib", v) for v in ("1.0.0", "2.0.0", "3.0.0")),
    ]
    assert versions("app", entries) == {"app": "1.0.0", "tool": "1.0.0", "lib": "2.0.0"}


def test_backtracks_to_a_lower_version() -> None:
    # The newest 'a' needs b >=2, which 'c' rules out: only a 1.0.0 fits.
    entries = [
        entry("app", "1.0.0", "a", "c"),
        entry("a", "2.0.0", "b >=2"),
        entry("a", "1.0.0", "b <2"),
        entry("c", "1.0.0", "b <2"),
        entry("b", "1.0.0"),
        entry("b", "2.0.0"),
    ]
    assert versions("app", entries) == {"app": "1.0.0", "a": "1.0.0", "b": "1.0.0", "c": "1.0.0"}


def test_conflict_names_requirers_and_available_versions() -> None:
    entries = [
        entry("app", "1.0.0", "digits >=2", "lib"),
        entry("lib", "1.2.0", "digits <2"),
        entry("digits", "1.0.0", repository="builtin"),
        entry("digits", "2.0.0", repository="lab"),
    ]
    with pytest.raises(ResolutionError) as info:
        resolve("app", entries=entries)
    message = info.value.message
    assert message.startswith("cannot resolve 'app': ")
    assert "app 1.0.0 requires digits >=2" in message
    assert "lib 1.2.0 requires digits <2" in message
    assert "available: digits 1.0.0 (builtin), 2.0.0 (lab)" in message
    assert info.value.exit_code == 2
    assert info.value.hint


def test_no_version_satisfies_the_target() -> None:
    entries = [entry("lib", "1.0.0"), entry("lib", "2.0.0", repository="other")]
    with pytest.raises(ResolutionError) as info:
        resolve("lib@>=5", entries=entries)
    assert info.value.message == (
        "cannot resolve 'lib@>=5': the target requires lib >=5; "
        "available: lib 1.0.0 (lab), 2.0.0 (other)"
    )


def test_unknown_requirement_names_the_requirer() -> None:
    with pytest.raises(UnknownComponent) as info:
        resolve("app", entries=[entry("app", "1.0.0", "nope >=1")])
    assert "app 1.0.0 requires 'nope'" in info.value.message
    assert (info.value.name, info.value.required_by) == ("nope", "app 1.0.0")
    assert info.value.exit_code == 2


def test_unknown_target() -> None:
    with pytest.raises(UnknownComponent) as info:
        resolve("nope", entries=[entry("app", "1.0.0")])
    assert info.value.message == "no component named 'nope'"
    assert info.value.hint is not None and "app" in info.value.hint


def test_cycle_is_named() -> None:
    entries = [entry("a", "1.0.0", "b"), entry("b", "2.0.0", "a >=1")]
    with pytest.raises(DependencyCycle) as info:
        resolve("a", entries=entries)
    assert info.value.message == "dependency cycle: a 1.0.0 -> b 2.0.0 -> a 1.0.0"
    assert info.value.exit_code == 2


def test_cycle_below_the_root_and_to_itself() -> None:
    entries = [
        entry("app", "1.0.0", "x"),
        entry("x", "1.0.0", "y"),
        entry("y", "1.0.0", "z"),
        entry("z", "1.0.0", "x"),
    ]
    with pytest.raises(DependencyCycle) as info:
        resolve("app", entries=entries)
    assert info.value.cycle == ["x 1.0.0", "y 1.0.0", "z 1.0.0", "x 1.0.0"]
    with pytest.raises(DependencyCycle, match=r"self 1.0.0 -> self 1.0.0"):
        resolve("self", entries=[entry("self", "1.0.0", "self")])


def test_a_shared_requirement_is_not_a_cycle() -> None:
    entries = [
        entry("app", "1.0.0", "a", "b"),
        entry("a", "1.0.0", "base"),
        entry("b", "1.0.0", "base"),
        entry("base", "1.0.0"),
    ]
    assert set(versions("app", entries)) == {"app", "a", "b", "base"}


def test_malformed_requirement_in_an_entry() -> None:
    with pytest.raises(ResolutionError) as info:
        resolve("app", entries=[entry("app", "1.0.0", "lib >=banana")])
    assert "lab/app/1.0.0/reef.yaml" in info.value.message
    assert "lib >=banana" in info.value.message


def test_malformed_requirement_nothing_reaches_is_harmless() -> None:
    entries = [entry("app", "1.0.0"), entry("other", "1.0.0", "!!")]
    assert versions("app", entries) == {"app": "1.0.0"}


def test_repository_priority_breaks_ties() -> None:
    entries = [
        entry("lib", "1.0.0", repository="first"),
        entry("lib", "1.0.0", repository="second"),
    ]
    assert resolve_entries("lib", entries)["lib"].repository == "first"


def test_lock_from_repositories(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    program(lab / "app", "app", "1.0.0", requires=["lib >=1"], python=["numpy>=1.26"])
    program(lab / "lib" / "1.0.0", "lib", "1.0.0")
    program(lab / "lib" / "2.0.0", "lib", "2.0.0", python=["numpy<3", "rich[jupyter]>=13"])
    repository.add(str(lab))
    lock = resolve("app")
    assert (lock.target, lock.root) == ("app", "app")
    assert [c.name for c in lock.components] == ["app", "lib"]
    app, lib = lock.components
    assert app.requires == ["lib==2.0.0"]
    assert (lib.version, lib.repository, lib.path) == ("2.0.0", "lab", "lib/2.0.0/reef.yaml")
    assert lib.repository_location == str(lab.resolve())
    assert lib.sha256 == content_sha256(lab / "lib" / "2.0.0")
    assert lib.python == ["numpy<3", "rich[jupyter]>=13"]
    assert lock.python == ["numpy<3,>=1.26", "rich[jupyter]>=13"]
    assert lock.reef_version
    assert locate(lib).directory == lab / "lib" / "2.0.0"


def test_lock_is_deterministic(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    program(lab / "app", "app", "1.0.0", requires=["b", "a"], python=["zlib-ng", "Attrs>=1"])
    program(lab / "a", "a", "1.0.0", requires=["c"], python=["attrs<30"])
    program(lab / "b", "b", "1.0.0", requires=["c"])
    program(lab / "c", "c", "1.0.0")
    repository.add(str(lab))
    first = lock_bytes(resolve("app"))
    assert first == lock_bytes(resolve("app"))


def test_repository_priority_in_the_lock(tmp_path: Path) -> None:
    for name in ("first", "second"):
        program(tmp_path / name / "lib", "lib", "1.0.0", description=name)
        repository.add(str(tmp_path / name))
    assert resolve("lib").root_component.repository == "first"


def test_python_requirements_merge() -> None:
    merged = merge_python(
        [
            "numpy>=1.26",
            "NumPy<3",
            "numpy[extra]",
            "pywin32>=300; sys_platform == 'win32'",
            "pywin32<400; sys_platform == 'win32'",
            "numpy>=2; python_version >= '3.12'",
        ]
    )
    assert merged == [
        'numpy>=2; python_version >= "3.12"',
        "numpy[extra]<3,>=1.26",
        'pywin32<400,>=300; sys_platform == "win32"',
    ]
    assert merge_python(["numpy>=1.26", "numpy<3"]) == ["numpy<3,>=1.26"]
    with pytest.raises(ResolutionError):
        merge_python(["not a requirement!"])


def test_builtin_classifier_brings_its_dataset() -> None:
    lock = resolve("digits-classifier")
    assert {c.name: c.version for c in lock.components} == {
        "digits": "1.0.0",
        "digits-classifier": "1.0.0",
    }
    assert lock.root_component.requires == ["digits==1.0.0"]
    assert lock.component("digits").kind == "dataset"
    assert lock.component("digits").sources[0].path == "digits.npz"
    assert all(c.repository == "builtin" for c in lock.components)


def test_local_folder_outside_every_repository(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    program(lab / "lib", "lib", "1.0.0")
    repository.add(str(lab))
    mine = program(tmp_path / "mine", "mine", "0.1.0", requires=["lib"])
    for target in (str(mine), str(mine / "reef.yaml")):
        lock = resolve(target)
        root = lock.root_component
        assert (root.repository, root.repository_location, root.path) == (
            "local",
            str(mine),
            "reef.yaml",
        )
        assert root.requires == ["lib==1.0.0"]
    assert locate(lock.root_component).directory == mine
    (mine / "notes.txt").write_text("changed\n")
    with pytest.raises(LockMismatch, match="has changed since it was locked"):
        locate(lock.root_component)
    shutil.rmtree(mine)
    with pytest.raises(LockMismatch, match="no longer holds it"):
        locate(lock.root_component)


def test_folder_inside_a_repository_keeps_its_repository(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    program(lab / "lib" / "1.0.0", "lib", "1.0.0")
    program(lab / "lib" / "2.0.0", "lib", "2.0.0")
    repository.add(str(lab))
    lock = resolve(str(lab / "lib" / "1.0.0"))
    assert (lock.root_component.version, lock.root_component.repository) == ("1.0.0", "lab")


def test_missing_path() -> None:
    with pytest.raises(ReefError, match="no such component folder"):
        resolve("./nowhere/reef.yaml")


def _random_graph(seed: int) -> list[Entry]:
    import random

    rng = random.Random(seed)
    names = [f"n{i}" for i in range(8)]
    specs = ["", ">=1.1", "<2", ">=2", "~=1.0", "==2.*", ">=1.0,<3"]
    out = []
    for i, name in enumerate(names):
        for version in rng.sample(["1.0.0", "1.1.0", "2.0.0", "2.1.0", "3.0.0"], 3):
            deps = rng.sample(names[i + 1 :], min(len(names) - i - 1, rng.randint(0, 3)))
            out.append(entry(name, version, *(f"{d} {rng.choice(specs)}" for d in deps)))
    return out


@pytest.mark.parametrize("seed", range(300))
def test_the_fast_path_chooses_what_resolvelib_chooses(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without backtracking, resolution is replayed in linear time; it must agree with
    resolvelib itself on every graph, including those where it hands over."""
    from reef.components import resolve as module

    entries = _random_graph(seed)

    def outcome() -> dict[str, str] | str:
        try:
            return versions("n0", entries)
        except ResolutionError as exc:
            return type(exc).__name__

    fast = outcome()
    monkeypatch.setattr(module, "_without_backtracking", lambda *_: None)
    assert fast == outcome()


def _backtracking_graph(seed: int) -> list[Entry]:
    """Tighter constraints, more versions and names than ``_random_graph``, and now and then a
    requirement back up the graph: most of these make resolvelib backjump, some roll back."""
    import random

    rng = random.Random(seed)
    names = [f"n{i}" for i in range(rng.choice([8, 12, 20, 40]))]
    specs = ["", ">=1.1", "<2", ">=2", "~=1.0", "==2.*", ">=1.0,<3", "<1.1", "==1.1.0"]
    out = []
    for i, name in enumerate(names):
        pool = names if seed % 5 == 0 else names[i + 1 :]
        for version in rng.sample(["1.0.0", "1.1.0", "2.0.0", "2.1.0", "3.0.0"], rng.randint(1, 4)):
            deps = rng.sample(pool, min(len(pool), rng.randint(0, 4)))
            out.append(entry(name, version, *(f"{d} {rng.choice(specs)}" for d in deps)))
    return out


@pytest.mark.parametrize("seed", range(400))
def test_the_incremental_loop_chooses_what_resolvelib_chooses(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reef's copy of resolvelib's loop keeps each round's bookkeeping instead of redoing it;
    every choice, and so every result and every error, must be resolvelib's own."""
    from resolvelib import Resolver

    from reef.components import resolve as module

    entries = _backtracking_graph(seed)
    monkeypatch.setattr(module, "_without_backtracking", lambda *_: None)

    def outcome() -> dict[str, str] | str:
        try:
            return versions("n0", entries)
        except ReefError as exc:
            return f"{type(exc).__name__}: {exc.message}"
        except RecursionError:
            return "RecursionError"

    mine = outcome()
    monkeypatch.setattr(module, "incremental_resolver", Resolver)
    theirs = outcome()
    # resolvelib's own result-building recursion never ends on some cycles; Reef's does.
    assert mine == theirs or (theirs == "RecursionError" != mine)


def test_a_cycle_an_earlier_choice_left_behind_is_dropped() -> None:
    # n0 2.1.0 brings n2, which wants n0 1.1.0 and itself: n0 is pinned again, and n2 is left
    # pinned, required only by itself. resolvelib's own walk of the result recursed forever.
    entries = [
        entry("n0", "1.1.0"),
        entry("n0", "2.1.0", "n2 ==1.1.0"),
        entry("n2", "1.1.0", "n0 ==1.1.0", "n2 ==1.1.0"),
    ]
    assert versions("n0", entries) == {"n0": "1.1.0"}


def test_the_backtracking_graphs_exercise_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above means something only if its graphs backjump, roll back optimistic
    backjumping and drop the information of invalidated pins."""
    from reef.components import resolve as module
    from reef.components import resolver

    monkeypatch.setattr(module, "_without_backtracking", lambda *_: None)
    seen = {"_backjump": 0, "_rollback_states": 0, "_drop_information": 0}
    for method in seen:
        original = getattr(resolver.Resolution, method)

        def counted(self: Any, *args: Any, _name: str = method, _f: Any = original) -> Any:
            seen[_name] += 1
            return _f(self, *args)

        monkeypatch.setattr(resolver.Resolution, method, counted)
    for seed in range(400):
        with contextlib.suppress(ReefError):
            versions("n0", _backtracking_graph(seed))
    assert all(n >= 10 for n in seen.values()), seen


def test_another_resolvelib_gets_its_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvelib

    from reef.components import resolver

    provider: Any = object()
    reporter = resolvelib.BaseReporter()
    assert type(resolver.resolver(provider, reporter)) is not resolvelib.Resolver
    monkeypatch.setattr(resolvelib, "__version__", "9.0.0")
    assert type(resolver.resolver(provider, reporter)) is resolvelib.Resolver
