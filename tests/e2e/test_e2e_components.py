"""Components through the real CLI: scaffold, repositories, search, resolve, fetch over HTTP,
pack, install on a second machine (a second REEF_HOME) and benchmark there with no server;
and the bad input of the components issue: exit 2, a clear message, nothing written. Repository
management and trust, the component schema, every kind that `reef new` scaffolds, every bad
manifest, a cycle and a repository that cannot be cloned are checked in-process in
``tests/cli/test_cli_components.py``."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from e2e_support import SHORT, Reef, assert_usage_error

if TYPE_CHECKING:
    from conftest import HttpServer


def _edit(manifest: Path, **fields: Any) -> None:
    data = yaml.safe_load(manifest.read_text())
    data.update(fields)
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


def _lab(reef: Reef, http_server: HttpServer) -> tuple[Path, bytes]:
    """A lab repository: a scaffolded model whose dataset's file is served over HTTP."""
    lab = reef.cwd / "lab"
    lab.mkdir()
    reef.ok("new", "model", "lab-model", "--dir", str(lab), "--version", "1.2.0")
    reef.ok("new", "dataset", "lab-data", "--dir", str(lab), "--version", "2.0.0")
    data_dir = lab / "lab-data"
    blob = (data_dir / "data.npz").read_bytes()
    (data_dir / "data.npz").unlink()
    url = http_server.route("/files/data.npz", blob)
    _edit(
        data_dir / "reef.yaml",
        sources=[{"url": url, "sha256": hashlib.sha256(blob).hexdigest()}],
    )
    _edit(
        lab / "lab-model" / "reef.yaml",
        dataset="lab-data",
        requires=["lab-data >=2,<3"],
        python=["numpy>=1.26"],
        tags=["lab-demo", "tabular"],
    )
    return lab, blob


def test_a_component_travels_to_a_machine_without_network(
    reef: Reef, http_server: HttpServer, tmp_path: Path
) -> None:
    lab, blob = _lab(reef, http_server)
    added = reef.ok("repo", "add", str(lab), "--json").json()
    assert (added["name"], added["components"], added["trusted"]) == ("lab", 2, False)

    hits = reef.ok("search", "--tag", "lab-demo", "--json").json()
    assert [(h["name"], h["version"], h["repository"]) for h in hits] == [
        ("lab-model", "1.2.0", "lab")
    ]
    shown = reef.ok("show", "lab-model@1.2.0", "--json").json()
    assert shown["repository"] == "lab" and shown["versions"] == [
        {"version": "1.2.0", "repository": "lab"}
    ]

    lock = reef.ok("resolve", "lab-model", "--json").json()
    assert [(c["name"], c["version"]) for c in lock["components"]] == [
        ("lab-data", "2.0.0"),
        ("lab-model", "1.2.0"),
    ]
    assert lock["python"] == ["numpy>=1.26"]
    assert (reef.cwd / "reef.lock").is_file()

    fetched = reef.ok("fetch", "reef.lock", "--json").json()
    assert {f["status"] for f in fetched} == {"downloaded", "local"}
    assert (reef.home / "cache" / hashlib.sha256(blob).hexdigest()).read_bytes() == blob
    again = reef.ok("fetch", "reef.lock", "--json").json()
    assert {f["status"] for f in again} == {"cached", "local"}
    assert http_server.hits("/files/data.npz") == 1  # a re-run costs nothing

    first = reef.ok("pack", "lab-model", "--json").json()
    pack = Path(first["path"])
    assert pack.name == "lab-model-1.2.0.reef.tar.gz"
    second = reef.ok("pack", "reef.lock", "-o", str(tmp_path / "again.reef.tar.gz"), "--json")
    assert second.json()["sha256"] == first["sha256"]  # deterministic bytes

    http_server.close()  # the other machine has no network
    other = Reef(tmp_path / "other-home", reef.cwd)
    installed = other.ok("install", str(pack), "--json").json()
    assert {(c["name"], c["status"]) for c in installed["components"]} == {
        ("lab-model", "installed"),
        ("lab-data", "installed"),
    }
    assert other.ok("show", "lab-model", "--json").json()["repository"] == "installed"
    result = other.ok(
        "bench", "lab-model", *SHORT, "--scenario", "Offline", "--mode", "accuracy", "--json"
    )
    (record,) = result.json()
    assert record["status"] == "valid"
    assert {c["name"] for c in record["components"]} == {"lab-model", "lab-data"}


def test_bench_uses_exactly_what_a_lock_pins(reef: Reef) -> None:
    reef.ok("resolve", "digits-classifier")
    result = reef.ok("bench", "reef.lock", *SHORT, "--scenario", "SingleStream", "--json")
    (record,) = result.json()
    assert record["target"]["kind"] == "lock"
    assert {c["name"] for c in record["components"]} == {"digits-classifier", "digits"}


# --- bad input: exit 2, a clear message, nothing written ------------------------------------


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_bad_manifest(reef: Reef) -> None:
    reef.ok("new", "program", "tool")
    _edit(reef.cwd / "tool" / "reef.yaml", kind="notebook")
    assert_usage_error(reef("check", "tool"), "kind", "'notebook'", "expected one of")


def _conflicting_lab(root: Path) -> None:
    for name, version, requires in [
        ("app", "1.0.0", ["lib >=2", "other"]),
        ("other", "1.0.0", ["lib <2"]),
        ("lib", "1.0.0", []),
        ("lib", "2.0.0", []),
        ("loop-a", "1.0.0", ["loop-b"]),
        ("loop-b", "1.0.0", ["loop-a"]),
    ]:
        folder = root / name / version
        folder.mkdir(parents=True)
        data = {"kind": "program", "name": name, "version": version, "command": ["true"]}
        (folder / "reef.yaml").write_text(yaml.safe_dump(data | {"requires": requires}))


def test_unsatisfiable_requirement(reef: Reef, tmp_path: Path) -> None:
    _conflicting_lab(tmp_path / "lab")
    reef.ok("repo", "add", str(tmp_path / "lab"))
    result = reef("resolve", "app")
    assert_usage_error(result, "app 1.0.0 requires lib >=2", "other 1.0.0 requires lib <2")
    assert result.says("1.0.0 (lab)", "2.0.0 (lab)")
    assert not (reef.cwd / "reef.lock").exists()


def test_tampered_download_leaves_nothing(
    reef: Reef, http_server: HttpServer, tmp_path: Path
) -> None:
    lab, blob = _lab(reef, http_server)
    http_server.route("/files/data.npz", blob + b"tampered")
    reef.ok("repo", "add", str(lab))
    result = reef("fetch", "lab-model")
    assert_usage_error(result, "sha256", hashlib.sha256(blob).hexdigest())
    assert _files(reef.home / "cache") == []


def test_corrupt_and_unsafe_packs_write_nothing(reef: Reef, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.reef.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00" + b"not really gzip" * 50)
    assert_usage_error(reef("install", str(corrupt)))

    evil = tmp_path / "evil.reef.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        payload = b"gotcha"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    assert_usage_error(reef("install", str(evil)), "../../escaped.txt")
    assert not (tmp_path / "escaped.txt").exists()
    assert _files(reef.home) == []


def test_lock_changed_after_resolve(reef: Reef, tmp_path: Path) -> None:
    import reef as reef_pkg

    lab = tmp_path / "lab"
    shutil.copytree(Path(reef_pkg.__file__).parent / "builtin" / "digits", lab / "data")
    _edit(lab / "data" / "reef.yaml", name="lab-digits")
    reef.ok("repo", "add", str(lab))
    reef.ok("resolve", "lab-digits")
    (lab / "data" / "NOTES.txt").write_text("changed after locking")
    result = reef("fetch", "reef.lock")
    assert_usage_error(result, "lab-digits@1.0.0 has changed since it was locked")
    lock = json.loads((reef.cwd / "reef.lock").read_text())
    assert lock["root"] == "lab-digits"
