"""Checksummed downloads into the cache, and fetching every source of a lock."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

import reef
from reef import config
from reef.components import repository
from reef.components.checksums import cached_path
from reef.components.content import content_sha256
from reef.components.fetch import FetchError, fetch, fetch_lock
from reef.errors import ChecksumError
from reef.meta.common import Source
from reef.meta.lock import Lock, LockedComponent

if TYPE_CHECKING:
    from conftest import HttpServer

DATA = b"reef model bytes " * 1000
DIGEST = hashlib.sha256(DATA).hexdigest()
FAST = {"backoff_s": 0.001, "timeout_s": 5.0}


def cache_files() -> list[str]:
    """Everything in the cache folder, hidden partial files included."""
    cache = config.cache_dir()
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_download_lands_in_the_cache_under_its_sha256(http_server: HttpServer) -> None:
    url = http_server.route("/m.onnx", DATA)
    path = fetch(url, DIGEST, **FAST)
    assert path == cached_path(DIGEST) == config.cache_dir() / DIGEST
    assert path.read_bytes() == DATA
    assert cache_files() == [DIGEST]
    (request,) = http_server.requests
    assert request.headers["User-Agent"] == f"reef/{reef.__version__}"


def test_second_fetch_makes_no_request(http_server: HttpServer) -> None:
    url = http_server.route("/m.onnx", DATA)
    first = fetch(url, DIGEST, **FAST)
    second = fetch(url, DIGEST, **FAST)
    assert first == second
    assert http_server.hits("/m.onnx") == 1


def test_wrong_sha256_raises_and_leaves_nothing(http_server: HttpServer) -> None:
    url = http_server.route("/m.onnx", DATA)
    declared = "0" * 64
    with pytest.raises(ChecksumError) as info:
        fetch(url, declared, **FAST)
    err = info.value
    assert (err.expected, err.actual) == (declared, DIGEST)
    assert declared in err.message and DIGEST in err.message and url in err.message
    assert err.hint is not None and "discarded" in err.hint
    assert cache_files() == []
    assert http_server.hits("/m.onnx") == 1  # a mismatch is never retried


def test_server_errors_are_retried(http_server: HttpServer) -> None:
    url = http_server.route("/m.onnx", 503, 503, DATA)
    assert fetch(url, DIGEST, **FAST).read_bytes() == DATA
    assert http_server.hits("/m.onnx") == 3


def test_not_found_fails_at_once(http_server: HttpServer) -> None:
    url = http_server.url("/missing.onnx")
    with pytest.raises(FetchError) as info:
        fetch(url, DIGEST, **FAST)
    assert url in info.value.message and "404" in info.value.message
    assert info.value.hint
    assert http_server.hits("/missing.onnx") == 1
    assert cache_files() == []


def test_truncated_body_is_retried(http_server: HttpServer) -> None:
    short = http_server.Reply(body=DATA[:100], length=len(DATA))
    url = http_server.route("/m.onnx", short, DATA)
    assert fetch(url, DIGEST, **FAST).read_bytes() == DATA
    assert http_server.hits("/m.onnx") == 2


def test_retries_exhausted(http_server: HttpServer) -> None:
    short = http_server.Reply(body=DATA[:100], length=len(DATA))
    url = http_server.route("/m.onnx", 500, 429, short)
    with pytest.raises(FetchError) as info:
        fetch(url, DIGEST, retries=2, **FAST)
    assert http_server.hits("/m.onnx") == 3
    assert "3 attempts" in info.value.message
    assert "truncated" in info.value.message  # the last reason
    assert info.value.exit_code == 3  # the network failed, not the input
    assert cache_files() == []


def test_connection_refused_is_retried_then_reported(http_server: HttpServer) -> None:
    url = http_server.url("/m.onnx")
    http_server.close()
    with pytest.raises(FetchError) as info:
        fetch(url, DIGEST, retries=1, **FAST)
    assert "2 attempts" in info.value.message and "cannot connect" in info.value.message
    assert cache_files() == []


def test_timeout_is_retried(http_server: HttpServer) -> None:
    slow = http_server.Reply(body=DATA, delay_s=1.0)
    url = http_server.route("/m.onnx", slow, DATA)
    assert fetch(url, DIGEST, backoff_s=0.001, timeout_s=0.1).read_bytes() == DATA
    assert http_server.hits("/m.onnx") == 2


def test_retry_after_is_honoured(http_server: HttpServer) -> None:
    busy = http_server.Reply(status=429, headers={"Retry-After": "0.3"})
    url = http_server.route("/m.onnx", busy, DATA)
    start = time.monotonic()
    fetch(url, DIGEST, **FAST)
    assert time.monotonic() - start >= 0.3
    assert http_server.hits("/m.onnx") == 2


def test_file_url(tmp_path: Path) -> None:
    source = tmp_path / "m.onnx"
    source.write_bytes(DATA)
    path = fetch(source.as_uri(), DIGEST)
    assert path.read_bytes() == DATA
    assert cache_files() == [DIGEST]


def test_missing_file_url_fails_once(tmp_path: Path) -> None:
    url = (tmp_path / "gone.onnx").as_uri()
    with pytest.raises(FetchError) as info:
        fetch(url, DIGEST)
    assert url in info.value.message
    assert cache_files() == []


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(FetchError) as info:
        fetch("ftp://example.com/m.onnx", DIGEST)
    assert "'ftp'" in info.value.message
    assert info.value.hint is not None and "https" in info.value.hint


def test_bad_sha256_is_refused() -> None:
    with pytest.raises(FetchError):
        fetch("https://example.com/m.onnx", "../../etc/passwd")


def test_corrupted_cache_file_is_replaced(http_server: HttpServer) -> None:
    url = http_server.route("/m.onnx", DATA)
    cached = cached_path(DIGEST)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"bit rot")
    assert fetch(url, DIGEST, **FAST).read_bytes() == DATA
    assert http_server.hits("/m.onnx") == 1
    assert cache_files() == [DIGEST]


def test_progress_reports_start_and_end_with_the_total(http_server: HttpServer) -> None:
    big = bytes(range(256)) * 12_000  # about 3 MiB: a few updates, not one per read
    url = http_server.route("/big.bin", big)
    calls: list[tuple[str, int, int | None]] = []
    fetch(
        url,
        hashlib.sha256(big).hexdigest(),
        progress=lambda *args: calls.append(args),
        **FAST,
    )
    assert calls[0] == ("big.bin", 0, len(big))
    assert calls[-1] == ("big.bin", len(big), len(big))
    assert 3 <= len(calls) <= 8
    done = [c[1] for c in calls]
    assert done == sorted(done)


def test_interrupted_download_leaves_nothing(http_server: HttpServer) -> None:
    url = http_server.route("/m.onnx", DATA)

    def interrupt(label: str, done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(url, DIGEST, progress=interrupt, **FAST)
    assert cache_files() == []


def _component(folder: Path, name: str, sources: list[dict[str, Any]]) -> Path:
    directory = folder / name
    directory.mkdir(parents=True)
    manifest = {
        "kind": "program",
        "name": name,
        "version": "1.0.0",
        "command": ["true"],
        "sources": sources,
    }
    (directory / "reef.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return directory


def _locked(repo: repository.Repository, directory: Path, sources: list[Source]) -> LockedComponent:
    return LockedComponent(
        kind="program",
        name=directory.name,
        version="1.0.0",
        repository=repo.name,
        repository_location=repo.location,
        path=f"{directory.name}/reef.yaml",
        sha256=content_sha256(directory),
        sources=sources,
    )


def test_fetch_lock_downloads_then_uses_the_cache(tmp_path: Path, http_server: HttpServer) -> None:
    url = http_server.route("/weights.bin", DATA)
    local = b"local labels\n"
    local_digest = hashlib.sha256(local).hexdigest()
    folder = tmp_path / "repo"
    remote = Source(url=url, sha256=DIGEST)
    beside = Source(path="labels.txt", sha256=local_digest)
    first = _component(folder, "alpha", [remote.model_dump(exclude_none=True)])
    second = _component(
        folder,
        "beta",
        [remote.model_dump(exclude_none=True), beside.model_dump(exclude_none=True)],
    )
    (second / "labels.txt").write_bytes(local)
    repo = repository.add(str(folder))
    lock = Lock(
        target="alpha",
        root="alpha",
        components=[_locked(repo, first, [remote]), _locked(repo, second, [remote, beside])],
    )

    fetched = fetch_lock(lock)
    # beta's copy of the url source is the same file: fetched once, listed once.
    assert [(f.component, f.status) for f in fetched] == [
        ("alpha@1.0.0", "downloaded"),
        ("beta@1.0.0", "local"),
    ]
    downloaded, labels = fetched
    assert (downloaded.location, downloaded.sha256, downloaded.size) == (url, DIGEST, len(DATA))
    assert downloaded.path == cached_path(DIGEST)
    assert labels.path == (second / "labels.txt").resolve()
    assert labels.size == len(local)
    assert labels.model_dump(mode="json")["status"] == "local"

    again = fetch_lock(lock)
    assert [f.status for f in again] == ["cached", "local"]
    assert http_server.hits("/weights.bin") == 1


def test_fetch_lock_names_the_component_on_failure(tmp_path: Path, http_server: HttpServer) -> None:
    url = http_server.url("/gone.bin")
    source = Source(url=url, sha256=DIGEST)
    directory = _component(tmp_path / "repo", "alpha", [source.model_dump(exclude_none=True)])
    repo = repository.add(str(tmp_path / "repo"))
    lock = Lock(target="alpha", root="alpha", components=[_locked(repo, directory, [source])])
    with pytest.raises(FetchError) as info:
        fetch_lock(lock)
    assert "alpha@1.0.0 sources[0]" in info.value.message and "404" in info.value.message
