"""A warning reaches the user as one line, like every other message: a metric plugin hidden by
the built-in of its name, in a real ``reef`` process."""

from __future__ import annotations

from pathlib import Path

from e2e_support import Reef

from plugin_support import FakeSite, plugin_site

__all__ = ["plugin_site"]  # the fixture


def test_a_shadowed_plugin_is_one_warning_line(
    reef: Reef, plugin_site: FakeSite, digits_copy: Path
) -> None:
    plugin_site.add(
        "reef-clash",
        "1.2",
        entry_points={"reef.metrics": {"top1": "clash_metrics:top1"}},
        modules={"clash_metrics": "top1 = None\n"},
    )
    result = reef("check", str(digits_copy), env={"PYTHONPATH": str(plugin_site.root)})
    assert result.rc == 0, str(result)
    lines = [line for line in result.stderr.splitlines() if "reef-clash" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: ") and "is not used" in lines[0]
    assert "PluginShadowed" not in result.stderr and ".py:" not in result.stderr
