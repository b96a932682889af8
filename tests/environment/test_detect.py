"""The detector runner: plugins through the entry-point group, detector components from
repositories (trusted ones run, untrusted ones are skipped and reported), and every way a
detector can fail reported with its name while the others still run."""

from __future__ import annotations

import importlib.metadata
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import reef.plugins
from plugin_support import FakeSite, plugin_site
from reef import api
from reef.components import repository
from reef.components.index import query
from reef.components.trust import ensure_trusted
from reef.environment import detect
from reef.environment.detect import (
    BUILTINS,
    CommandDetector,
    FunctionDetector,
    component_detectors,
    detect_all,
)
from reef.environment.fingerprint import collect

PY = sys.executable
__all__ = ["plugin_site"]  # a fixture


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    collect.cache_clear()
    yield
    collect.cache_clear()


def _fn(
    name: str, group: str = "software", result: Any = None, error: Exception | None = None
) -> FunctionDetector:
    def run() -> Any:
        if error is not None:
            raise error
        return result if result is not None else {"version": "1.0"}

    return FunctionDetector(name, group, run)


def test_builtins_run_and_fill_every_group() -> None:
    detection = detect_all()
    assert detection.problems == []
    assert set(detection.facts["hardware"]) == {"cpu", "memory", "gpu"}
    assert set(detection.facts["os"]) == {"system"}
    assert {"python", "packages", "compilers", "frameworks", "blas"} <= set(
        detection.facts["software"]
    )
    assert set(detection.durations_s) == set(BUILTINS)


def test_the_builtins_are_registered_entry_points() -> None:
    from importlib.metadata import entry_points

    declared = {ep.name: ep.value for ep in entry_points(group=detect.ENTRY_POINT_GROUP)}
    if not declared:
        pytest.skip("the installed metadata predates the entry-point group")
    assert declared == BUILTINS


def test_without_entry_point_metadata_the_builtins_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda: importlib.metadata.EntryPoints()
    )
    reef.plugins.refresh()
    try:
        assert detect.registered() == BUILTINS
    finally:
        monkeypatch.undo()
        reef.plugins.refresh()


def test_a_plugin_adds_facts_and_a_crashing_one_is_reported(plugin_site: FakeSite) -> None:
    plugin_site.add(
        "reef-test-detectors",
        entry_points={
            "reef.detectors": {
                "widget": "reef_test_plugin:widget",
                "crash": "reef_test_plugin:crash",
                "missing": "reef_no_such_module:detector",
            }
        },
        modules={
            "reef_test_plugin": """
                from reef.environment.detect import detector

                @detector("widget", group="software")
                def widget():
                    return {"version": "2.1.0", "volatile": {"path": "/opt/widget"}}

                def crash():
                    raise RuntimeError("the plugin broke")
                crash.group = "hardware"
            """
        },
    )
    detection = detect_all()
    assert detection.facts["software"]["widget"] == {"version": "2.1.0"}
    assert detection.volatile["software"]["widget"] == {"path": "/opt/widget"}
    problems = {p.detector: p for p in detection.problems}
    assert set(problems) == {"crash", "missing"}
    assert problems["crash"].message == "raised RuntimeError: the plugin broke"
    assert problems["missing"].message == (
        "detector plugin 'missing' (reef.detectors) from reef-test-detectors 1.0 could not be "
        "loaded: ModuleNotFoundError: No module named 'reef_no_such_module'"
    )
    # The built-in detectors ran all the same.
    assert {"cpu", "memory", "gpu"} <= set(detection.facts["hardware"])


def test_problems_and_facts_that_are_not_json() -> None:
    detection = detect_all(
        registry=False,
        extra=[
            _fn("fine"),
            _fn("boom", error=ValueError("bad value")),
            _fn("odd", result={"value": {1, 2}}),
            _fn("list", result=["not", "an", "object"]),
            _fn("nan", result={"x": float("nan")}),
            _fn("elsewhere", group="firmware"),
            _fn("partial", result={"version": "1", "problems": ["half of it failed"]}),
        ],
    )
    assert detection.facts["software"] == {"fine": {"version": "1.0"}, "partial": {"version": "1"}}
    messages = {p.detector: p.message for p in detection.problems}
    assert messages["boom"] == "raised ValueError: bad value"
    assert "not JSON" in messages["odd"]
    assert messages["list"] == "returned list, not a JSON object"
    assert "not JSON" in messages["nan"]
    assert "unknown group 'firmware'" in messages["elsewhere"]
    assert messages["partial"] == "half of it failed"


def test_a_detector_that_hangs_times_out_and_the_others_finish() -> None:
    def hang() -> dict[str, Any]:
        time.sleep(30)
        return {}

    started = time.monotonic()
    detection = detect_all(
        registry=False,
        extra=[FunctionDetector("slow", "software", hang), _fn("quick")],
        timeout_s=0.3,
    )
    assert time.monotonic() - started < 5
    assert detection.facts["software"] == {"quick": {"version": "1.0"}}
    (problem,) = detection.problems
    assert (problem.detector, problem.message) == ("slow", "timed out after 0.3 s")


def test_a_second_detector_of_the_same_fact_is_skipped() -> None:
    detection = detect_all(
        registry=False,
        extra=[_fn("gcc"), CommandDetector("my-gcc", "gcc", (PY, "-c", "print('{}')"))],
    )
    assert detection.facts["software"] == {"gcc": {"version": "1.0"}}
    (problem,) = detection.problems
    assert problem.detector == "my-gcc" and problem.kind == "skipped"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("print('not json')", "printed invalid JSON: not json"),
        ("print('[1, 2]')", "printed JSON that is not an object"),
        (
            "import sys; sys.stderr.write('no compiler here'); sys.exit(3)",
            "exited with status 3: no compiler here",
        ),
        ("import time; time.sleep(30)", "timed out after 0.5 s"),
    ],
)
def test_command_detector_failures(code: str, message: str) -> None:
    bad = CommandDetector("bad", "thing", (PY, "-c", code), timeout_s=0.5)
    detection = detect_all(registry=False, extra=[bad, _fn("other")])
    assert detection.facts["software"] == {"other": {"version": "1.0"}}
    (problem,) = detection.problems
    assert problem.detector == "bad" and problem.kind == "failed"
    assert message in problem.message


def test_a_command_that_does_not_exist() -> None:
    missing = CommandDetector("gone", "thing", ("reef-no-such-command-xyz",))
    (problem,) = detect_all(registry=False, extra=[missing]).problems
    assert "cannot run 'reef-no-such-command-xyz'" in problem.message


def test_command_detectors_run_concurrently() -> None:
    sleepy = [
        CommandDetector(f"s{i}", f"s{i}", (PY, "-c", "import time; time.sleep(0.5); print('{}')"))
        for i in range(4)
    ]
    started = time.monotonic()
    detection = detect_all(registry=False, extra=sleepy)
    assert detection.problems == []
    assert time.monotonic() - started < 1.8  # 4 x 0.5 s one after the other would be 2 s+


# -- detector components ------------------------------------------------------------------------


def _detector_component(folder: Path, name: str, software: str, command: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "kind": "detector",
        "name": name,
        "version": "0.1.0",
        "description": "test detector",
        "software": software,
        "command": command,
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_detector_components_from_a_trusted_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    script = "import json, os; print(json.dumps({'version': '3.2.1', 'here': os.getcwd()}))"
    good = _detector_component(repo / "good", "widget-detector", "widget", [PY, "-c", script])
    _detector_component(repo / "bad", "broken-detector", "broken", [PY, "-c", "print('not json')"])
    (good / "probe.py").write_text("import json; print(json.dumps({'version': '0.0.1'}))")
    _detector_component(repo / "dir", "dir-detector", "dirtool", [PY, "{dir}/../good/probe.py"])
    repository.add(str(repo), trusted=True)

    fingerprint = api.detect().model_dump(mode="json")
    software = fingerprint["software"]
    assert software["widget"] == {"version": "3.2.1", "here": str(good.resolve())}
    assert software["dirtool"] == {"version": "0.0.1"}
    assert "broken" not in software
    problems = {p["detector"]: p for p in fingerprint["problems"]}
    assert set(problems) == {"broken-detector"}
    assert problems["broken-detector"]["message"] == "printed invalid JSON: not json"
    assert problems["broken-detector"]["kind"] == "failed"
    # The built-in detectors ran too.
    assert "cpu" in fingerprint["hardware"]


def test_an_untrusted_detector_component_is_skipped_not_run(tmp_path: Path) -> None:
    repo = tmp_path / "untrusted"
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x'); print('{{}}')"
    _detector_component(repo / "sneaky", "sneaky-detector", "sneaky", [PY, "-c", code])
    repository.add(str(repo), trusted=False)

    detectors = component_detectors(query(kind="detector"), ensure_trusted)
    detection = detect_all(registry=False, extra=detectors)
    assert not marker.exists()
    assert "sneaky" not in detection.facts["software"]
    (problem,) = detection.problems
    assert problem.detector == "sneaky-detector" and problem.kind == "skipped"
    assert "'untrusted' is not trusted" in problem.message
    assert problem.hint == "if you trust its authors: reef repo trust untrusted"


def test_detector_components_can_be_left_out(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _detector_component(repo / "w", "widget-detector", "widget", [PY, "-c", "print('{}')"])
    repository.add(str(repo), trusted=True)
    assert "widget" not in api.detect(components=False).software
    assert "widget" in api.detect().software


def test_a_timed_out_command_leaves_no_process_behind(tmp_path: Path) -> None:
    from reef.environment.detect import CommandDetector, DetectorFailed

    pid_file = tmp_path / "pid"
    script = (
        "import subprocess, time; "
        f"p = subprocess.Popen(['sleep', '30']); open({str(pid_file)!r}, 'w').write(str(p.pid)); "
        "time.sleep(30)"
    )
    slow = CommandDetector("slow", "slow", (sys.executable, "-c", script), timeout_s=1.0)
    with pytest.raises(DetectorFailed, match="timed out"):
        slow.detect()
    proc = Path(f"/proc/{pid_file.read_text()}")

    def running() -> bool:
        try:
            return "zombie" not in (proc / "status").read_text()
        except OSError:
            return False

    deadline = time.monotonic() + 5
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(), "the detector's grandchild is still running"
