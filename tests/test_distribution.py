"""Issue 14, item 7: the distribution is `reef-bench` (PyPI's `reef` is another project); the
import package and the command stay `reef`, and every install hint names `reef-bench[extra]`."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import reef

ROOT = Path(__file__).resolve().parents[1]
# `reef[gpu]` and the like, but not `reef-bench[gpu]`.
OLD_HINT = re.compile(r"(?<![\w-])reef\[")


def test_the_distribution_is_reef_bench() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "reef-bench"
    assert project["scripts"] == {"reef": "reef.__main__:main"}
    installed = importlib.metadata.distribution("reef-bench")
    assert installed.version == reef.__version__
    assert "reef" in {e.name for e in installed.entry_points if e.group == "console_scripts"}


def test_no_old_distribution_is_installed_beside_it() -> None:
    """An install from before the rename would list every entry point twice."""
    names = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    assert "reef" not in names


def test_every_install_hint_names_reef_bench() -> None:
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OLD_HINT.search(line)
    ]
    assert found == []


def test_the_fingerprint_names_reef_by_its_import_package() -> None:
    from reef.environment.detectors.python import packages

    assert packages.detect()["reef"] == reef.__version__


def test_a_copy_from_before_the_rename_is_replaced(tmp_path: Path) -> None:
    """An environment provisioned when the distribution was `reef` gets the `reef-bench`
    dist-info in place of the old one the next time it is used."""
    from reef.environment import provision

    site = tmp_path / "site"
    old = site / "reef-0.0.9.dist-info"
    old.mkdir(parents=True)
    (old / "entry_points.txt").write_text("[reef.predictors]\nonnxruntime = x:y\n")
    provision._install_reef(site)
    assert not old.exists()
    [info] = site.glob("*.dist-info")
    assert info.name == f"reef_bench-{reef.__version__}.dist-info"
    assert "Name: reef-bench" in (info / "METADATA").read_text()
    assert (site / "reef" / "__init__.py").is_file()
