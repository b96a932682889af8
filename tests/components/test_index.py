"""The per-repository index: incremental refresh, invalid manifests, search."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from repo_support import write_component

from reef.components import repository
from reef.components.index import catalog, refresh
from reef.components.lookup import search


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    root = tmp_path / "lab"
    for i in range(5):
        write_component(root / f"tool{i}", "program", f"tool{i}", "1.0.0", tags=["cli"])
    repository.add(str(root))
    return root


def _lab() -> repository.Repository:
    return repository.get("lab")


def test_first_refresh_reads_everything_then_nothing(lab: Path, reef_home: Path) -> None:
    first = refresh(_lab(), force=True)
    assert first.parsed == 5 and len(first.entries) == 5
    assert (reef_home / "index" / "index.db").is_file()
    assert refresh(_lab()).parsed == 0


def test_only_changed_manifests_are_read(lab: Path) -> None:
    refresh(_lab())
    write_component(lab / "tool2", "program", "tool2", "1.1.0", tags=["cli"])
    write_component(lab / "new", "program", "brand-new", "0.1.0")
    (lab / "tool4" / "reef.yaml").unlink()
    index = refresh(_lab())
    assert index.parsed == 2
    versions = {e.name: e.version for e in index.entries}
    assert versions["tool2"] == "1.1.0"
    assert "brand-new" in versions and "tool4" not in versions


def test_a_change_with_the_same_size_is_seen(lab: Path) -> None:
    refresh(_lab())
    manifest = lab / "tool1" / "reef.yaml"
    text = manifest.read_text().replace("1.0.0", "1.0.1")
    stat = manifest.stat()
    manifest.write_text(text)
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert {e.name: e.version for e in refresh(_lab()).entries}["tool1"] == "1.0.1"


def test_invalid_manifests_are_reported_and_skipped(lab: Path) -> None:
    (lab / "broken").mkdir()
    (lab / "broken" / "reef.yaml").write_text("kind: model\nname: Bad Name\nversion: one\n")
    (lab / "notyaml").mkdir()
    (lab / "notyaml" / "reef.yaml").write_text("kind: [unclosed\n")
    index = refresh(_lab())
    assert len(index.entries) == 5
    assert set(index.invalid) == {"broken/reef.yaml", "notyaml/reef.yaml"}
    assert "malformed YAML" in index.invalid["notyaml/reef.yaml"]
    assert refresh(_lab()).invalid == index.invalid  # remembered without re-reading
    assert refresh(_lab()).parsed == 0


def test_hidden_folders_are_not_walked(lab: Path) -> None:
    write_component(lab / ".git" / "junk", "program", "junk", "1.0.0")
    assert "junk" not in {e.name for e in refresh(_lab()).entries}


def test_a_corrupt_index_is_rebuilt(lab: Path, reef_home: Path) -> None:
    refresh(_lab())
    (reef_home / "index" / "index.db").write_bytes(b"garbage" * 1000)
    index = refresh(_lab())
    assert index.parsed == 5 and len(index.entries) == 5


def test_a_removed_repository_leaves_no_rows(lab: Path) -> None:
    assert any(e.repository == "lab" for e in catalog())
    repository.remove("lab")
    repository.add(str(lab), name="lab2")
    assert {e.repository for e in catalog()} == {"lab2", "builtin"}


def test_entries_know_their_repository_and_trust(lab: Path) -> None:
    repository.set_trusted("lab", True)
    (entry,) = [e for e in catalog() if e.name == "tool0"]
    assert (entry.repository, entry.trusted) == ("lab", True)
    assert entry.manifest_path == (lab / "tool0" / "reef.yaml").resolve()


# --- search --------------------------------------------------------------------------------


def test_search_by_text_kind_and_tags(lab: Path) -> None:
    write_component(
        lab / "mnist", "dataset", "mnist-small", "1.0.0", description="Handwritten DIGITS"
    )
    by_text = {e.name for e in search("digits")}
    assert {"digits", "digits-classifier", "digits-cnn", "mnist-small"} <= by_text
    # digit-photos: "digits" is in its description
    assert {e.name for e in search("digits", kind="dataset")} == {
        "digits",
        "digit-photos",
        "mnist-small",
    }
    assert {e.name for e in search(tags=["CLI"])} == {f"tool{i}" for i in range(5)}
    assert {e.name for e in search(tags=["image-classification", "mlp"])} == {"digits-classifier"}
    assert search("nothing-like-this") == []


def test_search_results_are_sorted_newest_first(lab: Path) -> None:
    write_component(lab / "tool0-v2", "program", "tool0", "2.0.0")
    hits = [(e.name, e.version) for e in search("tool0")]
    assert hits == [("tool0", "2.0.0"), ("tool0", "1.0.0")]


def test_the_installed_repository_is_read_when_reef_changes_it(reef_home: Path) -> None:
    installed = repository.ensure_installed()
    write_component(installed.root / "tool" / "1.0.0", "program", "tool", "1.0.0")
    repository.mark_changed(installed)
    assert refresh(installed).parsed == 1
    # Files put there by hand are not walked for: only `reef install` changes this repository.
    write_component(installed.root / "stray" / "1.0.0", "program", "stray", "1.0.0")
    assert "stray" not in {e.name for e in refresh(installed).entries}
    repository.mark_changed(installed)
    assert "stray" in {e.name for e in refresh(installed).entries}


def test_a_git_clone_is_not_walked_while_its_commit_is_indexed(tmp_path: Path) -> None:
    from repo_support import git_repo

    upstream = tmp_path / "upstream"
    write_component(upstream / "tool", "program", "tool", "1.0.0")
    git_repo(upstream)
    clone = repository.add(upstream.as_uri(), name="shared")
    assert refresh(clone).parsed == 1
    write_component(clone.root / "local-edit", "program", "local-edit", "1.0.0")
    assert refresh(clone).parsed == 0
    assert refresh(clone, force=True).parsed == 2


def test_not_found_mentions_skipped_manifests(lab: Path) -> None:
    from reef.components.lookup import ComponentNotFound, find

    (lab / "broken").mkdir()
    (lab / "broken" / "reef.yaml").write_text("kind: program\nname: wanted\nversion: 1\n")
    with pytest.raises(ComponentNotFound) as info:
        find("wanted")
    assert info.value.hint is not None
    assert "invalid manifests were skipped (1 in 'lab')" in info.value.hint


def test_a_model_whose_dataset_is_neither_name_nor_folder_is_skipped(lab: Path) -> None:
    import shutil

    from reef.components.repository import builtin_root

    shutil.copytree(builtin_root() / "digits-classifier", lab / "odd")
    manifest = lab / "odd" / "reef.yaml"
    manifest.write_text(manifest.read_text().replace("dataset: digits", "dataset: ../digits/x"))
    index = refresh(_lab())
    assert "neither a dataset component nor a folder" in index.invalid["odd/reef.yaml"]
    assert len(index.entries) == 5  # the others are still there


# --- telling that a folder changed without walking it --------------------------------------


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The repositories walked from now on; folders changed just before a walk count as
    settled (otherwise the next command walks them again: see the racy test)."""
    from reef.components import index

    walked: list[str] = []
    original = index._walk

    def walk(root: Path, folders: dict[str, int] | None = None) -> Any:
        walked.append(root.name)
        return original(root, folders)

    monkeypatch.setattr(index, "_walk", walk)
    monkeypatch.setattr(index, "_RACY_NS", 0)
    return walked


def test_an_unchanged_folder_is_not_walked(lab: Path, walks: list[str]) -> None:
    refresh(_lab())
    assert walks == ["lab"]
    again = refresh(_lab())
    assert (again.parsed, len(again.entries), walks) == (0, 5, ["lab"])
    assert {e.name for e in search("tool") if e.repository == "lab"} == {
        f"tool{i}" for i in range(5)
    }
    assert [w for w in walks if w == "lab"] == ["lab"]


def test_a_manifest_edited_in_place_is_read_without_a_walk(lab: Path, walks: list[str]) -> None:
    refresh(_lab())
    manifest = lab / "tool3" / "reef.yaml"
    with manifest.open("r+") as f:  # the same file, so its folder does not change
        text = f.read().replace("1.0.0", "1.0.1")
        f.seek(0)
        f.write(text)
    index = refresh(_lab())
    assert (index.parsed, walks) == (1, ["lab"])
    assert {e.name: e.version for e in index.entries}["tool3"] == "1.0.1"
    assert refresh(_lab()).parsed == 0


@pytest.mark.parametrize("where", ["tool1/nested", "deep/er/still", "tool2/.hidden"])
def test_a_new_folder_anywhere_is_walked_for(lab: Path, walks: list[str], where: str) -> None:
    refresh(_lab())
    write_component(lab / where, "program", "newcomer", "1.0.0")
    names = {e.name for e in refresh(_lab()).entries}
    assert walks == ["lab", "lab"]
    assert ("newcomer" in names) is (".hidden" not in where)


def test_removed_renamed_and_replaced_manifests_are_seen(lab: Path, walks: list[str]) -> None:
    refresh(_lab())
    (lab / "tool0" / "reef.yaml").unlink()
    (lab / "tool1").rename(lab / "tool1-moved")
    (lab / "tool2" / "reef.yaml").unlink()
    (lab / "tool2" / "reef.yaml").mkdir()
    (lab / "tool3" / "reef.yaml").unlink()
    (lab / "tool3" / "reef.yaml").symlink_to(lab / "tool4" / "reef.yaml")
    assert {e.path for e in refresh(_lab()).entries} == {"tool1-moved/reef.yaml", "tool4/reef.yaml"}
    assert refresh(_lab()).parsed == 0


def test_a_folder_changed_just_before_the_walk_is_walked_again(
    lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A coarse file-system clock may give a change made right after the walk the time of one
    # made right before it: such folders are not trusted until they are older.
    from reef.components import index

    refresh(_lab())  # written a moment ago: recorded as changed
    walked: list[Path] = []
    original = index._walk
    monkeypatch.setattr(
        index, "_walk", lambda root, f=None: walked.append(root) or original(root, f)
    )
    refresh(_lab())
    assert len(walked) == 1
    monkeypatch.setattr(index, "_RACY_NS", 0)
    refresh(_lab())
    refresh(_lab())
    assert len(walked) == 2


def test_search_text_is_taken_literally(lab: Path) -> None:
    write_component(lab / "under", "program", "snake_case", "1.0.0", description="100% pure")
    write_component(lab / "plain", "program", "snakecase", "1.0.0", description="100 pure")

    def found(text: str) -> set[str]:
        return {e.name for e in search(text) if e.repository == "lab"}

    assert found("_") == found("e_c") == found("0%") == {"snake_case"}
    assert found("%%") == found("\\") == set()
    assert found("SNAKE") == {"snake_case", "snakecase"}
