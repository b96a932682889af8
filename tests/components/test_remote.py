"""A Reef server as a component repository (reef.components.remote), against a real HTTP
server on 127.0.0.1 answering the registry's routes from a registry folder: `repo add` of its
URL mirrors its manifests; search and resolve see its components; resolving or fetching one
downloads its pack by sha256 and checks it before use; a pack whose bytes or content differ
from what the server published is refused and nothing is used."""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from repo_support import write_component

from reef import api
from reef.components import registry, remote
from reef.components.lockfile import read_lock
from reef.components.lookup import search
from reef.components.repository import get
from reef.components.trust import trust_of
from reef.errors import EXIT_ENVIRONMENT, EXIT_USAGE, ChecksumError, ReefError


class FakeServer(ThreadingHTTPServer):
    """The registry's GET routes over ``root``; ``tamper`` changes a pack's bytes on the way,
    ``lie`` changes the content sha256 listed; every request's headers are kept."""

    root: Path
    tamper = False
    lie = False
    not_reef = False
    redirect_packs_to: str | None = None
    extra: list[dict[str, Any]]
    headers_seen: list[dict[str, str]]


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def do_GET(self) -> None:
        srv = self.server
        srv.headers_seen.append(dict(self.headers))
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if srv.not_reef or parts[:2] != ["api", "v1"]:
            self._send(404, b"<html>not here</html>", "text/html")
            return
        try:
            if parts[2:] == ["components"]:
                query = urllib.parse.parse_qs(url.query)
                page = api.registry_page(
                    root=srv.root,
                    yanked=query.get("yanked", ["false"])[0] == "true",
                    limit=int(query.get("limit", ["100"])[0]),
                    cursor=query.get("cursor", [None])[0],
                )
                hits = [e.model_dump(mode="json") for e in page.components]
                if srv.lie:
                    hits = [h | {"content_sha256": "0" * 64} for h in hits]
                if page.next_cursor is None:
                    hits += srv.extra
                self._json(200, {"components": hits, "next_cursor": page.next_cursor})
            elif parts[2] == "components" and len(parts) == 5:
                shown = registry.manifest(srv.root, parts[3], parts[4]).model_dump(mode="json")
                if srv.lie:
                    shown["content_sha256"] = "0" * 64
                self._json(200, shown)
            elif parts[2] == "packs" and len(parts) == 4 and srv.redirect_packs_to:
                self.send_response(302)
                self.send_header("Location", srv.redirect_packs_to + url.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts[2] == "packs" and len(parts) == 4:
                data = registry.open_pack(srv.root, parts[3]).read_bytes()
                if srv.tamper:
                    data = data[:-20] + bytes(20)
                self._send(200, data, "application/gzip")
            else:
                self._send(404, b"{}")
        except ReefError as exc:
            error = {"code": type(exc).__name__, "message": exc.message, "hint": exc.hint}
            self._json(404, {"error": error})


def start(root: Path) -> FakeServer:
    srv = FakeServer(("127.0.0.1", 0), Handler)
    srv.root = root
    srv.extra = []
    srv.headers_seen = []
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    return srv


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeServer]:
    srv = FakeServer(("127.0.0.1", 0), Handler)
    srv.root = tmp_path / "registry"
    srv.extra = []
    srv.headers_seen = []
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url_of(srv: FakeServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/"


def publish(
    srv: FakeServer, tmp_path: Path, name: str, version: str = "1.0.0", **fields: Any
) -> str:
    """Publish a program component packed from a folder of its own; its pack's sha256."""
    folder = tmp_path / "src" / f"{name}-{version}"
    write_component(folder, "program", name, version, **fields)
    (folder / "notes.txt").write_text(f"{name} {version}\n")
    lock = api.resolve(str(folder))
    from reef.components.pack import pack

    out = tmp_path / "packs" / f"{name}-{version}.reef.tar.gz"
    out.parent.mkdir(exist_ok=True)
    report = pack(lock, out)
    registry.publish(out, srv.root, "alice")
    return report.sha256


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_add_mirrors_the_manifests_only(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello", tags=["greeting"])
    info = api.repo_add(url_of(server))
    assert (info.name, info.kind, info.trusted, info.components) == (
        "127.0.0.1",
        "server",
        False,
        1,
    )
    assert info.location == url_of(server).rstrip("/")
    mirror = reef_home / "repos" / "127.0.0.1"
    assert sorted(os.listdir(mirror / "hello" / "1.0.0")) == ["reef.yaml"]  # no files yet
    hits = search("greet")
    assert [(h.name, h.repository) for h in hits] == [("hello", "127.0.0.1")]


def test_resolve_downloads_checks_and_locks_the_component(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server), name="lab-server")
    lock = api.resolve("hello")
    (locked,) = lock.components
    published = registry.manifest(server.root, "hello", "1.0.0")
    assert (locked.repository, locked.sha256) == ("lab-server", published.content_sha256)
    folder = reef_home / "repos" / "lab-server" / "hello" / "1.0.0"
    assert sorted(os.listdir(folder)) == [".reef-fetched", "notes.txt", "reef.yaml"]
    # The pack was fetched by its sha256, verified, and kept in the cache.
    assert (reef_home / "cache" / published.sha256).is_file()
    # Once fetched, it is not downloaded again.
    requests = len(server.headers_seen)
    api.resolve("hello")
    assert len(server.headers_seen) == requests


def test_fetch_of_a_lock_made_elsewhere(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server), name="srv")
    path = tmp_path / "reef.lock"
    from reef.components.lockfile import write_lock

    write_lock(api.resolve("hello"), path)
    # Another machine: a fresh REEF_HOME with the same server added.
    other = tmp_path / "other-home"
    monkeypatch.setenv("REEF_HOME", str(other))
    api.repo_add(url_of(server), name="srv")
    assert not (other / "repos" / "srv" / "hello" / "1.0.0" / "notes.txt").exists()
    api.fetch(str(path))
    assert (other / "repos" / "srv" / "hello" / "1.0.0" / "notes.txt").is_file()
    assert read_lock(path).components[0].repository == "srv"


def test_a_pack_whose_bytes_differ_is_refused(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    sha = publish(server, tmp_path, "hello")
    api.repo_add(url_of(server))
    server.tamper = True
    with pytest.raises(ChecksumError) as info:
        api.resolve("hello")
    assert info.value.exit_code == EXIT_USAGE
    assert "hello@1.0.0" in info.value.message and sha in info.value.message
    folder = reef_home / "repos" / "127.0.0.1" / "hello" / "1.0.0"
    assert sorted(os.listdir(folder)) == ["reef.yaml"]  # nothing of it was used
    assert not (reef_home / "cache" / sha).exists()
    assert [p for p in os.listdir(reef_home / "cache") if not p.startswith(".")] == []


def test_a_pack_whose_content_differs_from_the_published_is_refused(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello")
    server.lie = True
    api.repo_add(url_of(server))
    with pytest.raises(ChecksumError, match="0000000000"):
        api.resolve("hello")
    folder = reef_home / "repos" / "127.0.0.1" / "hello" / "1.0.0"
    assert sorted(os.listdir(folder)) == ["reef.yaml"]


def test_an_unreachable_server_is_a_network_error(reef_home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(ReefError) as info:
        api.repo_add(url)
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert type(info.value).__name__ == "NetworkError"
    assert url.rstrip("/") in info.value.message
    assert not (reef_home / "repos.json").exists()
    assert not (reef_home / "repos").exists() or os.listdir(reef_home / "repos") == []


def test_a_server_gone_when_a_component_is_needed(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server))
    server.shutdown()
    server.server_close()
    with pytest.raises(ReefError) as info:
        api.resolve("hello")
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert url_of(server).rstrip("/") in info.value.message


def test_an_address_that_is_not_a_reef_server(server: FakeServer, reef_home: Path) -> None:
    server.not_reef = True
    with pytest.raises(ReefError, match="not a Reef server") as info:
        api.repo_add(url_of(server))
    assert info.value.exit_code == EXIT_USAGE
    assert not (reef_home / "repos.json").exists()


def test_the_token_goes_with_every_request(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(server, tmp_path, "hello")
    monkeypatch.setenv("REEF_TOKEN", "reef_abc_secret")
    api.repo_add(url_of(server))
    api.resolve("hello")
    assert server.headers_seen
    assert all(h.get("Authorization") == "Bearer reef_abc_secret" for h in server.headers_seen)


def test_update_drops_yanked_versions_and_adds_new_ones(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server))
    publish(server, tmp_path, "hello", "1.1.0")
    registry.yank(server.root, "hello", "1.0.0")
    (info,) = api.repo_update("127.0.0.1")
    assert info.components == 1
    assert [h.version for h in search("hello")] == ["1.1.0"]
    assert not (reef_home / "repos" / "127.0.0.1" / "hello" / "1.0.0").exists()


def test_a_list_of_several_pages_is_mirrored_whole(
    server: FakeServer, tmp_path: Path, reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server lists its components a page at a time: the mirror follows every page."""
    monkeypatch.setattr(remote, "LIST_PAGE", 2)
    for name, version in (("alpha", "1.0.0"), ("alpha", "2.0.0"), ("beta", "1.0.0"),
                          ("gamma", "1.0.0"), ("gamma", "1.1.0")):  # fmt: skip
        publish(server, tmp_path, name, version)
    info = api.repo_add(url_of(server))
    assert info.components == 5  # three pages of two
    found = {(h.name, h.version) for name in ("alpha", "beta", "gamma") for h in search(name)}
    assert found == {
        ("alpha", "1.0.0"), ("alpha", "2.0.0"), ("beta", "1.0.0"),
        ("gamma", "1.0.0"), ("gamma", "1.1.0"),
    }  # fmt: skip


def test_a_listed_name_that_is_not_a_component_name_is_refused(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello")
    entry = registry.search(server.root)[0].model_dump(mode="json")
    server.extra = [entry | {"name": "../../escape"}]
    with pytest.raises(ReefError, match="cannot use"):
        api.repo_add(url_of(server))
    assert not (reef_home / "escape").exists()
    assert not (reef_home / "repos.json").exists()


def test_a_server_repository_is_untrusted_until_trusted(server: FakeServer, tmp_path: Path) -> None:
    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server))
    api.resolve("hello")
    manifest = get("127.0.0.1").root / "hello" / "1.0.0" / "reef.yaml"
    assert trust_of(manifest) == (False, "127.0.0.1")
    api.repo_trust("127.0.0.1")
    assert trust_of(manifest) == (True, "127.0.0.1")


def test_remove_deletes_the_mirror(server: FakeServer, tmp_path: Path, reef_home: Path) -> None:
    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server))
    api.repo_remove("127.0.0.1")
    assert not (reef_home / "repos" / "127.0.0.1").exists()
    assert search("hello") == []


def test_default_names_and_addresses() -> None:
    assert remote.default_name("https://reef.example.com:8443/") == "reef.example.com"
    assert remote.base_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert remote.is_http("https://h/") and not remote.is_http("file:///x")
    assert not remote.looks_like_server("https://example.com/zoo.git")


def test_a_model_with_its_own_dataset_folder(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    """The dataset folder inside a model's is part of the model: its manifest is mirrored
    with the model's, so that it is not taken for a requirement."""
    import hashlib

    import yaml

    folder = tmp_path / "src" / "seer"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not really onnx")
    write_component(folder / "data", "dataset", "seer-data", "1.0.0")
    manifest = {
        "kind": "model",
        "name": "seer",
        "version": "1.0.0",
        "framework": {"name": "onnxruntime", "version": ">=1.17"},
        "sources": [
            {"path": "model.onnx", "sha256": hashlib.sha256(b"not really onnx").hexdigest()}
        ],
        "inputs": [{"name": "x", "element_type": "float32", "shape": [-1, 4]}],
        "outputs": [{"name": "y", "type": "probability"}],
        "dataset": "data",
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    from reef.components.pack import pack

    out = tmp_path / "seer.reef.tar.gz"
    pack(api.resolve(str(folder)), out)
    assert registry.publish(out, server.root, "alice").requires == []
    api.repo_add(url_of(server))
    mirror = reef_home / "repos" / "127.0.0.1" / "seer" / "1.0.0"
    assert (mirror / "data" / "reef.yaml").is_file()
    (hit,) = [h for h in search("seer") if h.name == "seer"]
    assert hit.requires == ()
    (locked,) = api.resolve("seer").components
    assert (mirror / "data" / "data.npz").is_file()
    assert locked.sha256 == registry.manifest(server.root, "seer", "1.0.0").content_sha256


def test_a_dry_run_does_not_fetch(server: FakeServer, tmp_path: Path, reef_home: Path) -> None:
    """A command that promised to write nothing refuses to download what it would need."""
    from reef.components.index import scratch

    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server))
    requests = len(server.headers_seen)
    with scratch(), pytest.raises(ReefError, match="promised to write nothing") as info:
        api.resolve("hello")
    assert info.value.hint is not None and "reef fetch hello@1.0.0" in info.value.hint
    assert len(server.headers_seen) == requests
    folder = reef_home / "repos" / "127.0.0.1" / "hello" / "1.0.0"
    assert sorted(os.listdir(folder)) == ["reef.yaml"]
    api.fetch("hello")
    with scratch():
        assert api.resolve("hello").components[0].name == "hello"


def test_the_token_does_not_follow_a_redirect(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(server, tmp_path, "hello")
    elsewhere = start(server.root)
    try:
        server.redirect_packs_to = f"http://127.0.0.1:{elsewhere.server_address[1]}"
        monkeypatch.setenv("REEF_TOKEN", "reef_abc_secret")
        api.repo_add(url_of(server))
        api.resolve("hello")
        assert [h.get("Authorization") for h in elsewhere.headers_seen] == [None]
        assert server.headers_seen[-1].get("Authorization") == "Bearer reef_abc_secret"
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_a_manifest_that_is_not_the_listed_component_is_refused(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    publish(server, tmp_path, "hello")
    index = server.root / "index" / "hello.json"
    data = json.loads(index.read_text())
    entry = data["versions"]["1.0.0"]
    entry["manifest"] = entry["manifest"].replace("name: hello", "name: other")
    index.write_text(json.dumps(data))
    with pytest.raises(ReefError, match="not that component's"):
        api.repo_add(url_of(server))
    assert not (reef_home / "repos.json").exists()


def test_a_version_not_fetched_yet_is_compared_by_its_published_content(
    server: FakeServer, tmp_path: Path, reef_home: Path
) -> None:
    """The same version in a folder repository and on a server whose mirror holds only its
    manifest (not fetched yet): the mirror's copy is the content the server published, so
    identical copies raise no shadow warning, and a different one still does."""
    from reef.components.lookup import shadowing

    publish(server, tmp_path, "hello")
    api.repo_add(url_of(server), name="srv")
    api.repo_add(str(tmp_path / "src"), name="lab")
    assert not remote.fetched(get("srv"), "hello", "1.0.0")
    assert shadowing("program", "hello", "1.0.0") == []
    # Another content under the same version in the folder: a real shadow, either way round.
    (tmp_path / "src" / "hello-1.0.0" / "notes.txt").write_text("changed\n")
    api.repo_update("lab")
    (shadow,) = shadowing("program", "hello", "1.0.0")
    assert {shadow.used, shadow.hidden} == {"srv", "lab"}
    assert not remote.fetched(get("srv"), "hello", "1.0.0")  # nothing fetched to tell


def test_a_lock_made_elsewhere_benches_without_a_fetch_first(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model published to the server, locked on one machine, benched from the copied lock
    on another where the server is a repository but the model was never fetched: the locked
    content is fetched on the way (it was a LockMismatch: the mirror's manifest alone differs
    from what was locked). A lock whose content the server does not publish is still
    refused, naming what the server publishes, and nothing is downloaded."""
    import shutil

    import yaml

    from reef.components.lockfile import LockMismatch, write_lock
    from reef.components.pack import pack

    src = tmp_path / "src" / "digits-copy"
    shutil.copytree(Path(api.__file__).parents[1] / "builtin" / "digits-classifier", src)
    manifest = yaml.safe_load((src / "reef.yaml").read_text())
    (src / "reef.yaml").write_text(yaml.safe_dump(manifest | {"name": "digits-copy"}))
    pack(api.resolve(str(src)), tmp_path / "copy.reef.tar.gz")
    registry.publish(tmp_path / "copy.reef.tar.gz", server.root, "alice")
    api.repo_add(url_of(server), name="srv")
    path = tmp_path / "reef.lock"
    write_lock(api.resolve("digits-copy"), path)
    stale = tmp_path / "stale.lock"
    locked = read_lock(path)
    components = [
        c.model_copy(update={"sha256": "0" * 64}) if c.name == "digits-copy" else c
        for c in locked.components
    ]
    write_lock(locked.model_copy(update={"components": components}), stale)

    other = tmp_path / "other-home"
    monkeypatch.setenv("REEF_HOME", str(other))
    api.repo_add(url_of(server), name="srv")
    with pytest.raises(LockMismatch, match=r"expected content sha256 0{64}, found srv: "):
        api.bench(str(stale), scenarios=["SingleStream"], duration_s=0.2, mode="performance")
    assert not remote.fetched(get("srv"), "digits-copy", "1.0.0")
    (record,) = api.bench(str(path), scenarios=["SingleStream"], duration_s=0.2, mode="performance")
    assert record.target.name == "digits-copy" and record.status in ("valid", "invalid")
    assert remote.fetched(get("srv"), "digits-copy", "1.0.0")
