"""``reef init`` never lets an untrusted component's Python requirements run code: direct
references (a local folder, a URL, a VCS URL) are refused before anything is fetched or
installed, and the installer builds nothing from source when an untrusted component is in the
lock. The package below has a build backend that writes a marker file the moment it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import assert_usage_error

_BACKEND = """\
import pathlib
pathlib.Path({marker!r}).write_text("the build backend ran")

def build_wheel(*args, **kwargs):
    raise RuntimeError("no wheel")

build_sdist = get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel
"""


def _evil_package(root: Path, marker: Path) -> Path:
    pkg = root / "evilpkg"
    pkg.mkdir()
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "evilpkg"\nversion = "1.0"\n'
    )
    (pkg / "backend.py").write_text(_BACKEND.format(marker=str(marker)))
    return pkg


def _repo(cli: InProcessReef, tmp_path: Path, python: list[str], *, trusted: bool) -> Path:
    repo = tmp_path / "lab"
    folder = repo / "evil"
    folder.mkdir(parents=True)
    data = {"kind": "program", "name": "evil", "version": "1.0.0", "command": ["true"]}
    (folder / "reef.yaml").write_text(yaml.safe_dump({**data, "python": python}))
    args = ["repo", "add", str(repo)] + (["--trusted"] if trusted else [])
    cli.ok(*args)
    return repo


@pytest.mark.parametrize(
    "requirement",
    [
        "evilpkg @ file://{pkg}",
        "evilpkg @ https://example.invalid/evilpkg-1.0.tar.gz",
        "evilpkg @ git+https://example.invalid/evil.git@main",
        "evilpkg[extra] @ file://{pkg} ; python_version >= '3'",
    ],
    ids=["local-folder", "url", "vcs", "extras-and-marker"],
)
def test_an_untrusted_direct_reference_is_refused_before_anything_runs(
    cli: InProcessReef, tmp_path: Path, requirement: str
) -> None:
    marker = tmp_path / "MARKER"
    pkg = _evil_package(tmp_path, marker)
    text = requirement.format(pkg=pkg)
    _repo(cli, tmp_path, [text], trusted=False)
    for dry in ([], ["--dry-run"]):
        result = cli("init", "evil", *dry)
        url = text.split("@", 1)[1].split(";")[0].strip()
        assert_usage_error(result, "evil@1.0.0", "'lab'", "direct reference", "evilpkg", url)
        assert result.says("reef repo trust lab")
    assert not marker.exists()
    envs = cli.home / "cache" / "envs"
    assert not envs.exists() or not any(envs.iterdir())
    assert not (cli.cwd / "reef.lock").exists()


def test_the_json_error_names_the_requirement(cli: InProcessReef, tmp_path: Path) -> None:
    _repo(cli, tmp_path, ["evilpkg @ https://example.invalid/e.whl"], trusted=False)
    result = cli("init", "evil", "--json")
    assert result.rc == 2
    error = json.loads(result.stdout)
    assert error["error"] == "UntrustedComponent"
    assert "evilpkg @ https://example.invalid/e.whl" in error["message"]


def test_a_trusted_repository_may_name_a_direct_reference(
    cli: InProcessReef, tmp_path: Path
) -> None:
    text = "evilpkg @ https://example.invalid/evilpkg-1.0.tar.gz"
    _repo(cli, tmp_path, [text], trusted=True)
    plan = cli.ok("init", "evil", "--dry-run", "--json").json()["environment"]
    assert text in plan["requirements"]
    assert plan["only_binary"] is False
    assert "--only-binary" not in plan["commands"][1]


def test_an_untrusted_plain_requirement_installs_wheels_only(
    cli: InProcessReef, tmp_path: Path
) -> None:
    _repo(cli, tmp_path, ["numpy>=1.20", "packaging==24.*; python_version>='3.8'"], trusted=False)
    result = cli.ok("init", "evil", "--dry-run", "--json")
    plan = result.json()["environment"]
    assert plan["only_binary"] is True
    install = plan["commands"][1]
    assert install[install.index("--only-binary") + 1] == ":all:"
    assert install.index("--only-binary") < install.index("--")
    assert result.says("installing wheels only")


def test_a_lock_edited_to_add_a_direct_reference_is_refused(
    cli: InProcessReef, tmp_path: Path
) -> None:
    marker = tmp_path / "MARKER"
    pkg = _evil_package(tmp_path, marker)
    _repo(cli, tmp_path, ["numpy>=1.20"], trusted=True)
    cli.ok("resolve", "evil")
    lock_path = cli.cwd / "reef.lock"
    lock = json.loads(lock_path.read_text())
    lock["python"].append(f"evilpkg @ file://{pkg}")
    lock_path.write_text(json.dumps(lock))
    before = lock_path.read_bytes()
    result = cli("init", str(lock_path))
    assert_usage_error(result, "evilpkg @ file://", "no trusted component")
    assert not marker.exists()
    assert lock_path.read_bytes() == before
