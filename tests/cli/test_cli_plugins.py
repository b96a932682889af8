"""Plugins through the CLI: `reef plugins [--json]`, and a plugin that cannot be loaded is one
line naming it and its package wherever a command meets it, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import InProcessReef
from e2e_support import ManifestWriter

from plugin_support import FakeSite, plugin_site

__all__ = ["plugin_site"]  # a fixture

BROKEN = "import reef_no_such_dependency\n"
REASON = "ModuleNotFoundError: No module named 'reef_no_such_dependency'"
GOOD_STEP = """
    def thing(params, labels):
        return lambda x: x
"""


@pytest.fixture
def plugins(plugin_site: FakeSite) -> FakeSite:
    """One package whose plugins all fail to import, one good step, one shadowed metric."""
    plugin_site.add(
        "reef-broken",
        "2.0",
        entry_points={
            group: {"broken": "reef_test_broken:thing"}
            for group in ("reef.predictors", "reef.steps", "reef.metrics", "reef.detectors")
        }
        | {"reef.checks": {"broken": "reef_test_broken:thing"}}
        | {"reef.drift": {"broken": "reef_test_broken:thing"}},
        modules={"reef_test_broken": BROKEN},
    )
    plugin_site.add(
        "reef-extras",
        "0.4.1",
        entry_points={"reef.steps": {"identity": "reef_test_extras:thing"}}
        | {"reef.metrics": {"top1": "reef_test_extras:thing"}},
        modules={"reef_test_extras": GOOD_STEP},
    )
    return plugin_site


def _one_line_naming_the_plugin(stderr: str, kind: str, group: str) -> None:
    assert "Traceback" not in stderr
    (line,) = [ln for ln in stderr.splitlines() if "reef-broken" in ln and "hint" not in ln]
    assert f"{kind} plugin 'broken' ({group}) from reef-broken 2.0 could not be loaded" in line
    assert REASON in line


@pytest.mark.usefixtures("plugins")
def test_plugins_json_lists_sources_errors_and_shadowed(cli: InProcessReef) -> None:
    result = cli("plugins", "--json")
    assert result.rc == 0, str(result)
    groups = {g["group"]: g for g in result.json()["groups"]}
    assert list(groups) == [
        "reef.predictors",
        "reef.steps",
        "reef.metrics",
        "reef.detectors",
        "reef.checks",
        "reef.drift",
    ]
    assert {e["name"] for e in groups["reef.drift"]["entries"]} >= {"auto", "ks", "pca"}
    entries = {(g, e["name"], e["source"]): e for g in groups for e in groups[g]["entries"]}
    assert entries["reef.predictors", "onnxruntime", "built-in"]["status"] == "ok"
    identity = entries["reef.steps", "identity", "reef-extras 0.4.1"]
    assert identity["status"] == "ok"
    assert (identity["package"], identity["version"]) == ("reef-extras", "0.4.1")
    assert identity["target"] == "reef_test_extras:thing"
    shadowed = entries["reef.metrics", "top1", "reef-extras 0.4.1"]
    assert (shadowed["status"], shadowed["shadowed_by"]) == ("shadowed", "built-in")
    for group in groups:
        broken = entries[group, "broken", "reef-broken 2.0"]
        assert broken["status"] == "error"
        assert REASON in broken["error"] and "reef-broken" in broken["hint"]


@pytest.mark.usefixtures("plugins")
def test_plugins_table_and_its_errors(cli: InProcessReef) -> None:
    result = cli("plugins")
    assert result.rc == 0, str(result)
    assert "reef-extras 0.4.1" in result.stdout and "shadowed" in result.stdout
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 6
    assert all("from reef-broken 2.0 could not be loaded" in line for line in errors)
    assert "hint: repair or reinstall reef-broken, or uninstall it" in result.stderr


# `reef check` reports every problem of a manifest at its field path, a plugin's failure too.


@pytest.mark.usefixtures("plugins")
@pytest.mark.parametrize(
    ("edit", "kind", "group", "where"),
    [
        (
            lambda m: m["framework"].update(name="broken"),
            "predictor",
            "reef.predictors",
            "framework",
        ),
        (lambda m: m["inputs"][0].update(steps=["broken"]), "step", "reef.steps", "inputs[0]"),
        (
            lambda m: m.update(accuracy={"metric": "broken", "reference": 0.9}),
            "metric",
            "reef.metrics",
            "accuracy",
        ),
    ],
)
def test_check_names_a_broken_plugin_and_its_package(
    cli: InProcessReef,
    write_manifest: ManifestWriter,
    edit: Any,
    kind: str,
    group: str,
    where: str,
) -> None:
    manifest = write_manifest(edit)
    result = cli("check", str(manifest))
    assert result.rc == 2, str(result)
    _one_line_naming_the_plugin(result.stderr, kind, group)
    assert where in result.stderr


@pytest.mark.usefixtures("plugins")
def test_check_of_a_solution_names_a_broken_check_plugin(
    cli: InProcessReef, tmp_path: Path
) -> None:
    solution = tmp_path / "solution" / "reef.yaml"
    solution.parent.mkdir()
    solution.write_text(
        "kind: solution\nname: tiny-solution\nversion: 1.0.0\n"
        "steps:\n  - {name: detect, uses: detect}\nchecks:\n  - uses: broken\n",
        encoding="utf-8",
    )
    result = cli("check", str(solution))
    assert result.rc == 2, str(result)
    _one_line_naming_the_plugin(result.stderr, "check", "reef.checks")
    assert "checks[0].uses" in result.stderr


@pytest.mark.usefixtures("plugins")
def test_detect_reports_a_broken_detector_and_gives_the_other_facts(cli: InProcessReef) -> None:
    from reef.environment.fingerprint import collect

    collect.cache_clear()  # this process's fingerprint, detected before the plugin was there
    try:
        result = cli("detect", "--json", "--no-components")
    finally:
        collect.cache_clear()
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr
    fingerprint = result.json()
    (problem,) = [p for p in fingerprint["problems"] if p["detector"] == "broken"]
    assert "detector plugin 'broken' (reef.detectors) from reef-broken 2.0" in problem["message"]
    assert REASON in problem["message"]
    assert fingerprint["hardware"]["cpu"]
