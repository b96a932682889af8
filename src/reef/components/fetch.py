"""Downloading url sources into the cache, checked against their sha256.

A fetched file lives at ``REEF_HOME/cache/<sha256>`` and is only ever put there whole and
verified: it is written to a ``.partial-*`` file beside it, hashed while it is written, and
renamed onto its final name once the hash matches. Anything else (a failed, interrupted or
tampered download) leaves the cache as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict

import reef
from reef import config, owner
from reef.components.checksums import cached_path, sha256_file, verified_source
from reef.components.index import Entry, catalog
from reef.components.lockfile import locate
from reef.errors import (
    EXIT_ENVIRONMENT,
    ChecksumError,
    ComponentError,
    FileRefused,
    WriteFailed,
)
from reef.files import check_regular
from reef.files import reason as os_reason
from reef.meta.lock import Lock

ProgressCallback = Callable[[str, int, int | None], None]
"""Called as ``(label, bytes_done, total_bytes_or_None)``: at the start, about every MiB, and
at the end of a download."""

Status = Literal["downloaded", "cached", "local"]

SCHEMES = ("http", "https", "file")
PARTIAL = "partial"  # cache/.partial-<owner>-*: a download under way
_READ = 64 << 10
_PROGRESS_EVERY = 1 << 20
_RETRY_AFTER_CAP_S = 30.0
_SHA256 = re.compile(r"[0-9a-f]{64}")

RETRIES = 3
BACKOFF_S = 0.5
TIMEOUT_S = 60.0


class FetchError(ComponentError):
    """A source cannot be fetched because of what was asked: a bad URL or sha256, a scheme
    Reef does not fetch, a file or page that is not there (exit 2)."""


class NetworkError(FetchError):
    """The network failed the download, retries and all: Reef's environment, not the input
    (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class _Retryable(Exception):
    """One attempt failed in a way that another attempt may not."""

    def __init__(self, reason: str, delay_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_s = delay_s  # the server's Retry-After, if it gave one


class Fetched(BaseModel):
    """One source of a lock, on disk and verified."""

    model_config = ConfigDict(frozen=True)

    component: str  # name@version
    location: str  # the url or the manifest-relative path
    sha256: str
    status: Status
    size: int
    path: Path


def fetch(
    url: str,
    sha256: str,
    *,
    progress: ProgressCallback | None = None,
    retries: int = RETRIES,
    backoff_s: float = BACKOFF_S,
    timeout_s: float = TIMEOUT_S,
    label: str | None = None,
) -> Path:
    """Download ``url`` into the cache unless it is there already; returns the cached path.

    Up to ``retries`` more attempts follow a transient failure, waiting ``backoff_s * 2**n``
    (or the server's Retry-After). ``label`` names the download for ``progress``.
    """
    path, _ = _fetch(
        url,
        sha256,
        progress=progress,
        retries=retries,
        backoff_s=backoff_s,
        timeout_s=timeout_s,
        label=label,
    )
    return path


def _fetch(
    url: str,
    sha256: str,
    *,
    progress: ProgressCallback | None,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    label: str | None,
    headers: dict[str, str] | None = None,
) -> tuple[Path, bool]:
    """The cached path, and whether it had to be downloaded; ``headers`` go with the request
    to ``url`` only, never to where it redirects (a server repository's token)."""
    expected = sha256.lower()
    if not _SHA256.fullmatch(expected):
        # It names a file in the cache: anything else could point outside it.
        raise FetchError(
            f"{url}: {sha256!r} is not a sha256",
            hint="give the 64 hex digits of the file's sha256",
        )
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise FetchError(
            f"{url}: cannot fetch {scheme or 'scheme-less'!r} URLs",
            hint=f"use one of: {', '.join(SCHEMES)}; or download the file next to the manifest "
            "and give it as 'path'",
        )
    if scheme != "file" and not parts.netloc:
        raise FetchError(f"{url}: the URL has no host", hint="give a full URL, e.g. https://...")

    final = cached_path(expected)
    if final.is_file():
        if sha256_file(final) == expected:
            # Its modification time is its last use, which `reef cache clean --unused-for` reads.
            with contextlib.suppress(OSError):
                os.utime(final)
            return final, False
        # A corrupted cache entry is worth nothing: download it again.
        final.unlink(missing_ok=True)

    if scheme == "file":
        _check_local_file(url, Path(urllib.request.url2pathname(parts.path)))
    cache = config.cache_dir()
    name = label or _file_name(url)
    # file:// reads either work or do not; waiting would not change that.
    attempts = 1 if scheme == "file" else 1 + max(0, retries)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Downloads that a killed Reef left half-done.
        owner.sweep(cache, PARTIAL)
        fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=owner.staging_prefix(PARTIAL))
    except OSError as exc:
        raise WriteFailed(cache, os_reason(exc), hint="nothing was downloaded") from exc
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                actual = _download(
                    url, out, attempts, backoff_s, timeout_s, progress, name, headers
                )
        except OSError as exc:  # closing flushes the last bytes: the disk may fill there
            raise WriteFailed(tmp, os_reason(exc), hint="nothing was added to the cache") from exc
        if actual != expected:
            err = ChecksumError(url, expected, actual)
            err.hint = (
                "the download was discarded; if the file at the URL changed on purpose, "
                "update the manifest's sha256, otherwise report it to the component's authors"
            )
            raise err
        try:
            os.replace(tmp, final)
        except OSError as exc:
            raise WriteFailed(final, os_reason(exc), hint="nothing was added to the cache") from exc
    finally:
        # After os.replace this is a no-op; on any failure (Ctrl-C included) it drops the
        # partial file, so the cache never holds a file that was not verified.
        tmp.unlink(missing_ok=True)
    return final, True


def _check_local_file(url: str, path: Path) -> None:
    """A file:// URL must name a regular file: a FIFO would wait for a writer forever, a
    device never end. One that cannot be found is left to the download to report."""
    try:
        check_regular(path, "file the URL names")
    except FileRefused as exc:
        if not isinstance(exc.__cause__, OSError):
            raise FetchError(f"{url}: {exc.message}") from exc


def _download(
    url: str,
    out: IO[bytes],
    attempts: int,
    backoff_s: float,
    timeout_s: float,
    progress: ProgressCallback | None,
    label: str,
    headers: dict[str, str] | None = None,
) -> str:
    """Write the body of ``url`` to ``out``, retrying transient failures; returns its sha256."""
    last = ""
    for attempt in range(attempts):
        out.seek(0)
        out.truncate()
        try:
            return _attempt(url, out, timeout_s, progress, label, headers)
        except _Retryable as exc:
            last = exc.reason
            if attempt + 1 == attempts:
                break
            delay = backoff_s * 2**attempt if exc.delay_s is None else exc.delay_s
            time.sleep(delay)
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    raise NetworkError(
        f"{url}: download failed after {tries}: {last}",
        hint="check the network connection and the URL, then run again; "
        "nothing was written to the cache",
    )


def _attempt(
    url: str,
    out: IO[bytes],
    timeout_s: float,
    progress: ProgressCallback | None,
    label: str,
    headers: dict[str, str] | None = None,
) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": f"reef/{reef.__version__}"})
    for key, value in (headers or {}).items():
        # Not copied onto a redirect: a token is for the server it was given to.
        request.add_unredirected_header(key, value)
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        reason = f"HTTP {exc.code} {exc.reason}".rstrip()
        if exc.code == 429 or exc.code >= 500:
            raise _Retryable(reason, _retry_after(exc.headers.get("Retry-After"))) from exc
        raise FetchError(
            f"{url}: the server answered {reason}",
            hint="check the URL in the manifest; the file may have moved or need credentials",
        ) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError | IsADirectoryError | PermissionError):
            raise FetchError(f"{url}: cannot read the file: {exc.reason}") from exc
        raise _Retryable(f"cannot connect: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _Retryable(f"cannot connect: {exc or type(exc).__name__}") from exc

    with response:
        total = _content_length(response.headers.get("Content-Length"))
        digest = hashlib.sha256()
        done = 0
        reported = 0
        if progress:
            progress(label, 0, total)
        while True:
            try:
                chunk = response.read(_READ)
            except (OSError, http.client.HTTPException) as exc:
                reason = str(exc) or type(exc).__name__
                raise _Retryable(f"connection lost after {done} bytes: {reason}") from exc
            if not chunk:
                break
            digest.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise WriteFailed(
                    config.cache_dir(),
                    os_reason(exc),
                    hint="free some disk space, or point REEF_HOME somewhere with room",
                ) from exc
            done += len(chunk)
            if progress and done - reported >= _PROGRESS_EVERY:
                progress(label, done, total)
                reported = done
        if total is not None and done < total:
            raise _Retryable(f"body truncated: got {done} of {total} bytes")
        if progress:
            progress(label, done, total)
    return digest.hexdigest()


def _file_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or url


def _content_length(value: str | None) -> int | None:
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _retry_after(value: str | None) -> float | None:
    """A numeric Retry-After in seconds, capped; an HTTP date is not worth honouring."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, _RETRY_AFTER_CAP_S)


def fetch_lock(
    lock: Lock,
    *,
    progress: ProgressCallback | None = None,
    entries: list[Entry] | None = None,
) -> list[Fetched]:
    """Every source of every locked component, downloaded or verified; each sha256 once.
    A component from a server repository that is not fetched yet is first (its pack)."""
    from reef.components.remote import materialise_lock_components

    materialise_lock_components(lock.components)
    entries = catalog() if entries is None else entries
    done: dict[str, Fetched] = {}
    for locked in lock.components:
        entry = locate(locked, entries)
        ref = f"{locked.name}@{locked.version}"
        for i, source in enumerate(locked.sources):
            if source.sha256 in done or source.package is not None:
                # A package source arrives with its package: provisioning installs it.
                continue
            where = f"sources[{i}]"
            if source.url is not None:
                try:
                    path, downloaded = _fetch(
                        source.url,
                        source.sha256,
                        progress=progress,
                        retries=RETRIES,
                        backoff_s=BACKOFF_S,
                        timeout_s=TIMEOUT_S,
                        label=f"{ref} {_file_name(source.url)}",
                    )
                except FetchError as exc:
                    raise FetchError(f"{ref} {where}: {exc.message}", exc.hint) from exc
                status: Status = "downloaded" if downloaded else "cached"
            else:
                path = verified_source(source, entry.directory, str(entry.manifest_path), where)
                status = "local"
            done[source.sha256] = Fetched(
                component=ref,
                location=source.location,
                sha256=source.sha256,
                status=status,
                size=path.stat().st_size,
                path=path,
            )
    return list(done.values())
