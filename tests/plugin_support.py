"""Plugins installed for one test: a real ``dist-info`` folder (metadata and entry points) and
its modules in a temporary folder on ``sys.path``, which ``importlib.metadata`` finds as it
finds any installed distribution. Every group of ``reef.plugins`` forgets what it listed and
loaded when the test starts and ends.

A test module uses the ``plugin_site`` fixture after ``from plugin_support import
plugin_site`` (tests/ is on ``sys.path``)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import reef.plugins


@dataclass
class FakeSite:
    root: Path
    modules: list[str] = field(default_factory=list)

    def add(
        self,
        name: str,
        version: str = "1.0",
        *,
        entry_points: dict[str, dict[str, str]],
        modules: dict[str, str] | None = None,
    ) -> None:
        """Install the distribution ``name`` with ``entry_points`` (group -> name -> target)
        and ``modules`` (module name -> source, dedented)."""
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines: list[str] = []
        for group, points in entry_points.items():
            lines += [f"[{group}]", *(f"{key} = {target}" for key, target in points.items()), ""]
        (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
        for module, source in (modules or {}).items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
            sys.modules.pop(module, None)
            self.modules.append(module)
        importlib.invalidate_caches()
        reef.plugins.refresh()


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    reef.plugins.refresh()
    site = FakeSite(root)
    yield site
    monkeypatch.undo()  # off sys.path before the groups forget, so that none sees it again
    for module in site.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()
    reef.plugins.refresh()
