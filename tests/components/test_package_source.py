"""Sources that are files inside an installed Python package: schema, lookup, verification."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from reef.components.checksums import package_file, verified_source
from reef.errors import ChecksumError, ReefError
from reef.meta.common import Source, package_folder

DATA = b"weights of a model inside a package\n"
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site-packages folder holding ``fakeocr`` (installed as the distribution fake-ocr),
    whose ``__init__`` fails when imported: finding a file in it must not import it."""
    root = tmp_path / "site-packages"
    pkg = root / "fakeocr"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('the package must not be imported')\n")
    (pkg / "models" / "model.onnx").write_bytes(DATA)
    info = root / "fake_ocr-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-ocr\nVersion: 1.0.0\n")
    (info / "top_level.txt").write_text("fakeocr\n")
    (info / "RECORD").write_text(
        "fakeocr/__init__.py,,\nfakeocr/models/model.onnx,,\nfake_ocr-1.0.0.dist-info/RECORD,,\n"
    )
    return root


def source(sha256: str = DIGEST, path: str = "models/model.onnx") -> Source:
    return Source(package="fakeocr", path=path, sha256=sha256)


def test_a_package_source_is_package_and_path() -> None:
    s = source()
    assert s.location == "fakeocr:models/model.onnx"
    assert s.model_dump()["package"] == "fakeocr"


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"package": "fakeocr"}, "needs 'path'"),
        ({"package": "fakeocr", "path": "m.onnx", "url": "https://x/m.onnx"}, "not 'url'"),
        ({"package": "fakeocr", "path": "../other/m.onnx"}, "inside the package"),
        ({"package": "fakeocr", "path": "/etc/passwd"}, "inside the package"),
        ({"package": "not a name", "path": "m.onnx"}, "not a Python package name"),
        ({}, "exactly one of"),
        ({"path": "m.onnx", "url": "https://x/m.onnx"}, "exactly one of"),
    ],
)
def test_exactly_one_location(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Source(sha256=DIGEST, **fields)  # type: ignore[arg-type]


def test_other_sources_serialise_as_before() -> None:
    # Lock files and environment hashes are taken of these dumps: no new key may appear.
    assert Source(path="m.onnx", sha256=DIGEST).model_dump() == {
        "path": "m.onnx",
        "url": None,
        "sha256": DIGEST,
    }


def test_found_in_the_given_site_packages(site: Path) -> None:
    path = verified_source(source(), Path("/nowhere"), "m.yaml", "sources[0]", [site])
    assert path == (site / "fakeocr" / "models" / "model.onnx").resolve()
    assert package_file("fakeocr", "models/model.onnx", [site]) == path


def test_found_by_distribution_name(site: Path) -> None:
    assert package_folder("fake-ocr", [site]) == site / "fakeocr"
    assert package_folder("FAKE_OCR", [site]) == site / "fakeocr"


def test_found_in_this_interpreter_without_importing_it(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(site))
    path = verified_source(source(), Path("/nowhere"), "m.yaml", "sources[0]")
    assert path.read_bytes() == DATA


def test_checksum_mismatch_is_refused(site: Path) -> None:
    with pytest.raises(ChecksumError) as info:
        verified_source(source("0" * 64), Path("/nowhere"), "m.yaml", "sources[0]", [site])
    assert info.value.actual == DIGEST


def test_a_path_escaping_the_package_is_refused(site: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.onnx"
    outside.write_bytes(DATA)
    (site / "fakeocr" / "models" / "link.onnx").symlink_to(outside)
    with pytest.raises(ReefError, match="outside the package"):
        verified_source(source(path="models/link.onnx"), Path("/x"), "m.yaml", "sources[0]", [site])


def test_a_missing_file_is_named(site: Path) -> None:
    with pytest.raises(ReefError, match="no such file"):
        package_file("fakeocr", "models/other.onnx", [site])


def test_not_installed_says_to_run_init(site: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-site"
    empty.mkdir()
    with pytest.raises(ReefError) as info:
        verified_source(source(), Path("/x"), "m.yaml", "sources[0]", [empty])
    assert f"fakeocr is not installed in {empty}" in info.value.message
    assert "reef init" in info.value.message
    with pytest.raises(ReefError, match="not installed in this interpreter"):
        package_file("fakeocr_not_here", "models/model.onnx")


def test_fetch_and_planned_sources_leave_package_sources_to_provisioning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reef.components import fetch
    from reef.meta.lock import Lock
    from reef.solutions.init import _planned_sources

    monkeypatch.setattr(fetch, "locate", lambda locked, entries: None)

    lock = Lock.model_validate(
        {
            "target": "m",
            "root": "m",
            "components": [
                {
                    "kind": "model",
                    "name": "m",
                    "version": "1.0.0",
                    "repository": "builtin",
                    "repository_location": "/nowhere",
                    "path": "m/reef.yaml",
                    "sha256": "1" * 64,
                    "sources": [source().model_dump()],
                }
            ],
        }
    )
    assert fetch.fetch_lock(lock, entries=[]) == []
    assert _planned_sources(lock)[0].status == "package"
