"""The environment fingerprint recorded with every run."""

from __future__ import annotations

import copy
import json
import platform
import re

import onnxruntime
import pytest

from reef.environment import fingerprint
from reef.environment.fingerprint import collect, fingerprint_hash


def test_required_keys_are_present() -> None:
    facts = collect()
    assert set(facts) >= {"hardware", "os", "software", "hash"}
    hardware = facts["hardware"]
    for key in ("cpu_model", "architecture", "logical_cores", "usable_cores", "memory_bytes"):
        assert key in hardware
    assert hardware["logical_cores"] >= 1
    assert 1 <= hardware["usable_cores"] <= hardware["logical_cores"]
    assert hardware["memory_bytes"] > 0
    assert hardware["architecture"] == platform.machine()
    assert {"system", "release", "hostname"} <= set(facts["os"])
    python = facts["software"]["python"]
    assert python["version"] == platform.python_version()
    packages = facts["software"]["packages"]
    assert packages["onnxruntime"] == onnxruntime.__version__
    assert packages["numpy"]
    assert packages["mlcommons-loadgen"]
    assert re.fullmatch(r"[0-9a-f]{64}", facts["hash"])


def test_fingerprint_is_json() -> None:
    facts = collect()
    assert json.loads(json.dumps(facts)) == facts


def test_hash_is_stable_across_calls() -> None:
    facts = collect()
    assert facts["hash"] == fingerprint_hash(facts)
    assert fingerprint_hash(copy.deepcopy(facts)) == facts["hash"]
    collect.cache_clear()
    try:
        assert collect()["hash"] == facts["hash"]
    finally:
        collect.cache_clear()


def test_hash_ignores_key_order() -> None:
    facts = collect()
    reordered = {k: facts[k] for k in reversed(list(facts))}
    reordered["hardware"] = dict(reversed(list(facts["hardware"].items())))
    assert fingerprint_hash(reordered) == facts["hash"]


def test_hash_is_independent_of_hostname_and_interpreter_path() -> None:
    facts = copy.deepcopy(collect())
    facts["os"]["hostname"] = "some-other-machine"
    facts["software"]["python"]["executable"] = "/opt/elsewhere/bin/python"
    assert fingerprint_hash(facts) == collect()["hash"]


def test_hash_does_not_change_the_facts() -> None:
    facts = copy.deepcopy(collect())
    before = copy.deepcopy(facts)
    fingerprint_hash(facts)
    assert facts == before


def test_hash_changes_with_what_describes_the_machine() -> None:
    base = collect()
    for section, key, value in [
        ("hardware", "cpu_model", "A different CPU"),
        ("os", "release", "0.0.0-other"),
    ]:
        facts = copy.deepcopy(base)
        facts[section][key] = value
        assert fingerprint_hash(facts) != base["hash"]
    facts = copy.deepcopy(base)
    facts["software"]["packages"]["onnxruntime"] = "0.0.1"
    assert fingerprint_hash(facts) != base["hash"]


def test_collected_hash_is_the_same_on_a_machine_with_another_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = collect()["hash"]
    real = platform.uname()
    renamed = platform.uname_result(
        real.system, "renamed-host", real.release, real.version, real.machine
    )
    collect.cache_clear()
    monkeypatch.setattr(fingerprint.platform, "uname", lambda: renamed)
    try:
        facts = collect()
        assert facts["os"]["hostname"] == "renamed-host"
        assert facts["hash"] == here
    finally:
        collect.cache_clear()
