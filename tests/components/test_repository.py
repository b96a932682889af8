"""Repositories: folders and git clones in priority order, reserved names, removal, trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_support import commit_all, git_repo, write_component

from reef.components import repository
from reef.components.git import GitError, clone, looks_like_git_url
from reef.components.index import catalog
from reef.components.lookup import find
from reef.components.repository import RepositoryError


def test_only_the_builtin_repository_at_first(reef_home: Path) -> None:
    repos = repository.repositories()
    assert [(r.name, r.kind, r.trusted) for r in repos] == [("builtin", "builtin", True)]
    assert not (reef_home / "repos.json").exists()


def test_add_a_folder(tmp_path: Path, reef_home: Path) -> None:
    write_component(tmp_path / "lab" / "tool", "program", "tool", "1.0.0")
    repo = repository.add(str(tmp_path / "lab"))
    assert (repo.name, repo.kind, repo.trusted) == ("lab", "folder", False)
    assert repo.root == (tmp_path / "lab").resolve()
    assert [r.name for r in repository.repositories()] == ["lab", "builtin"]
    assert find("tool").repository == "lab"
    saved = json.loads((reef_home / "repos.json").read_text())
    assert saved["repositories"][0]["name"] == "lab"


def test_several_versions_side_by_side(tmp_path: Path) -> None:
    for v in ("1.0.0", "1.2.0", "2.0.0"):
        write_component(tmp_path / "lab" / "tool" / v, "program", "tool", v)
    repository.add(str(tmp_path / "lab"))
    assert find("tool").version == "2.0.0"
    assert find("tool@<2").version == "1.2.0"
    assert find("tool@1.0.0").version == "1.0.0"


def test_earlier_repository_wins_a_tie(tmp_path: Path) -> None:
    for repo in ("first", "second"):
        write_component(tmp_path / repo / "tool", "program", "tool", "1.0.0")
        repository.add(str(tmp_path / repo))
    assert find("tool").repository == "first"
    write_component(tmp_path / "second" / "tool2", "program", "tool", "1.1.0")
    assert find("tool").repository == "second"  # a higher version beats priority


@pytest.mark.parametrize("name", ["builtin", "installed"])
def test_reserved_names(tmp_path: Path, reef_home: Path, name: str) -> None:
    with pytest.raises(RepositoryError, match="reserved"):
        repository.add(str(tmp_path), name=name)
    assert not (reef_home / "repos.json").exists()


def test_duplicate_and_invalid_names(tmp_path: Path) -> None:
    repository.add(str(tmp_path), name="lab")
    with pytest.raises(RepositoryError, match="already configured"):
        repository.add(str(tmp_path), name="lab")
    with pytest.raises(RepositoryError, match="not a valid repository name"):
        repository.add(str(tmp_path), name="has space")


def test_not_a_folder_nor_a_url(reef_home: Path) -> None:
    with pytest.raises(RepositoryError, match="not a folder or a git URL"):
        repository.add("/no/such/folder")
    assert not (reef_home / "repos.json").exists()


def test_remove_leaves_a_users_folder_alone(tmp_path: Path) -> None:
    write_component(tmp_path / "lab" / "tool", "program", "tool", "1.0.0")
    repository.add(str(tmp_path / "lab"))
    catalog()
    repository.remove("lab")
    assert (tmp_path / "lab" / "tool" / "reef.yaml").is_file()
    assert [r.name for r in repository.repositories()] == ["builtin"]
    with pytest.raises(RepositoryError, match="no repository named 'lab'"):
        repository.remove("lab")
    with pytest.raises(RepositoryError, match="cannot be removed"):
        repository.remove("builtin")


def test_trust_and_untrust(tmp_path: Path) -> None:
    repository.add(str(tmp_path), name="lab")
    assert repository.set_trusted("lab", True).trusted
    assert repository.get("lab").trusted
    assert not repository.set_trusted("lab", False).trusted
    with pytest.raises(RepositoryError, match="always trusted"):
        repository.set_trusted("builtin", False)


def test_corrupt_repository_list_is_a_clear_error(reef_home: Path) -> None:
    (reef_home / "repos.json").write_text("{not json")
    with pytest.raises(RepositoryError, match="cannot read the repository list"):
        repository.repositories()


@pytest.mark.parametrize(
    ("location", "is_url"),
    [
        ("https://example.com/lab.git", True),
        ("file:///srv/lab", True),
        ("git@example.com:team/lab.git", True),
        ("./lab", False),
        ("/srv/lab", False),
        ("C:lab", False),
    ],
)
def test_git_url_detection(location: str, is_url: bool) -> None:
    assert looks_like_git_url(location) is is_url


# --- git -----------------------------------------------------------------------------------


def test_clone_and_update_a_git_repository(tmp_path: Path, reef_home: Path) -> None:
    upstream = tmp_path / "upstream"
    write_component(upstream / "tool", "program", "tool", "1.0.0")
    git_repo(upstream)
    repo = repository.add(upstream.as_uri(), name="shared", trusted=True)
    assert repo.kind == "git" and repo.trusted
    assert repo.root == reef_home / "repos" / "shared"
    assert find("tool").repository == "shared"

    write_component(upstream / "tool-2", "program", "tool", "2.0.0")
    commit_all(upstream, "tool 2")
    assert find("tool").version == "1.0.0"  # the clone changes only on update
    repository.pull(repo)
    assert find("tool").version == "2.0.0"

    repository.remove("shared")
    assert not (reef_home / "repos" / "shared").exists()
    assert upstream.is_dir()  # the upstream is not ours to delete


def test_a_repository_that_cannot_be_cloned(tmp_path: Path, reef_home: Path) -> None:
    missing = (tmp_path / "nothing-here").as_uri()
    with pytest.raises(GitError, match="cannot clone") as info:
        repository.add(missing, name="broken")
    assert info.value.exit_code == 3  # git failed: Reef cannot tell a typo from a network
    assert "fatal:" in info.value.message  # git's diagnosis, not its closing advice
    assert not (reef_home / "repos.json").exists()
    clones = reef_home / "repos"
    assert not clones.exists() or list(clones.iterdir()) == []


def test_ext_transport_never_runs_a_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    url = f"ext::sh -c touch% {marker}"
    with pytest.raises(RepositoryError, match="not a folder or a git URL"):
        repository.add(url, name="evil")
    with pytest.raises(GitError, match="cannot clone"):
        clone(url, tmp_path / "dest")
    assert not marker.exists()
    assert not (tmp_path / "dest").exists()
