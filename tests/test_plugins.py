"""The plugin registry (``reef.plugins``) under the five groups that use it: loading is lazy, a
built-in wins a name clash and the plugin it hides is reported, a plugin that cannot be loaded
is its subsystem's one-line error naming the plugin and its package, and ``reef.api`` lists
them all. Plugins are real distributions (a ``dist-info`` on ``sys.path``); see
``plugin_support``."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import reef.plugins
from plugin_support import FakeSite, plugin_site
from reef.api import plugins as list_plugins
from reef.bench import metrics
from reef.bench.metrics import METRICS, MetricError, MetricPluginError, get_metric, known_metrics
from reef.drift import DriftError
from reef.drift import checkers as drift_checkers
from reef.drift.checkers import DRIFT_CHECKERS, DriftPluginError, new_checker
from reef.environment import detect
from reef.environment.detect import DETECTORS, DetectorPluginError, detect_all
from reef.errors import EXIT_ENVIRONMENT, PluginError, PredictorError, PredictorPluginError
from reef.meta.steps import BUILTIN_STEPS, PluginStep
from reef.plugins import PluginGroup, PluginShadowed
from reef.predictors import registry as predictors
from reef.predictors.onnxruntime import OnnxRuntimePredictor
from reef.predictors.registry import PREDICTORS
from reef.predictors.steps.registry import STEPS, StepError, StepPluginError, build_step
from reef.solutions import checks
from reef.solutions.checks import CHECKS, CheckError, CheckPluginError, build_check

__all__ = ["plugin_site"]  # a fixture

GROUPS: dict[str, PluginGroup[Any]] = {
    "reef.predictors": PREDICTORS,
    "reef.steps": STEPS,
    "reef.metrics": METRICS,
    "reef.detectors": DETECTORS,
    "reef.checks": CHECKS,
    "reef.drift": DRIFT_CHECKERS,
}


def _install(
    site: FakeSite, name: str, version: str, module: str, source: str, **points: str
) -> None:
    """``name`` declaring ``points`` (``metrics="exact"``: the ``reef.metrics`` entry ``exact``),
    each pointing at ``module:thing``."""
    site.add(
        name,
        version,
        entry_points={
            f"reef.{group}": {entry: f"{module}:thing"} for group, entry in points.items()
        },
        modules={module: source},
    )


# --- lazy -----------------------------------------------------------------------------------


GOOD_METRIC = """
    from reef.bench.metrics import Metric

    thing = Metric("exact", True, lambda predictions, labels: 1.0, "always right")
"""


def test_entry_points_are_read_once_when_first_asked_and_modules_imported_on_use(
    plugin_site: FakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(plugin_site, "reef-exact", "0.3", "reef_test_exact", GOOD_METRIC, metrics="exact")
    real = importlib.metadata.entry_points
    reads: list[int] = []

    def counted() -> Any:
        reads.append(1)
        return real()

    monkeypatch.setattr(importlib.metadata, "entry_points", counted)
    reef.plugins.refresh()

    assert reads == []  # nothing listed until a group is asked
    assert "exact" in known_metrics()
    assert "reef_test_exact" not in sys.modules  # listed, not imported
    known = (STEPS.names(), PREDICTORS.names(), CHECKS.names(), DETECTORS.names())
    assert all(known)
    assert len(reads) == 1  # one pass over the installed distributions serves every group

    metric = get_metric("exact")
    assert "reef_test_exact" in sys.modules
    assert metric.name == "exact" and get_metric("exact") is metric
    (entry,) = [e for e in METRICS.entries() if e.name == "exact"]
    assert (entry.source, entry.package, entry.version) == ("reef-exact 0.3", "reef-exact", "0.3")
    assert entry.target == "reef_test_exact:thing"


def test_reef_help_reads_no_package_metadata() -> None:
    code = (
        "import sys\n"
        "from reef.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "plugins = sys.modules.get('reef.plugins')\n"
        "print('scanned' if plugins is not None and plugins._scanned is not None else 'lazy')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "lazy"


def test_builtins_own_metadata_is_not_a_clash() -> None:
    # Reef declares its predictor and detectors under their groups too (pyproject.toml).
    assert PREDICTORS.shadowed() == [] and DETECTORS.shadowed() == []
    assert all(e.source == "built-in" for e in PREDICTORS.entries() + DETECTORS.entries())


# --- a built-in wins a clash ----------------------------------------------------------------

NEVER_IMPORTED = "raise AssertionError('a shadowed plugin was imported')\n"


def _builtin(group: str) -> tuple[str, Callable[[], Any], Any]:
    """A built-in name of ``group``, how its subsystem uses it, and what that gives."""
    from reef.environment.detectors.cpu import cpu
    from reef.predictors.steps.image import resize

    return {
        "reef.predictors": ("onnxruntime", lambda: type(predictors.create("onnxruntime")), None),
        "reef.steps": ("resize", lambda: STEPS.load("resize"), resize),
        "reef.metrics": ("top1", lambda: get_metric("top1"), metrics.top1),
        "reef.detectors": ("cpu", lambda: DETECTORS.load("cpu"), cpu),
        "reef.checks": ("latency", lambda: CHECKS.load("latency"), checks.latency),
        "reef.drift": ("ks", lambda: DRIFT_CHECKERS.load("ks"), drift_checkers.ks),
    }[group]


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_plugin_with_a_builtins_name_is_shadowed_and_reported(
    plugin_site: FakeSite, group: str
) -> None:
    name, use, expected = _builtin(group)
    plugin_site.add(
        "reef-clash",
        "1.2",
        entry_points={group: {name: "reef_test_clash:thing"}},
        modules={"reef_test_clash": NEVER_IMPORTED},
    )
    with pytest.warns(PluginShadowed) as caught:
        used = use()
    assert used is (expected if expected is not None else OnnxRuntimePredictor)
    (warning,) = caught
    assert str(warning.message) == (
        f"{group} plugin {name!r} from reef-clash 1.2 is not used: "
        f"Reef's built-in {GROUPS[group].kind} has that name"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        use()  # warned once, not at every use
    (hidden,) = GROUPS[group].shadowed()
    assert (hidden.name, hidden.source, hidden.shadowed_by) == (name, "reef-clash 1.2", "built-in")
    assert GROUPS[group].get(name).source == "built-in"  # type: ignore[union-attr]
    assert "reef_test_clash" not in sys.modules


def test_between_two_plugins_of_one_name_the_first_on_the_path_wins(
    plugin_site: FakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = FakeSite(tmp_path / "later-site-packages")
    later.root.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(later.root)])
    _install(later, "reef-second", "2.0", "reef_test_second", NEVER_IMPORTED, metrics="exact")
    _install(plugin_site, "reef-first", "1.0", "reef_test_first", GOOD_METRIC, metrics="exact")
    with pytest.warns(PluginShadowed, match="'exact' from reef-second 2.0 is not used: the one"):
        assert get_metric("exact").description == "always right"
    (hidden,) = METRICS.shadowed()
    assert (hidden.source, hidden.shadowed_by) == ("reef-second 2.0", "reef-first 1.0")


# --- a plugin that cannot be loaded ---------------------------------------------------------

BROKEN = "import reef_no_such_dependency\n"
REASON = "ModuleNotFoundError: No module named 'reef_no_such_dependency'"


def _use(group: str) -> Callable[[], Any]:
    """How each subsystem uses its plugin named ``broken``."""
    return {
        "reef.predictors": lambda: predictors.create("broken"),
        "reef.steps": lambda: build_step(PluginStep({"broken": {}})),
        "reef.metrics": lambda: get_metric("broken"),
        "reef.detectors": lambda: DETECTORS.load("broken"),
        "reef.checks": lambda: build_check("broken", {}),
        "reef.drift": lambda: new_checker("broken"),
    }[group]


SUBSYSTEM_ERRORS: dict[str, tuple[type[PluginError], type[Exception]]] = {
    "reef.predictors": (PredictorPluginError, PredictorError),
    "reef.steps": (StepPluginError, StepError),
    "reef.metrics": (MetricPluginError, MetricError),
    "reef.detectors": (DetectorPluginError, PluginError),
    "reef.checks": (CheckPluginError, CheckError),
    "reef.drift": (DriftPluginError, DriftError),
}


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_plugin_that_fails_to_import_is_its_subsystems_one_line_error(
    plugin_site: FakeSite, group: str
) -> None:
    plugin_site.add(
        "reef-broken",
        "2.0",
        entry_points={group: {"broken": "reef_test_broken:thing"}},
        modules={"reef_test_broken": BROKEN},
    )
    assert "broken" in GROUPS[group].names()  # listed: nothing is imported to list it
    with pytest.raises(PluginError) as info:
        _use(group)()
    error = info.value
    own, base = SUBSYSTEM_ERRORS[group]
    assert type(error) is own and isinstance(error, base)
    assert error.exit_code == EXIT_ENVIRONMENT
    kind = GROUPS[group].kind
    assert error.message == (
        f"{kind} plugin 'broken' ({group}) from reef-broken 2.0 could not be loaded: {REASON}"
    )
    assert "\n" not in error.message
    assert error.hint is not None and "reef-broken" in error.hint
    assert isinstance(error.__cause__, ModuleNotFoundError)
    assert error.to_json()["package"] == "reef-broken"
    # Asked again, it fails the same way (without importing it again).
    with pytest.raises(type(error), match="could not be loaded"):
        _use(group)()


def test_a_check_plugins_error_points_at_uses(plugin_site: FakeSite) -> None:
    _install(plugin_site, "reef-broken", "2.0", "reef_test_broken", BROKEN, checks="broken")
    with pytest.raises(CheckPluginError) as info:
        build_check("broken", {})
    assert info.value.issues == [("uses", info.value.message)]


def test_a_broken_detector_is_a_problem_and_the_others_run(plugin_site: FakeSite) -> None:
    _install(plugin_site, "reef-broken", "2.0", "reef_test_broken", BROKEN, detectors="broken")
    detection = detect_all()
    (problem,) = [p for p in detection.problems if p.detector == "broken"]
    assert problem.message == (
        f"detector plugin 'broken' (reef.detectors) from reef-broken 2.0 could not be loaded: "
        f"{REASON}"
    )
    assert detection.facts["hardware"]["cpu"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "raise RuntimeError('no licence\\nfor this host')\n",
            "RuntimeError: no licence for this host",
        ),
        ("thing = 42\n", "it provides int, not a reef.bench.metrics.Metric"),
        ("other = 1\n", "AttributeError: module 'reef_test_odd' has no attribute 'thing'"),
        ("def broken(:\n", "SyntaxError: "),
    ],
)
def test_whatever_a_plugin_does_wrong_is_one_line(
    plugin_site: FakeSite, source: str, reason: str
) -> None:
    _install(plugin_site, "reef-odd", "0.1", "reef_test_odd", source, metrics="odd")
    with pytest.raises(MetricPluginError) as info:
        get_metric("odd")
    assert "\n" not in info.value.message
    assert f"from reef-odd 0.1 could not be loaded: {reason}" in info.value.message


def test_an_unknown_name_is_still_bad_input() -> None:
    with pytest.raises(MetricError) as info:
        get_metric("nope")
    assert not isinstance(info.value, PluginError) and info.value.exit_code == 2


def test_an_entry_point_of_no_known_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    point = importlib.metadata.EntryPoint("ghost", "reef_no_such_module:x", "reef.metrics")
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda: importlib.metadata.EntryPoints([point])
    )
    reef.plugins.refresh()
    try:
        with pytest.raises(MetricPluginError, match=r"'ghost' .* from an unknown package"):
            get_metric("ghost")
    finally:
        monkeypatch.undo()
        reef.plugins.refresh()


def test_a_builtin_that_cannot_be_loaded_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    group: PluginGroup[Any] = PluginGroup(
        "reef.test-only",
        kind="gadget",
        builtins={"gizmo": "reef_no_such_module:gizmo"},
        error=PluginError,
        accept=lambda name, obj: obj,
    )
    with pytest.raises(PluginError) as info:
        group.load("gizmo")
    assert info.value.message == (
        "Reef's built-in gadget 'gizmo' could not be loaded: "
        "ModuleNotFoundError: No module named 'reef_no_such_module'"
    )
    assert info.value.source == "built-in" and info.value.package is None


# --- the built-in steps' one table ----------------------------------------------------------


def test_every_builtin_step_is_one_row_of_one_table() -> None:
    assert STEPS.names() == sorted(BUILTIN_STEPS)
    for name, step in BUILTIN_STEPS.items():
        assert STEPS.get(name).target == step.build  # type: ignore[union-attr]
        assert callable(STEPS.load(name))
        assert step.model.__name__ == "".join(p.capitalize() for p in name.split("_")) + "Step"


# --- the API --------------------------------------------------------------------------------


def test_api_lists_every_group_with_sources_errors_and_shadowed(plugin_site: FakeSite) -> None:
    _install(plugin_site, "reef-exact", "0.3", "reef_test_exact", GOOD_METRIC, metrics="exact")
    _install(plugin_site, "reef-broken", "2.0", "reef_test_broken", BROKEN, steps="broken")
    _install(plugin_site, "reef-clash", "1.2", "reef_test_clash", NEVER_IMPORTED, detectors="cpu")
    report = list_plugins()
    assert [g.group for g in report.groups] == list(reef.plugins.GROUPS)
    entries = {(g.group, e.name, e.source): e for g in report.groups for e in g.entries}
    assert entries["reef.metrics", "exact", "reef-exact 0.3"].status == "ok"
    assert entries["reef.metrics", "top1", "built-in"].status == "ok"
    broken = entries["reef.steps", "broken", "reef-broken 2.0"]
    assert broken.status == "error" and broken.error is not None and REASON in broken.error
    hidden = entries["reef.detectors", "cpu", "reef-clash 1.2"]
    assert (hidden.status, hidden.shadowed_by) == ("shadowed", "built-in")
    assert entries["reef.detectors", "cpu", "built-in"].status == "ok"
    assert "reef_test_clash" not in sys.modules
    assert detect.registered()["cpu"] == detect.BUILTINS["cpu"]
