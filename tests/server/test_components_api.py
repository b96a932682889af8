"""The component registry's REST routes, over HTTP with FastAPI's TestClient against the real
application: publish (publish scope), search, versions, manifests, yank (publish scope) and
packs by sha256; bad packs refused as `reef install` refuses them, a version published with
other content 409, a download name that is not a sha256 404, an upload over the body limit
413, every error in Reef's one JSON shape."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "components"))

from server_support import assert_error, bearer
from test_install_safety import TINY, pack_files, regular, special, write_pack

PREFIX = "components/tiny/1.0.0/"


@pytest.fixture
def registry_root(reef_home: Path) -> Path:
    """Where the server keeps the registry: REEF_HOME/server/components."""
    return reef_home / "server" / "components"


@pytest.fixture
def tiny(tmp_path: Path) -> bytes:
    return write_pack(tmp_path / "tiny.reef.tar.gz").read_bytes()


def upload(client: TestClient, data: bytes, token: str | None) -> object:
    headers = {"Content-Type": "application/gzip"}
    if token is not None:
        headers |= bearer(token)
    return client.post("/api/v1/components", content=data, headers=headers)


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_publish_then_read_it_back(
    client: TestClient, tokens: dict[str, str], tiny: bytes, registry_root: Path
) -> None:
    response = upload(client, tiny, tokens["publish"])
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    published = response.json()  # type: ignore[attr-defined]
    sha = hashlib.sha256(tiny).hexdigest()
    assert (published["name"], published["version"], published["status"]) == (
        "tiny",
        "1.0.0",
        "published",
    )
    assert published["sha256"] == sha and published["publisher"].startswith("token ")
    assert (registry_root / "packs" / sha).read_bytes() == tiny

    hits = client.get("/api/v1/components", params={"q": "TIN", "kind": "program"}).json()
    assert [(h["name"], h["version"]) for h in hits["components"]] == [("tiny", "1.0.0")]
    assert client.get("/api/v1/components", params={"kind": "model"}).json() == {
        "components": [],
        "next_cursor": None,
    }

    versions = client.get("/api/v1/components/tiny").json()
    assert [v["version"] for v in versions["versions"]] == ["1.0.0"]

    shown = client.get("/api/v1/components/tiny/1.0.0").json()
    assert shown["manifest"] == TINY["reef.yaml"].decode()
    assert shown["content_sha256"] == published["content_sha256"]

    pack = client.get(f"/api/v1/packs/{sha}")
    assert pack.status_code == 200
    assert pack.content == tiny
    assert pack.headers["content-type"] == "application/gzip"
    assert hashlib.sha256(pack.content).hexdigest() == sha


def test_the_same_content_again_is_200_and_changes_nothing(
    client: TestClient, tokens: dict[str, str], tiny: bytes, registry_root: Path
) -> None:
    upload(client, tiny, tokens["publish"])
    before = tree(registry_root)
    response = upload(client, tiny, tokens["admin"])
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json()["status"] == "unchanged"  # type: ignore[attr-defined]
    assert tree(registry_root) == before


def test_other_content_under_a_published_version_is_409(
    client: TestClient, tokens: dict[str, str], tiny: bytes, tmp_path: Path, registry_root: Path
) -> None:
    upload(client, tiny, tokens["publish"])
    before = tree(registry_root)
    other = write_pack(
        tmp_path / "other.reef.tar.gz", pack_files({**TINY, "data/values.txt": b"9\n"})
    ).read_bytes()
    response = upload(client, other, tokens["publish"])
    assert_error(response, 409, "VersionConflict", "already published with other content")
    assert tree(registry_root) == before


@pytest.mark.parametrize("scope", [None, "read", "submit"])
def test_publishing_needs_the_publish_scope(
    client: TestClient,
    tokens: dict[str, str],
    tiny: bytes,
    registry_root: Path,
    scope: str | None,
) -> None:
    response = upload(client, tiny, tokens[scope] if scope else None)
    if scope is None:
        assert_error(response, 401, "AuthError")
    else:
        assert_error(response, 403, "Forbidden")
    assert tree(registry_root) == []


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        (regular("../evil", b"x"), "'..'"),
        (regular(PREFIX + "../../../../evil", b"x"), "'..'"),
        (regular("/etc/evil", b"x"), "absolute"),
        (special(PREFIX + "link", b"2", "/etc/passwd"), "symbolic link"),
        (special(PREFIX + "hard", b"1", PREFIX + "reef.yaml"), "hard link"),
    ],
    ids=["dotdot", "dotdot-deep", "absolute", "symlink", "hardlink"],
)
def test_a_bad_pack_is_refused_as_install_refuses_it(
    client: TestClient,
    tokens: dict[str, str],
    tmp_path: Path,
    registry_root: Path,
    member: tuple[object, bytes | None],
    fragment: str,
) -> None:
    pack = write_pack(tmp_path / "bad.reef.tar.gz", extra=[member])  # type: ignore[list-item]
    response = upload(client, pack.read_bytes(), tokens["publish"])
    assert_error(response, 422, "ArchiveError", fragment)
    assert tree(registry_root) == []
    assert not (tmp_path / "evil").exists()


def test_a_decompression_bomb_is_refused(
    client: TestClient, tokens: dict[str, str], tmp_path: Path, registry_root: Path
) -> None:
    import gzip
    import tarfile

    from test_install_safety import _header, _inflated_zeros

    size = 200 << 20
    bomb = gzip.compress(_header("././@Header", tarfile.XHDTYPE, size)) + _inflated_zeros(size)
    response = upload(client, bomb, tokens["publish"])
    assert_error(response, 422, "ArchiveError", "header")
    assert tree(registry_root) == []


def test_not_a_pack_is_refused(
    client: TestClient, tokens: dict[str, str], registry_root: Path
) -> None:
    response = upload(client, b"hello, not a pack", tokens["publish"])
    assert_error(response, 422, "ArchiveError")
    assert tree(registry_root) == []


def test_an_oversized_upload_is_413(
    make_client: Callable[..., TestClient], tokens: dict[str, str], tmp_path: Path
) -> None:
    client = make_client(max_body=4096)
    big = pack_files({**TINY, "noise.bin": os.urandom(20_000)})
    data = write_pack(tmp_path / "big.reef.tar.gz", big).read_bytes()
    assert len(data) > 4096
    assert_error(upload(client, data, tokens["publish"]), 413, "TooLarge")


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "..%2f..%2fserver%2freef-server.db",
        "%2E%2E",
        "a" * 63,
        "A" * 64,
        "z" * 64,
        "0" * 64,
    ],
)
def test_a_download_name_that_is_not_a_published_sha256_is_404(
    client: TestClient, tokens: dict[str, str], tiny: bytes, name: str
) -> None:
    upload(client, tiny, tokens["publish"])
    response = client.get(f"/api/v1/packs/{name}")
    assert response.status_code == 404, response.text
    assert set(response.json()) == {"error"}


def test_a_traversal_in_a_component_path_is_404(client: TestClient) -> None:
    for path in ("/api/v1/components/..%2F..%2Fetc", "/api/v1/components/..%2Fx/1.0.0"):
        response = client.get(path)
        assert response.status_code == 404, response.text
        assert set(response.json()) == {"error"}


def test_unknown_names_and_versions_are_404(
    client: TestClient, tokens: dict[str, str], tiny: bytes
) -> None:
    upload(client, tiny, tokens["publish"])
    assert_error(client.get("/api/v1/components/nothing"), 404, "NotPublished")
    error = assert_error(client.get("/api/v1/components/tiny/9.9.9"), 404, "NotPublished")
    assert error["hint"] is not None and "1.0.0" in error["hint"]


def test_yank_needs_publish_and_hides_the_version(
    client: TestClient, tokens: dict[str, str], tiny: bytes
) -> None:
    upload(client, tiny, tokens["publish"])
    path = "/api/v1/components/tiny/1.0.0/yank"
    assert_error(client.post(path), 401, "AuthError")
    assert_error(client.post(path, headers=bearer(tokens["read"])), 403, "Forbidden")
    response = client.post(path, headers=bearer(tokens["publish"]))
    assert response.status_code == 200 and response.json()["yanked"] is True
    assert client.get("/api/v1/components").json()["components"] == []
    listed = client.get("/api/v1/components", params={"yanked": "true"}).json()["components"]
    assert [h["yanked"] for h in listed] == [True]
    # Still there for the locks that pin it.
    assert client.get("/api/v1/components/tiny/1.0.0").json()["yanked"] is True
    sha = hashlib.sha256(tiny).hexdigest()
    assert client.get(f"/api/v1/packs/{sha}").content == tiny
    assert_error(
        client.post("/api/v1/components/tiny/2.0.0/yank", headers=bearer(tokens["publish"])),
        404,
        "NotPublished",
    )


def test_reads_need_a_token_where_anonymous_reads_are_off(
    make_client: Callable[..., TestClient], tokens: dict[str, str]
) -> None:
    client = make_client(anonymous_reads=False)
    assert_error(client.get("/api/v1/components"), 401, "AuthError")
    assert client.get("/api/v1/components", headers=bearer(tokens["read"])).status_code == 200


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/components",
        "/api/v1/components/{name}",
        "/api/v1/components/{name}/{version}",
        "/api/v1/components/{name}/{version}/yank",
        "/api/v1/packs/{sha256}",
    ):
        assert path in paths


def test_publish_and_yank_are_in_the_audit_log(
    client: TestClient, tokens: dict[str, str], tiny: bytes
) -> None:
    upload(client, tiny, tokens["publish"])
    upload(client, tiny, tokens["publish"])  # unchanged: not a write
    client.post("/api/v1/components/tiny/1.0.0/yank", headers=bearer(tokens["publish"]))
    log = client.get("/api/v1/audit", headers=bearer(tokens["admin"])).json()
    mine = [(e["action"], e["target"]) for e in log if e["action"].startswith("component.")]
    assert mine == [("component.yank", "tiny@1.0.0"), ("component.publish", "tiny@1.0.0")]


def test_the_list_comes_a_page_at_a_time(
    client: TestClient, registry_root: Path, tmp_path: Path
) -> None:
    """Pages of ``limit`` versions in the list's order (by name, newest first), each page's
    next_cursor leading to the next, none after the last; a cursor the server did not give
    is 422, and so is a limit out of range."""
    from types import SimpleNamespace

    from test_remote import publish

    from reef import api

    published = [("alpha", "1.0.0"), ("alpha", "2.0.0"), ("beta", "1.0.0"), ("gamma", "0.1.0")]
    for name, version in published:
        publish(SimpleNamespace(root=registry_root), tmp_path, name, version)  # type: ignore[arg-type]
    whole = client.get("/api/v1/components").json()
    order = [(h["name"], h["version"]) for h in whole["components"]]
    assert order == [("alpha", "2.0.0"), ("alpha", "1.0.0"), ("beta", "1.0.0"), ("gamma", "0.1.0")]
    assert whole["next_cursor"] is None
    walked, cursor, pages = [], None, 0
    while True:
        params: dict[str, object] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/components", params=params).json()
        walked += [(h["name"], h["version"]) for h in page["components"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (walked, pages) == (order, 2)
    # The page after a version yanked since: the versions older than it, then the next names.
    first = client.get("/api/v1/components", params={"limit": 1}).json()
    api.registry_yank("alpha", "2.0.0", root=registry_root)
    after = client.get(
        "/api/v1/components", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [(h["name"], h["version"]) for h in after["components"]] == order[1:3]
    assert_error(
        client.get("/api/v1/components", params={"cursor": "not-a-cursor"}),
        422,
        "CursorError",
        "cursor",
    )
    response = client.get("/api/v1/components", params={"limit": 0})
    assert response.status_code == 422
