"""Running a solution's steps: order, the step cache, failures, placeholders, trust and the
tracker, through ``reef.api.solutions.run`` on small solutions of shell and program steps in
a temporary folder repository (no bench steps: these stay fast)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reef import api, config
from reef.api import solutions
from reef.components.trust import UntrustedComponent
from reef.errors import ManifestError, ReefError
from reef.solutions.engine import PlanError
from reef.solutions.tracker import RUN_FILE, SolutionRun, load_run


@dataclass
class Lab:
    """A folder repository of solutions; every step appends its name to ``calls``, a file
    outside its output folder, so that a test can tell which commands really ran."""

    root: Path
    calls: Path

    def step(self, name: str, *needs: str, run: str = "true", **fields: Any) -> dict[str, Any]:
        command = f"echo {name} >> {self.calls}; {run}"
        return {"name": name, "uses": "shell", "with": {"run": command}, "needs": list(needs)} | (
            fields
        )

    def solution(self, steps: list[dict[str, Any]], name: str = "sol", **fields: Any) -> Path:
        data: dict[str, Any] = {"kind": "solution", "name": name, "version": "1.0.0"}
        data |= fields
        data["steps"] = steps
        return write_manifest(self.root / name, data)

    def ran(self) -> list[str]:
        if not self.calls.is_file():
            return []
        return self.calls.read_text(encoding="utf-8").split()


def write_manifest(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reef.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    root = tmp_path / "lab"
    root.mkdir()
    api.repo_add(str(root), trusted=True)
    return Lab(root, tmp_path / "calls.txt")


@pytest.fixture
def wild(tmp_path: Path) -> Lab:
    """An untrusted repository, named ``wild``."""
    root = tmp_path / "wild"
    root.mkdir()
    api.repo_add(str(root), trusted=False)
    return Lab(root, tmp_path / "calls.txt")


def write_program(folder: Path, name: str, script: str) -> Path:
    """A program component running ``script`` with bash."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.sh").write_text(script, encoding="utf-8")
    data = {
        "kind": "program",
        "name": name,
        "version": "1.0.0",
        "command": ["bash", "{dir}/run.sh"],
    }
    return write_manifest(folder, data)


def statuses(record: SolutionRun) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


def cache_dirs() -> list[str]:
    root = config.cache_dir() / "steps"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def run_dirs() -> list[str]:
    root = config.runs_dir()
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def assert_nothing_written(lab: Lab) -> None:
    assert lab.ran() == []
    assert solutions.cache_list() == []
    assert cache_dirs() == []
    assert run_dirs() == []


def read_out(record: SolutionRun, step: str, file: str) -> str:
    out = record.step(step).out
    assert out is not None
    return (Path(out) / file).read_text(encoding="utf-8").strip()


# --- order and the cache ----------------------------------------------------------------------


def test_steps_run_after_what_they_need(lab: Lab) -> None:
    lab.solution(
        [
            lab.step("c", "b", run='cat "$REEF_STEP_B_OUT/b.txt" > c.txt'),
            lab.step("b", "a", run='cat "$REEF_STEP_A_OUT/a.txt" > b.txt; pwd > cwd.txt'),
            lab.step("a", run="echo from-a > a.txt"),
            lab.step("d"),
        ]
    )
    record = solutions.run("sol")
    ran = lab.ran()
    assert sorted(ran) == ["a", "b", "c", "d"]
    assert ran.index("a") < ran.index("b") < ran.index("c")
    assert record.status == "ok"
    assert set(statuses(record).values()) == {"ok"}
    assert read_out(record, "c", "c.txt") == "from-a"
    # the command ran in its output folder, which is where the record says the output is
    assert Path(read_out(record, "b", "cwd.txt")).name == "out"
    assert read_out(record, "b", "b.txt") == "from-a"


def test_a_second_run_takes_every_step_from_the_cache(lab: Lab) -> None:
    lab.solution([lab.step("a", run="echo 1 > a.txt"), lab.step("b", "a")])
    first = solutions.run("sol")
    assert lab.ran() == ["a", "b"]
    second = solutions.run("sol")
    assert lab.ran() == ["a", "b"], "a cached step's command ran again"
    assert statuses(second) == {"a": "cached", "b": "cached"}
    assert second.status == "ok"
    assert second.id != first.id
    assert [s.out for s in second.steps] == [s.out for s in first.steps]
    assert read_out(second, "a", "a.txt") == "1"
    assert len(solutions.cache_list()) == 2


def _chain(lab: Lab, a_text: str, b_text: str) -> list[dict[str, Any]]:
    return [
        lab.step("a", run=f"echo {a_text} > a.txt"),
        lab.step("b", "a", run=f"cp $REEF_STEP_A_OUT/a.txt .; echo {b_text} > b.txt"),
        lab.step("c", "b"),
        lab.step("other"),
    ]


def test_changing_a_step_reruns_it_and_its_dependants(lab: Lab) -> None:
    lab.solution(_chain(lab, "one", "x"))
    solutions.run("sol")
    lab.calls.unlink()

    lab.solution(_chain(lab, "two-two", "x"))
    record = solutions.run("sol")
    assert {"a", "b", "c"} <= set(lab.ran())
    assert {statuses(record)[n] for n in "abc"} == {"ok"}
    assert read_out(record, "a", "a.txt") == "two-two"
    # and back: the first version's entries are still there
    lab.calls.unlink()
    lab.solution(_chain(lab, "one", "x"))
    record = solutions.run("sol")
    assert lab.ran() == []
    assert set(statuses(record).values()) == {"cached"}


def test_changing_a_step_leaves_unrelated_steps_cached(lab: Lab) -> None:
    lab.solution(_chain(lab, "one", "x"))
    solutions.run("sol")
    lab.calls.unlink()

    lab.solution(_chain(lab, "two-two", "x"))
    record = solutions.run("sol")
    assert lab.ran() == ["a", "b", "c"]
    assert statuses(record) == {"a": "ok", "b": "ok", "c": "ok", "other": "cached"}
    lab.calls.unlink()

    lab.solution(_chain(lab, "two-two", "yy"))
    record = solutions.run("sol")
    assert lab.ran() == ["b", "c"]
    assert statuses(record) == {"a": "cached", "b": "ok", "c": "ok", "other": "cached"}


def test_a_changed_step_with_the_same_output_leaves_its_dependants_cached(lab: Lab) -> None:
    lab.solution([lab.step("a", run="echo same > a.txt"), lab.step("b", "a")])
    solutions.run("sol")
    lab.calls.unlink()
    # a different command (so a different key) that writes the very same bytes
    lab.solution([lab.step("a", run="printf 'same\\n' > a.txt"), lab.step("b", "a")])
    record = solutions.run("sol")
    assert lab.ran() == ["a"]
    assert statuses(record) == {"a": "ok", "b": "cached"}


def test_force_reruns_every_step(lab: Lab) -> None:
    lab.solution([lab.step("a", run="echo 1 > a.txt"), lab.step("b", "a")])
    solutions.run("sol")
    record = solutions.run("sol", force=True)
    assert lab.ran() == ["a", "b", "a", "b"]
    assert statuses(record) == {"a": "ok", "b": "ok"}
    assert len(solutions.cache_list()) == 2  # a forced step replaces its entry


def test_a_forced_step_with_identical_output_leaves_dependants_cached(lab: Lab) -> None:
    lab.solution([lab.step("a", run="echo 1 > a.txt"), lab.step("b", "a"), lab.step("c", "b")])
    solutions.run("sol")
    lab.calls.unlink()
    forced = solutions.run("sol", step="a", force=True)
    assert lab.ran() == ["a"]
    assert statuses(forced) == {"a": "ok"}
    record = solutions.run("sol")
    assert lab.ran() == ["a"], "a dependant re-ran though what it needs is byte-identical"
    assert statuses(record) == {"a": "cached", "b": "cached", "c": "cached"}


def test_force_with_step_reruns_only_that_step(lab: Lab) -> None:
    lab.solution([lab.step("a"), lab.step("b", "a"), lab.step("c", "b")])
    solutions.run("sol")
    lab.calls.unlink()
    record = solutions.run("sol", step="b", force=True)
    assert lab.ran() == ["b"]
    assert statuses(record) == {"a": "cached", "b": "ok"}


def test_step_runs_that_step_and_what_it_needs(lab: Lab) -> None:
    lab.solution(
        [lab.step("a"), lab.step("b", "a"), lab.step("c", "b"), lab.step("x"), lab.step("y", "a")]
    )
    record = solutions.run("sol", step="b")
    assert lab.ran() == ["a", "b"]
    assert [s.name for s in record.steps] == ["a", "b"]
    assert record.status == "ok"
    # the rest runs later; a and b come from the cache
    record = solutions.run("sol")
    assert sorted(lab.ran()) == ["a", "b", "c", "x", "y"]
    assert statuses(record) == {"a": "cached", "b": "cached", "c": "ok", "x": "ok", "y": "ok"}


def test_an_unknown_step_is_refused_before_anything_runs(lab: Lab) -> None:
    lab.solution([lab.step("a"), lab.step("b", "a")])
    with pytest.raises(PlanError) as info:
        solutions.run("sol", step="nope")
    assert info.value.exit_code == 2
    assert "'nope'" in info.value.message
    assert "a, b" in (info.value.hint or "")
    assert_nothing_written(lab)


# --- a failing step ---------------------------------------------------------------------------


@pytest.fixture
def failing(lab: Lab) -> Lab:
    lab.solution(
        [
            lab.step("a", run="echo 1 > a.txt"),
            lab.step("bad", "a", run="echo partial > part.txt; echo oops-on-stdout; exit 3"),
            lab.step("dep", "bad"),
            lab.step("dep2", "dep"),
            lab.step("free"),
        ]
    )
    return lab


def test_a_failing_step_fails_the_run_and_names_its_log(failing: Lab) -> None:
    with pytest.raises(solutions.RunFailed) as info:
        solutions.run("sol")
    err = info.value
    assert err.exit_code == 1
    assert "'bad'" in err.message
    assert "status 3" in err.message
    assert "dep" in err.message and "dep2" in err.message  # what was not run
    record = err.run
    bad = record.step("bad")
    assert err.hint == f"its log: {bad.log}"
    assert record.status == "failed"
    assert statuses(record) == {
        "a": "ok",
        "bad": "failed",
        "dep": "skipped",
        "dep2": "skipped",
        "free": "ok",
    }
    assert "'bad'" in (record.step("dep").reason or "")
    assert sorted(failing.ran()) == ["a", "bad", "free"]


def test_a_failed_step_is_kept_in_the_run_folder_not_the_cache(failing: Lab) -> None:
    with pytest.raises(solutions.RunFailed) as info:
        solutions.run("sol")
    record = info.value.run
    kept = record.folder / "steps" / "bad"
    assert record.step("bad").log == str(kept / "log.txt")
    assert record.step("bad").out == str(kept / "out")
    log = (kept / "log.txt").read_text(encoding="utf-8")
    assert "oops-on-stdout" in log
    assert "exit 3" in log  # the command, as run
    assert (kept / "out" / "part.txt").read_text().strip() == "partial"
    # only the steps that succeeded entered the cache; no staging folder is left over
    assert sorted(e.step for e in solutions.cache_list()) == ["a", "free"]
    assert not [d for d in cache_dirs() if d.startswith(".")]
    key = record.step("bad").key
    assert key and key not in cache_dirs()
    # the tracker's file says the same
    saved = json.loads((record.folder / RUN_FILE).read_text())
    assert saved["status"] == "failed"
    assert {s["name"]: s["status"] for s in saved["steps"]}["bad"] == "failed"


def test_a_failed_step_runs_again_next_time(failing: Lab) -> None:
    with pytest.raises(solutions.RunFailed):
        solutions.run("sol")
    failing.calls.unlink()
    with pytest.raises(solutions.RunFailed) as info:
        solutions.run("sol")
    assert failing.ran() == ["bad"]
    assert statuses(info.value.run)["a"] == "cached"


def test_a_step_that_times_out_fails(lab: Lab) -> None:
    step = lab.step("slow", run="sleep 20")
    step["with"]["timeout_s"] = 0.3
    lab.solution([step])
    with pytest.raises(solutions.RunFailed) as info:
        solutions.run("sol")
    assert "timed out after 0.3 s" in info.value.message
    assert solutions.cache_list() == []


def test_unknown_shell_parameters_are_refused_before_anything_runs(lab: Lab) -> None:
    lab.solution([lab.step("first"), {"name": "a", "uses": "shell", "with": {"cmd": "true"}}])
    with pytest.raises(ManifestError) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    problems = {(p.location, p.message) for p in info.value.problems}
    assert any(f == "steps[1].with" and "unknown parameter(s) cmd" in m for f, m in problems)
    assert any(f == "steps[1].with.run" for f, _ in problems)
    assert solutions.cache_list() == []
    assert lab.ran() == []


# --- metrics and placeholders -----------------------------------------------------------------


def test_metrics_json_becomes_the_steps_metrics(lab: Lab) -> None:
    lab.solution([lab.step("a", run="""echo '{"accuracy": 0.5, "n": 3}' > metrics.json""")])
    record = solutions.run("sol")
    assert record.step("a").metrics == {"accuracy": 0.5, "n": 3.0}
    cached = solutions.run("sol")
    assert cached.step("a").metrics == {"accuracy": 0.5, "n": 3.0}
    assert "metrics.json" in record.step("a").artifacts


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("not json", "not JSON"), ('{"a": "text"}', "object of numbers"), ("[1]", "object")],
)
def test_a_bad_metrics_json_fails_the_step(lab: Lab, content: str, fragment: str) -> None:
    lab.solution([lab.step("a", run=f"echo '{content}' > metrics.json")])
    with pytest.raises(solutions.RunFailed) as info:
        solutions.run("sol")
    assert "metrics.json" in info.value.message
    assert fragment in info.value.message
    assert solutions.cache_list() == []


def test_placeholders_expand(lab: Lab) -> None:
    sol = lab.solution(
        [
            lab.step("a", run="echo from-a > a.txt"),
            lab.step(
                "b",
                "a",
                run="cp {steps.a}/a.txt copied.txt; touch {out}/marker; "
                "cp {solution}/input.txt .; {python} -c 'import sys; print(sys.executable)' "
                "> python.txt; echo ${REEF_STEP_OUT} > env-out.txt",
            ),
        ]
    )
    (sol.parent / "input.txt").write_text("solution-file\n")
    record = solutions.run("sol")
    b = record.step("b")
    assert read_out(record, "b", "copied.txt") == "from-a"
    assert (Path(b.out or "") / "marker").is_file()
    assert read_out(record, "b", "input.txt") == "solution-file"
    assert read_out(record, "b", "python.txt") == sys.executable
    # a shell's own ${VAR} is left to the shell
    assert read_out(record, "b", "env-out.txt").endswith("out")
    assert "${REEF_STEP_OUT}" in b.params["run"]
    assert f"cp {record.step('a').out}/a.txt" in b.params["run"]


def test_a_placeholder_for_a_step_not_needed_is_refused(lab: Lab) -> None:
    lab.solution([lab.step("a"), lab.step("b", run="cat {steps.a}/x")])
    with pytest.raises(ManifestError) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    assert "'b'" in info.value.message
    assert "{steps.a}" in info.value.message
    assert "add 'a' to the step's needs" in info.value.message
    assert_nothing_written(lab)


def test_a_placeholder_for_a_step_needed_indirectly_is_allowed(lab: Lab) -> None:
    lab.solution(
        [
            lab.step("a", run="echo deep > a.txt"),
            lab.step("b", "a"),
            lab.step("c", "b", run="cp {steps.a}/a.txt ."),
        ]
    )
    record = solutions.run("sol")
    assert read_out(record, "c", "a.txt") == "deep"


def test_an_unknown_placeholder_is_refused(lab: Lab) -> None:
    lab.solution([lab.step("a", run="echo {nope}")])
    with pytest.raises(ManifestError) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    assert "{nope}" in info.value.message
    assert_nothing_written(lab)


# --- trust and programs -----------------------------------------------------------------------


def test_a_shell_step_from_an_untrusted_repository_is_refused(wild: Lab) -> None:
    wild.solution([wild.step("a")])
    with pytest.raises(UntrustedComponent) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    assert "'a'" in info.value.message
    assert "'wild'" in info.value.message
    assert info.value.hint is not None and "reef repo trust wild" in info.value.hint
    assert_nothing_written(wild)


PROGRAM = """\
echo prep >> "$CALLS"
echo "$@" > args.txt
pwd > cwd.txt
echo '{"score": 7}' > metrics.json
"""


def test_a_program_step_from_a_trusted_repository_runs(lab: Lab) -> None:
    write_program(lab.root / "prep", "prep", PROGRAM.replace("$CALLS", str(lab.calls)))
    lab.solution(
        [{"name": "p", "uses": "prep", "with": {"args": ["--size", 3, "{out}/x"]}}],
        requires=["prep >=1.0"],
    )
    record = solutions.run("sol")
    assert lab.ran() == ["prep"]
    p = record.step("p")
    assert p.status == "ok"
    assert p.metrics == {"score": 7.0}
    assert read_out(record, "p", "args.txt").startswith("--size 3 /")
    assert Path(read_out(record, "p", "cwd.txt")).name == "out"
    assert statuses(solutions.run("sol")) == {"p": "cached"}
    assert lab.ran() == ["prep"]


def test_a_program_from_an_untrusted_repository_is_refused(lab: Lab, wild: Lab) -> None:
    write_program(wild.root / "prep", "prep", PROGRAM.replace("$CALLS", str(lab.calls)))
    lab.solution([{"name": "p", "uses": "prep"}], requires=["prep"])
    with pytest.raises(UntrustedComponent) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    assert "'prep'" in info.value.message
    assert "reef repo trust wild" in (info.value.hint or "")
    assert_nothing_written(lab)


def test_uses_naming_a_dataset_is_refused(lab: Lab) -> None:
    # digits: the built-in dataset
    lab.solution([lab.step("a"), {"name": "d", "uses": "digits"}], requires=["digits"])
    with pytest.raises(PlanError) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    assert "'digits'" in info.value.message
    assert "dataset" in info.value.message
    assert "not a program" in info.value.message
    assert_nothing_written(lab)


# --- validate steps and checks ----------------------------------------------------------------


@pytest.mark.parametrize("needs", [[], ["a"]])
def test_a_validate_step_without_a_bench_step_before_it(lab: Lab, needs: list[str]) -> None:
    lab.solution([lab.step("a"), {"name": "v", "uses": "validate", "needs": needs}])
    with pytest.raises(ManifestError) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    assert "'v'" in info.value.message
    assert "bench" in info.value.message
    assert_nothing_written(lab)


def test_a_check_with_an_unknown_metric_is_refused_before_running(lab: Lab) -> None:
    lab.solution(
        [lab.step("a")],
        checks=[
            {"uses": "loadgen"},
            {"uses": "latency", "with": {"percentile": "p99.9", "max_ms": 5}},
        ],
    )
    with pytest.raises(ManifestError) as info:
        solutions.run("sol")
    assert info.value.exit_code == 2
    [problem] = info.value.problems
    assert problem.file == str(lab.root / "sol" / "reef.yaml")
    assert problem.location == "checks[1].with.percentile"
    assert "p99.9" in problem.message
    assert "p99" in problem.message  # the choices
    assert_nothing_written(lab)


def test_an_unknown_check_is_refused_before_running(lab: Lab) -> None:
    lab.solution([lab.step("a")], checks=[{"uses": "vibes"}])
    with pytest.raises(ManifestError) as info:
        solutions.run("sol")
    assert info.value.problems[0].location.startswith("checks[0]")
    assert "vibes" in info.value.message
    assert_nothing_written(lab)


def test_a_solution_that_is_not_one(lab: Lab) -> None:
    write_program(lab.root / "prep", "prep", "true\n")
    with pytest.raises(solutions.NotASolution) as info:
        solutions.run("prep")
    assert "not a solution" in info.value.message
    assert_nothing_written(lab)


def test_an_unknown_solution(lab: Lab) -> None:
    with pytest.raises(ReefError) as info:
        solutions.run("no-such-solution")
    assert info.value.exit_code == 2
    assert_nothing_written(lab)


# --- the tracker ------------------------------------------------------------------------------


def test_the_tracker_records_every_step(lab: Lab) -> None:
    lab.solution(
        [
            lab.step("a", run="""echo '{"m": 1.5}' > metrics.json; echo hello-log"""),
            lab.step("b", "a", run="echo {steps.a} > where.txt"),
        ]
    )
    record = solutions.run("sol")
    path = config.runs_dir() / record.id / RUN_FILE
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["kind"] == "solution-run"
    assert saved["solution"] == "sol" and saved["version"] == "1.0.0"
    assert saved["status"] == "ok"
    assert saved["path"] == str(lab.root / "sol" / "reef.yaml")
    assert saved["finished_at"]
    steps = {s["name"]: s for s in saved["steps"]}
    assert list(steps) == ["a", "b"]
    for s in steps.values():
        assert s["status"] == "ok"
        assert s["uses"] == "shell"
        assert s["duration_s"] is not None and s["duration_s"] >= 0
        assert s["key"]
        assert Path(s["log"]).is_file()
        assert Path(s["out"]).is_dir()
        assert s["params"]["run"]
    assert steps["a"]["metrics"] == {"m": 1.5}
    assert "hello-log" in Path(steps["a"]["log"]).read_text()
    assert steps["b"]["needs"] == ["a"]
    assert steps["b"]["params"]["run"].endswith(f"echo {steps['a']['out']} > where.txt")
    # a prefix of the id finds it again
    loaded = load_run(record.id[:10])
    assert loaded is not None and loaded.id == record.id
    assert statuses(loaded) == {"a": "ok", "b": "ok"}


def test_a_cached_run_is_tracked_too(lab: Lab) -> None:
    lab.solution([lab.step("a", run="""echo '{"m": 2}' > metrics.json""")])
    first = solutions.run("sol")
    second = solutions.run("sol")
    saved = json.loads((second.folder / RUN_FILE).read_text(encoding="utf-8"))
    [step] = saved["steps"]
    assert step["status"] == "cached"
    assert step["metrics"] == {"m": 2.0}
    assert step["log"] == first.step("a").log
    assert step["reason"].startswith("cached")
    assert sorted(run_dirs()) == sorted([first.id, second.id])


def test_a_cached_step_is_tracked_with_its_params(lab: Lab) -> None:
    lab.solution([lab.step("a", run="echo hi")])
    solutions.run("sol")
    record = solutions.run("sol")
    assert record.step("a").status == "cached"
    assert "echo hi" in record.step("a").params.get("run", "")


def test_recorded_params_name_the_real_output_folder(lab: Lab) -> None:
    lab.solution([lab.step("a", run="touch {out}/x")])
    record = solutions.run("sol")
    a = record.step("a")
    assert f"touch {a.out}/x" in a.params["run"]


def test_the_environment_of_a_step(lab: Lab) -> None:
    lab.solution(
        [
            lab.step("a-b"),
            lab.step(
                "b",
                "a-b",
                run="env | grep '^REEF_' | sort > env.txt",
            ),
        ]
    )
    record = solutions.run("sol")
    lines = read_out(record, "b", "env.txt").splitlines()
    env = dict(line.split("=", 1) for line in lines)
    step_out = Path(env["REEF_STEP_OUT"])
    assert step_out.name == "out"
    assert step_out.is_relative_to(config.cache_dir() / "steps")
    assert env["REEF_SOLUTION_DIR"] == str(lab.root / "sol")
    assert env["REEF_PYTHON"] == sys.executable
    assert env["REEF_STEP_A_B_OUT"] == record.step("a-b").out
    assert env["REEF_RUN_ID"] == record.id


def test_an_interrupted_step_stops_the_whole_run(lab: Lab) -> None:
    from reef.errors import Interrupted
    from reef.solutions import engine

    lab.solution([lab.step("a"), lab.step("b", "a"), lab.step("c")])
    solution = solutions.load("sol")

    def interrupted(ctx: engine.StepContext) -> engine.StepResult:
        if ctx.spec.name == "b":
            raise Interrupted("SIGINT", [])
        return engine.StepResult()

    with pytest.raises(Interrupted):
        engine.run(solution, {"shell": interrupted}, environment_key=lambda _s: "env")
    (folder,) = run_dirs()
    record = load_run(folder)
    assert record is not None and record.status == "interrupted"
    assert statuses(record) == {"a": "ok", "b": "failed", "c": "skipped"}
    assert record.step("b").reason == "interrupted"


def test_a_step_reads_what_it_needs_indirectly_and_re_runs_when_that_changes(lab: Lab) -> None:
    def steps(text: str) -> list[dict[str, Any]]:
        return [
            lab.step("x", run=f"echo {text} > x.txt"),
            lab.step("y", "x", run="echo same > y.txt"),
            lab.step("z", "y", run="cp {steps.x}/x.txt z.txt"),
        ]

    lab.solution(steps("one"))
    solutions.run("sol")
    lab.solution(steps("two"))
    record = solutions.run("sol")
    # y ran again and wrote the same bytes; z copies x's output, which changed.
    assert statuses(record) == {"x": "ok", "y": "ok", "z": "ok"}
    assert read_out(record, "z", "z.txt") == "two"


def test_placeholders_reach_the_shell_as_one_word(lab: Lab, tmp_path: Path) -> None:
    lab.solution([lab.step("a", run="printf '%s\\n' {solution} > where.txt")], name="sol")
    odd = lab.root / "a folder with $pace's"
    (lab.root / "sol").rename(odd)
    record = solutions.run("sol")
    assert read_out(record, "a", "where.txt") == str(odd)


def test_a_provision_step_always_runs(lab: Lab) -> None:
    from reef.solutions import engine

    lab.solution([lab.step("a"), {"name": "p", "uses": "provision"}])
    solution = solutions.load("sol")
    calls: list[str] = []

    def action(ctx: engine.StepContext) -> engine.StepResult:
        calls.append(ctx.spec.name)
        return engine.StepResult()

    actions = {"shell": action, "provision": action}
    for _ in range(2):
        engine.run(solution, actions, environment_key=lambda _s: "env")
    assert calls == ["a", "p", "p"]


def test_init_gives_an_environment_the_runtime_of_the_locks_models() -> None:
    from reef.components.lockfile import lock_for
    from reef.solutions.init import lock_frameworks

    assert lock_frameworks(lock_for("digits-classifier")) == ["onnxruntime"]
