"""The component registry a server keeps (reef.components.registry): a pack is published
after the checks `reef install` makes, a published version never changes (the same content
again is a no-op), a version can be yanked, and search, versions, manifests and packs by
sha256 read it. A bad pack is refused with install's message and leaves the registry's folder
exactly as it was."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path

import pytest
from repo_support import write_component
from test_install_safety import (
    PREFIX,
    TINY,
    Member,
    _header,
    _inflated_zeros,
    pack_files,
    regular,
    special,
    sums_of,
    write_pack,
)

from reef import api
from reef.components import registry
from reef.components.registry import NotPublished, VersionConflict
from reef.errors import EXIT_USAGE, ReefError


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (hidden ones too), with each file's sha256."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(folder, name), root) + "/"] = ""
        for name in files:
            path = Path(folder, name)
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A registry holding one published component (tiny@1.0.0)."""
    root = tmp_path / "registry"
    registry.publish(write_pack(tmp_path / "tiny.reef.tar.gz"), root, "alice")
    return root


def refused(pack: Path, root: Path, *expected: str, **limits: int) -> str:
    """Publishing ``pack`` fails (exit 2) with every ``expected`` text in its message, and
    the registry's folder is unchanged."""
    before = snapshot(root)
    with pytest.raises(ReefError) as info:
        registry.publish(pack, root, "mallory", **limits)  # type: ignore[arg-type]
    message = info.value.message
    for text in expected:
        assert text in message, message
    assert info.value.exit_code == EXIT_USAGE
    assert snapshot(root) == before, "a refused publish changed the registry"
    return message


def pack_of(tmp_path: Path, name: str, version: str = "1.0.0", **fields: object) -> Path:
    """A real pack (`reef pack`) of a program component made in a folder repository."""
    lab = tmp_path / "lab"
    write_component(lab / name / version, "program", name, version, **fields)
    if not any(r.name == "lab" for r in api.repo_list()):
        api.repo_add(str(lab), name="lab")
    out = tmp_path / "packs"
    out.mkdir(exist_ok=True)
    return api.pack(f"{name}@{version}", out).path


# -- publishing ------------------------------------------------------------------------------


def test_publish_stores_the_pack_by_sha256_and_an_index_entry(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "tiny.reef.tar.gz")
    root = tmp_path / "registry"
    published = registry.publish(pack, root, "alice")
    sha = hashlib.sha256(pack.read_bytes()).hexdigest()
    assert published.status == "published"
    assert (published.kind, published.name, published.version) == ("program", "tiny", "1.0.0")
    assert published.sha256 == sha and published.size == pack.stat().st_size
    assert published.publisher == "alice" and not published.yanked
    assert (root / "packs" / sha).read_bytes() == pack.read_bytes()
    assert sorted(os.listdir(root / "index")) == ["tiny.json"]
    # Nothing of the checks is left behind.
    assert sorted(p for p in os.listdir(root) if p.startswith(".")) == []
    shown = registry.manifest(root, "tiny", "1.0.0")
    assert shown.manifest == TINY["reef.yaml"].decode()
    assert shown.content_sha256 == published.content_sha256
    assert registry.open_pack(root, sha) == root / "packs" / sha


def test_publishing_bytes_is_publishing_the_file(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "tiny.reef.tar.gz")
    published = registry.publish(pack.read_bytes(), tmp_path / "registry", "alice")
    assert published.sha256 == hashlib.sha256(pack.read_bytes()).hexdigest()


def test_the_same_content_again_changes_nothing(tmp_path: Path, root: Path) -> None:
    before = snapshot(root)
    again = registry.publish(write_pack(tmp_path / "again.reef.tar.gz"), root, "bob")
    assert again.status == "unchanged"
    assert again.publisher == "alice"  # the first publication stands
    assert snapshot(root) == before


def test_a_published_version_never_changes(tmp_path: Path, root: Path) -> None:
    other = pack_files({**TINY, "data/values.txt": b"4 5 6\n"})
    pack = write_pack(tmp_path / "other.reef.tar.gz", other)
    message = refused(pack, root, "tiny@1.0.0 is already published with other content")
    assert "never changes" in message
    with pytest.raises(VersionConflict) as info:
        registry.publish(pack, root, "mallory")
    assert info.value.hint is not None and "new version" in info.value.hint
    assert registry.manifest(root, "tiny", "1.0.0").publisher == "alice"


def test_a_real_pack_with_its_requirements(tmp_path: Path) -> None:
    """`reef pack` output publishes; its root component is what is published, with what it
    requires (the pack carries the requirement too)."""
    write_component(tmp_path / "lab" / "dep" / "1.0.0", "program", "dep", "1.0.0")
    pack = pack_of(tmp_path, "app", requires=["dep >=1"], tags=["Vision"], description="An app")
    root = tmp_path / "registry"
    published = registry.publish(pack, root, "alice")
    assert (published.name, published.requires, published.tags) == ("app", ["dep >=1"], ["Vision"])
    assert [e.name for e in registry.search(root)] == ["app"]


def test_the_manifest_must_be_the_component_the_lock_pins(tmp_path: Path, root: Path) -> None:
    files = {**TINY, "reef.yaml": TINY["reef.yaml"].replace(b"name: tiny", b"name: other")}
    pack = write_pack(tmp_path / "p.reef.tar.gz", pack_files(files))
    refused(pack, root, "other@1.0.0", "tiny@1.0.0")


# -- bad packs: refused as `reef install` refuses them, nothing written -------------------------


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../evil", "'..'"),
        (PREFIX + "../../../../evil", "'..'"),
        ("/etc/evil", "absolute"),
        ("components\\tiny\\evil", "backslash"),
    ],
)
def test_names_that_lead_out_are_refused(tmp_path: Path, root: Path, name: str, why: str) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[regular(name, b"x")])
    refused(pack, root, repr(name), why)
    assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (special(PREFIX + "link", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
        (special(PREFIX + "hard", tarfile.LNKTYPE, PREFIX + "reef.yaml"), "hard link"),
        (special(PREFIX + "tty", tarfile.CHRTYPE), "device"),
        (special(PREFIX + "pipe", tarfile.FIFOTYPE), "FIFO"),
    ],
)
def test_links_devices_and_fifos_are_refused(
    tmp_path: Path, root: Path, member: Member, why: str
) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[member])
    refused(pack, root, repr(member[0].name), why)


def test_a_decompression_bomb_is_refused(tmp_path: Path, root: Path) -> None:
    """200 MB of zeros behind a few hundred KB of gzip, declared as one tar header's data."""
    size = 200 << 20
    pack = tmp_path / "bomb.reef.tar.gz"
    pack.write_bytes(
        gzip.compress(_header("././@Header", tarfile.XHDTYPE, size)) + _inflated_zeros(size)
    )
    assert pack.stat().st_size < 1 << 20
    refused(pack, root, "header")


def test_members_past_the_size_limit_are_refused(tmp_path: Path, root: Path) -> None:
    big = pack_files({**TINY, "blob.bin": bytes(1 << 20)})
    pack = write_pack(tmp_path / "p.reef.tar.gz", big)
    refused(pack, root, "more than 65536 bytes", max_bytes=1 << 16)


def test_a_tampered_member_is_refused(tmp_path: Path, root: Path) -> None:
    files = pack_files()
    sums = sums_of(files)
    files[PREFIX + "data/values.txt"] = b"tampered\n"
    pack = write_pack(tmp_path / "p.reef.tar.gz", files, sums=sums)
    refused(pack, root, "does not match SHA256SUMS")


@pytest.mark.parametrize(
    "content", [b"", b"not a pack", gzip.compress(b"plain text, not a tar\n" * 50)]
)
def test_not_a_pack_at_all(root: Path, content: bytes) -> None:
    before = snapshot(root)
    with pytest.raises(ReefError) as info:
        registry.publish(content, root, "mallory")
    assert info.value.exit_code == EXIT_USAGE
    assert snapshot(root) == before


def test_a_refused_first_publish_leaves_no_registry_behind(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[regular("../evil", b"x")])
    with pytest.raises(ReefError):
        registry.publish(pack, root, "mallory")
    assert snapshot(root) == {}


# -- yanking, searching, reading ---------------------------------------------------------------


def test_yank_hides_a_version_from_search_but_keeps_it(root: Path) -> None:
    entry = registry.yank(root, "tiny", "1.0.0")
    assert entry.yanked and entry.yanked_at
    assert registry.search(root) == []
    assert [e.version for e in registry.search(root, yanked=True)] == ["1.0.0"]
    assert registry.versions(root, "tiny")[0].yanked
    assert registry.manifest(root, "tiny", "1.0.0").yanked
    assert registry.open_pack(root, entry.sha256).is_file()
    assert registry.yank(root, "tiny", "1.0.0").yanked_at == entry.yanked_at  # no-op


def test_yank_of_what_is_not_published(root: Path) -> None:
    with pytest.raises(NotPublished, match=r"tiny@9\.9\.9 is not published"):
        registry.yank(root, "tiny", "9.9.9")
    with pytest.raises(NotPublished):
        registry.yank(root, "nothing", "1.0.0")


def test_search_by_text_kind_and_tags(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    specs = {
        "resnet": {"tags": ["vision", "int8"], "description": "An image classifier"},
        "bert": {"tags": ["nlp"], "description": "A language model"},
    }
    for name, fields in specs.items():
        for version in ("1.0.0", "1.2.0"):
            registry.publish(pack_of(tmp_path, name, version, **fields), root, "alice")
    assert [(e.name, e.version) for e in registry.search(root)] == [
        ("bert", "1.2.0"),
        ("bert", "1.0.0"),
        ("resnet", "1.2.0"),
        ("resnet", "1.0.0"),
    ]
    assert {e.name for e in registry.search(root, "IMAGE")} == {"resnet"}
    assert {e.name for e in registry.search(root, "nl")} == {"bert"}
    assert {e.name for e in registry.search(root, tags=["vision", "INT8"])} == {"resnet"}
    assert registry.search(root, tags=["vision", "nlp"]) == []
    assert registry.search(root, kind="model") == []
    assert len(registry.search(root, kind="program")) == 4
    assert [e.version for e in registry.versions(root, "bert")] == ["1.0.0", "1.2.0"]


@pytest.mark.parametrize(
    "sha",
    ["../../etc/passwd", "..", "a" * 63, "A" * 64, "g" * 64, "a" * 64 + "/x", "", "a" * 65],
)
def test_a_pack_name_that_is_not_a_sha256_is_never_a_path(root: Path, sha: str) -> None:
    with pytest.raises(NotPublished):
        registry.open_pack(root, sha)


def test_an_unknown_sha256_is_not_found(root: Path) -> None:
    with pytest.raises(NotPublished, match="no pack"):
        registry.open_pack(root, "0" * 64)


@pytest.mark.parametrize("name", ["../registry", "..", "/etc/passwd", "Tiny", "a/b", ""])
def test_a_name_that_no_component_has_is_not_found(root: Path, name: str) -> None:
    with pytest.raises(NotPublished):
        registry.versions(root, name)
    with pytest.raises(NotPublished):
        registry.manifest(root, name, "1.0.0")


def test_a_damaged_index_file_is_the_servers_failure(root: Path) -> None:
    (root / "index" / "tiny.json").write_text("{not json")
    with pytest.raises(ReefError, match="cannot be read") as info:
        registry.versions(root, "tiny")
    assert info.value.exit_code == 3
