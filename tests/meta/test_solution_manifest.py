"""The solution manifest: what can be checked without running anything is refused on load,
with the file, the field and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reef.errors import ManifestError
from reef.meta.load import load_manifest
from reef.meta.solution import BUILTIN_USES, SolutionManifest


def solution(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "solution", "name": "sol", "version": "1.0.0"}
    data.update(fields)
    return data


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "reef.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    """(location, message) of every problem loading ``path`` reports."""
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.exit_code == 2
    for p in info.value.problems:
        assert p.file == str(path)
        assert str(p).startswith(f"{path}: ")
    return [(p.location, p.message) for p in info.value.problems]


def only_problem(tmp_path: Path, data: dict[str, Any]) -> tuple[str, str]:
    found = problems(write(tmp_path, data))
    assert len(found) == 1, found
    return found[0]


def shell(name: str, *needs: str, run: str = "true") -> dict[str, Any]:
    return {"name": name, "uses": "shell", "with": {"run": run}, "needs": list(needs)}


# --- what loads -------------------------------------------------------------------------------


def test_a_full_solution_loads(tmp_path: Path) -> None:
    data = solution(
        requires=["digits-classifier >=1.0,<2", "digits", "prep"],
        python=["numpy>=1.26"],
        bench={
            "models": ["digits-classifier"],
            "scenarios": ["SingleStream", "Offline"],
            "settings": {"duration_s": 0.5, "raw_latencies": True},
        },
        steps=[
            {"name": "fetch", "uses": "fetch"},
            {"name": "prep", "uses": "prep", "with": {"args": ["x"]}, "needs": ["fetch"]},
            {"name": "bench", "uses": "bench", "needs": ["prep"]},
            {"name": "validate", "uses": "validate", "needs": ["bench"]},
        ],
        checks=[{"uses": "accuracy", "with": {"fraction": 0.9}, "name": "acc"}],
    )
    manifest = load_manifest(write(tmp_path, data))
    assert isinstance(manifest, SolutionManifest)
    assert [s.name for s in manifest.steps] == ["fetch", "prep", "bench", "validate"]
    assert manifest.step("prep").with_ == {"args": ["x"]}
    assert manifest.step("validate").needs == ["bench"]
    assert manifest.bench.scenarios == ["SingleStream", "Offline"]
    assert manifest.checks[0].name == "acc"


def test_defaults_of_an_empty_solution(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, solution()))
    assert isinstance(manifest, SolutionManifest)
    assert manifest.steps == [] and manifest.checks == []
    assert manifest.bench.scenarios == ["SingleStream"]
    assert manifest.bench.models == []


# --- steps ------------------------------------------------------------------------------------


def test_unknown_uses_lists_the_choices(tmp_path: Path) -> None:
    _, message = only_problem(tmp_path, solution(steps=[{"name": "prep", "uses": "make-coffee"}]))
    assert "'prep'" in message
    assert "'make-coffee'" in message
    for choice in BUILTIN_USES:
        assert choice in message
    assert "requires" in message


def test_uses_naming_a_component_not_in_requires_is_unknown(tmp_path: Path) -> None:
    _, message = only_problem(
        tmp_path, solution(requires=["digits"], steps=[{"name": "p", "uses": "prep"}])
    )
    assert "unknown uses 'prep'" in message


def test_needs_naming_a_missing_step(tmp_path: Path) -> None:
    _, message = only_problem(tmp_path, solution(steps=[shell("a"), shell("b", "ghost")]))
    assert "'b'" in message
    assert "'ghost'" in message
    assert "not a step" in message


def test_a_cycle_is_named(tmp_path: Path) -> None:
    _, message = only_problem(tmp_path, solution(steps=[shell("a", "b"), shell("b", "a")]))
    assert "cycle" in message
    assert "a -> b -> a" in message


def test_a_longer_cycle_is_named_without_steps_outside_it(tmp_path: Path) -> None:
    steps = [shell("start"), shell("x", "start", "z"), shell("y", "x"), shell("z", "y")]
    _, message = only_problem(tmp_path, solution(steps=steps))
    assert "x -> z -> y -> x" in message
    assert "start" not in message


def test_a_step_needing_itself_is_a_cycle(tmp_path: Path) -> None:
    _, message = only_problem(tmp_path, solution(steps=[shell("a", "a")]))
    assert "a -> a" in message


def test_duplicate_step_names(tmp_path: Path) -> None:
    steps = [shell("a"), shell("b"), {"name": "a", "uses": "detect"}]
    _, message = only_problem(tmp_path, solution(steps=steps))
    assert "duplicate" in message
    assert "'a'" in message
    assert "'b'" not in message


@pytest.mark.parametrize("name", ["Build", "has space", "-lead", "dot.ted", ""])
def test_bad_step_names(tmp_path: Path, name: str) -> None:
    location, message = only_problem(tmp_path, solution(steps=[shell(name)]))
    assert location == "steps[0].name"
    assert "not a step name" in message


def test_unknown_field_in_a_step(tmp_path: Path) -> None:
    step = {"name": "a", "uses": "shell", "wiht": {"run": "true"}}
    location, message = only_problem(tmp_path, solution(steps=[shell("ok"), step]))
    assert location == "steps[1].wiht"
    assert "unknown field" in message


def test_unknown_field_in_a_check(tmp_path: Path) -> None:
    location, _ = only_problem(tmp_path, solution(checks=[{"uses": "loadgen", "wtih": {}}]))
    assert location == "checks[0].wtih"


def test_a_step_without_uses(tmp_path: Path) -> None:
    location, _ = only_problem(tmp_path, solution(steps=[{"name": "a"}]))
    assert location == "steps[0].uses"


# --- bench ------------------------------------------------------------------------------------


def test_bench_models_outside_requires(tmp_path: Path) -> None:
    data = solution(requires=["digits"], bench={"models": ["digits-classifier"]})
    location, message = only_problem(tmp_path, data)
    assert location == "bench.models"
    assert "digits-classifier" in message
    assert "requires" in message


def test_bench_models_with_a_version_constraint_in_requires(tmp_path: Path) -> None:
    data = solution(
        requires=["digits-classifier >=1.0,<2"], bench={"models": ["digits-classifier"]}
    )
    manifest = load_manifest(write(tmp_path, data))
    assert isinstance(manifest, SolutionManifest)


@pytest.mark.parametrize(
    ("settings", "fragments"),
    [
        ({"duration_s": -1}, ["duration_s", "greater than 0"]),
        ({"duration_s": "long"}, ["duration_s"]),
        ({"scenario": "Offline"}, ["bench.scenarios", "not in settings"]),
        ({"no_such_setting": 1}, ["no_such_setting"]),
    ],
)
def test_bad_bench_settings(tmp_path: Path, settings: dict[str, Any], fragments: list[str]) -> None:
    location, message = only_problem(tmp_path, solution(bench={"settings": settings}))
    assert location.startswith("bench.settings")  # the setting's own name when it has one
    for fragment in fragments:
        assert fragment in f"{location}: {message}"


def test_an_unknown_scenario(tmp_path: Path) -> None:
    location, message = only_problem(tmp_path, solution(bench={"scenarios": ["Batch"]}))
    assert location == "bench.scenarios[0]"
    assert "Offline" in message


def test_no_scenarios(tmp_path: Path) -> None:
    location, _ = only_problem(tmp_path, solution(bench={"scenarios": []}))
    assert location == "bench.scenarios"


# --- where the problem is -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "location"),
    [
        (solution(steps=[shell("a"), {"name": "b", "uses": "nope"}]), "steps[1].uses"),
        (solution(steps=[shell("a"), shell("b", "ghost")]), "steps[1].needs"),
        (solution(steps=[shell("a"), shell("a")]), "steps[1].name"),
        (solution(requires=["digits"], bench={"models": ["other"]}), "bench.models"),
        (solution(steps=[shell("a", "b"), shell("b", "a")]), "steps"),
    ],
)
def test_cross_field_problems_name_their_field(
    tmp_path: Path, data: dict[str, Any], location: str
) -> None:
    found, _ = only_problem(tmp_path, data)
    assert found == location
