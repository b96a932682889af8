"""The environment fingerprint: its shape, a hash that is stable across processes and blind to
volatile facts, requirement checks against it, and ``reef detect`` printing it."""

from __future__ import annotations

import copy
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnxruntime
import pytest

from reef.environment.detect import Detection, FunctionDetector, Problem
from reef.environment.fingerprint import (
    RequirementsNotMet,
    build,
    check_requirements,
    collect,
    ensure_requirements,
    find_software,
    fingerprint_hash,
)
from reef.errors import EXIT_USAGE, ReefError


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    collect.cache_clear()
    yield
    collect.cache_clear()


def test_shape() -> None:
    fp = collect()
    assert list(fp) == ["hardware", "os", "software", "hash", "volatile", "problems"]
    cpu = fp["hardware"]["cpu"]
    assert cpu["architecture"] == platform.machine()
    assert 1 <= cpu["usable_cores"] <= cpu["logical_cores"]
    assert fp["hardware"]["memory"]["total_bytes"] > 0
    assert fp["hardware"]["gpu"]["status"] == "none"  # no GPU on the test machines
    assert fp["os"]["system"]["name"] == platform.system()
    software = fp["software"]
    assert software["python"]["version"] == platform.python_version()
    assert software["frameworks"]["onnxruntime"]["version"] == onnxruntime.__version__
    assert software["packages"]["numpy"]
    assert re.fullmatch(r"[0-9a-f]{64}", fp["hash"])
    assert fp["volatile"]["os"]["system"]["hostname"] == platform.node()
    assert fp["volatile"]["software"]["python"]["executable"] == sys.executable
    assert fp["problems"] == []


def test_is_json_with_sorted_keys() -> None:
    fp = collect()
    assert json.loads(json.dumps(fp)) == fp
    for group in ("hardware", "os", "software"):
        assert list(fp[group]) == sorted(fp[group])
        for facts in fp[group].values():
            assert list(facts) == sorted(facts)


def test_cached_per_process() -> None:
    assert collect() is collect()


def test_hash_covers_exactly_the_stable_groups() -> None:
    fp = collect()
    stable = {k: fp[k] for k in ("hardware", "os", "software")}
    canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"))
    import hashlib

    assert fp["hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert fingerprint_hash(fp) == fp["hash"]


def test_hash_ignores_key_order_and_does_not_change_the_facts() -> None:
    fp = copy.deepcopy(collect())
    reordered = {k: fp[k] for k in reversed(list(fp))}
    reordered["hardware"] = dict(reversed(list(fp["hardware"].items())))
    before = copy.deepcopy(reordered)
    assert fingerprint_hash(reordered) == fp["hash"]
    assert reordered == before


def test_volatile_facts_and_problems_do_not_change_the_hash() -> None:
    fp = copy.deepcopy(collect())
    volatile = fp["volatile"]
    volatile["hardware"]["memory"]["available_bytes"] = 1
    volatile["hardware"]["cpu"]["frequency_mhz"] = 1.0
    volatile["hardware"]["cpu"]["load_average"] = [99.0, 99.0, 99.0]
    volatile["os"]["system"]["hostname"] = "some-other-machine"
    volatile["software"]["python"]["executable"] = "/opt/elsewhere/bin/python"
    fp["problems"] = [{"detector": "x", "kind": "failed", "message": "m", "hint": None}]
    assert fingerprint_hash(fp) == collect()["hash"]


def test_hash_changes_with_what_describes_the_machine() -> None:
    base = collect()
    for group, detector, key, value in [
        ("hardware", "cpu", "model", "A different CPU"),
        ("hardware", "cpu", "isa", ["avx512f"]),
        ("os", "system", "kernel", "0.0.0-other"),
        ("software", "python", "version", "3.99.0"),
    ]:
        fp = copy.deepcopy(base)
        fp[group][detector][key] = value
        assert fingerprint_hash(fp) != base["hash"], (group, detector, key)


def test_same_hash_in_another_process() -> None:
    code = (
        "import json\n"
        "from reef.environment.fingerprint import collect\n"
        "fp = collect()\n"
        "print(json.dumps({'hash': fp['hash'], 'problems': fp['problems']}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    there = json.loads(out.strip().splitlines()[-1])
    assert there["problems"] == []
    assert there["hash"] == collect()["hash"]


def test_legacy_fingerprints_hash_as_they_did() -> None:
    """A record made before detectors existed kept its hostname and interpreter path in the
    hashed groups; the hash it was stored with is still the one computed."""
    legacy: dict[str, Any] = {
        "hardware": {"cpu_model": "EPYC", "logical_cores": 2},
        "os": {"system": "Linux", "release": "6.1", "hostname": "box"},
        "software": {"python": {"version": "3.11.7", "executable": "/usr/bin/python3"}},
    }
    stripped = copy.deepcopy(legacy)
    del stripped["os"]["hostname"]
    del stripped["software"]["python"]["executable"]
    import hashlib

    canonical = json.dumps(stripped, sort_keys=True, separators=(",", ":"))
    assert fingerprint_hash(legacy) == hashlib.sha256(canonical.encode()).hexdigest()


def test_extra_detectors_and_problems_in_the_fingerprint() -> None:
    def widget() -> dict[str, Any]:
        return {"version": "1.2.3", "volatile": {"path": "/opt/widget/bin/widget"}}

    def broken() -> dict[str, Any]:
        raise RuntimeError("nope")

    fp = collect(
        (FunctionDetector("widget", "software", widget), FunctionDetector("x", "os", broken))
    )
    assert fp["software"]["widget"] == {"version": "1.2.3"}
    assert fp["volatile"]["software"]["widget"] == {"path": "/opt/widget/bin/widget"}
    assert fp["problems"] == [
        {"detector": "x", "kind": "failed", "message": "raised RuntimeError: nope", "hint": None}
    ]
    assert fp["hash"] != collect()["hash"]


# -- requirements -------------------------------------------------------------------------------


def _facts() -> dict[str, Any]:
    detection = Detection()
    detection.facts["software"] = {
        "compilers": {"gcc": {"version": "9.4.0"}, "nvcc": {"version": "12.2.140"}},
        "frameworks": {"onnxruntime": {"version": "1.18.1", "providers": ["CPUExecutionProvider"]}},
        "packages": {"numpy": "2.0.2"},
        "python": {"version": "3.11.7"},
        "widget": {"version": "3.0.0-rc1+build.5"},
        "mystery": {"version": None},
    }
    detection.volatile["software"] = {
        "compilers": {"gcc": {"path": "/usr/bin/gcc"}},
        "frameworks": {"onnxruntime": {"location": "/venv/lib/python3.11/site-packages"}},
    }
    return build(detection)


def test_requirements_met() -> None:
    facts = _facts()
    assert (
        check_requirements(
            {
                "gcc": ">=9",
                "onnxruntime": ">=1.17,<2",
                "numpy": "",
                "python": "3.11.7",
                "nvcc": ">=12",
                "Mystery": "*",
            },
            facts,
        )
        == []
    )
    ensure_requirements({"gcc": ">=9.4"}, facts)


def test_requirements_unmet_say_what_was_found_and_where() -> None:
    facts = _facts()
    unmet = check_requirements(
        {
            "gcc": ">=10",
            "onnxruntime": ">=1.19",
            "numpy": "<2",
            "clang": ">=14",
            "tensorflow": "",
            "widget": ">=3.1",
            "mystery": ">=1",
            "python": "3.12",
            "nvcc": ">=x",
        },
        facts,
    )
    assert unmet == [
        "gcc >=10 required, found 9.4.0 at /usr/bin/gcc",
        "onnxruntime >=1.19 required, found 1.18.1 at /venv/lib/python3.11/site-packages",
        "numpy <2 required, found 2.0.2 (software.packages.numpy)",
        "clang >=14 required, not found",
        "tensorflow required, not found",
        "widget >=3.1 required, found 3.0.0-rc1+build.5 (software.widget)",
        "mystery >=1 required, found it (software.mystery) but not its version",
        "python 3.12 required, found 3.11.7 (software.python)",
        "nvcc: '>=x' is not a version constraint (e.g. '>=1.17,<2')",
    ]


def test_find_software_prefers_a_detector_of_its_own() -> None:
    detection = Detection()
    detection.facts["software"] = {
        "compilers": {"gcc": {"version": "9.4.0"}},
        "gcc": {"version": "13.1.0", "path": "/opt/gcc-13/bin/gcc"},
    }
    found = find_software("GCC", detection)
    assert found is not None
    assert (found.version, found.path, found.fact) == (
        "13.1.0",
        "/opt/gcc-13/bin/gcc",
        "software.gcc",
    )


def test_ensure_requirements_is_a_usage_error() -> None:
    with pytest.raises(RequirementsNotMet) as info:
        ensure_requirements({"gcc": ">=10", "clang": ""}, _facts(), component="fast-kernels@1.0.0")
    exc = info.value
    assert isinstance(exc, ReefError) and exc.exit_code == EXIT_USAGE
    assert exc.message == (
        "fast-kernels@1.0.0: unmet software requirements: "
        "gcc >=10 required, found 9.4.0 at /usr/bin/gcc; clang required, not found"
    )
    assert exc.to_json()["unmet"] == exc.unmet
    assert "reef detect" in (exc.hint or "")


def test_requirements_against_this_machine() -> None:
    fp = collect()
    assert check_requirements({"onnxruntime": ">=1.17", "python": ">=3.11"}, fp) == []
    assert check_requirements({"reef-no-such-software": ">=1"}, fp) == [
        "reef-no-such-software >=1 required, not found"
    ]


# -- reef detect --------------------------------------------------------------------------------


def _reef(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REEF_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "reef", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_reef_detect_json_is_the_fingerprint(reef_home: Path, tmp_path: Path) -> None:
    result = _reef(reef_home, "detect", "--json")
    assert result.returncode == 0, result.stderr
    fp = json.loads(result.stdout)
    assert list(fp) == ["hardware", "os", "software", "hash", "volatile", "problems"]
    assert fp["hash"] == fingerprint_hash(fp) == collect()["hash"]
    # A fingerprint file is what `reef env diff` reads.
    path = tmp_path / "a.json"
    path.write_text(result.stdout)
    diff = _reef(reef_home, "env", "diff", str(path), str(path), "--json")
    assert diff.returncode == 0, diff.stderr
    assert json.loads(diff.stdout)["identical"] is True


def test_reef_detect_tables_and_problems_on_stderr(reef_home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "bad").mkdir(parents=True)
    (repo / "bad" / "reef.yaml").write_text(
        "kind: detector\nname: bad-detector\nversion: 0.1.0\nsoftware: bad\n"
        f"command: [{sys.executable}, -c, \"print('not json')\"]\n"
    )
    added = _reef(reef_home, "repo", "add", str(repo), "--trusted")
    assert added.returncode == 0, added.stderr
    result = _reef(reef_home, "detect")
    assert result.returncode == 2, result.stderr  # a detector failed: the answer is incomplete
    for heading in ("Hardware", "OS", "Software", "cpu", "frameworks", "fingerprint"):
        assert heading in result.stdout
    assert "bad-detector" in result.stderr and "invalid JSON" in result.stderr
    assert "bad-detector" not in result.stdout
    untrusted = _reef(reef_home, "repo", "untrust", "repo")
    assert untrusted.returncode == 0, untrusted.stderr
    skipped = _reef(reef_home, "detect", "--json")
    assert skipped.returncode == 0, skipped.stderr  # skipped for want of trust is no failure
    assert [p["kind"] for p in json.loads(skipped.stdout)["problems"]] == ["skipped"]


def test_a_problem_is_kept_outside_the_hash() -> None:
    detection = Detection(problems=[Problem("x", "went wrong")])
    fp = build(detection)
    assert fp["problems"] == [
        {"detector": "x", "kind": "failed", "message": "went wrong", "hint": None}
    ]
    assert fp["hash"] == build(Detection())["hash"]
