"""A Reef server as a component repository: its REST API, read with the standard library.

``reef repo add https://HOST:PORT/`` registers a server as a repository of kind ``server``.
Its catalogue is mirrored in ``REEF_HOME/repos/<name>/`` (where git clones go) by ``reef repo
add`` and ``reef repo update``: one folder per published version that is not yanked, holding
the version's ``reef.yaml`` as published. The index, search and resolution read that folder
as any other repository's; a published version never changes, so only versions not mirrored
yet are asked for.

The component's files arrive when it is first used: resolving or fetching a component of a
server repository downloads its pack by sha256 (into the cache, hashed as it is written, and
refused unless the hash matches), checks the pack exactly as ``reef install`` does, and puts
the component's folder in place of the manifest alone, only if its content sha256 is the one
the server published. A ``.reef-fetched`` file in the folder (hidden: not content) records it.

Every request carries ``Authorization: Bearer $REEF_TOKEN`` when ``REEF_TOKEN`` is set. A
server that cannot be reached is a ``NetworkError`` (exit 3) naming its URL; an error the
server answers is raised with the server's message (``RemoteError``, exit 2, or exit 3 for
a 5xx).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import reef
from reef import config, owner
from reef.components.repository import Repository, mark_changed
from reef.errors import EXIT_ENVIRONMENT, ChecksumError, ComponentError, WriteFailed
from reef.files import reason, write_atomic
from reef.locking import file_lock

API = "/api/v1"
TOKEN_ENV = "REEF_TOKEN"
STATE = ".reef-server.json"  # in the mirror: what the last sync saw
FETCHED = ".reef-fetched"  # in a version's folder: the content sha256 of the fetched files
STAGING = "server"  # .server-<owner>-*: a sync or a fetch under way
TIMEOUT_S = 30.0
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,99}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_JSON = 64 << 20


class RemoteError(ComponentError):
    """A Reef server refused a request, or answered something that is not its API.
    ``status`` is the HTTP status it answered (None: not an HTTP error), ``code`` the code of
    the server's own error (``AuthError``, ``VersionConflict``, ...) where it gave one."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"status": self.status, "code": self.code}


def _network_error(message: str, hint: str) -> ComponentError:
    from reef.components.fetch import NetworkError

    return NetworkError(message, hint=hint)


def base_url(location: str) -> str:
    """The server's address without a trailing slash: ``http://host:port`` or with a path."""
    return location.rstrip("/")


def is_http(location: str) -> bool:
    parts = urllib.parse.urlsplit(location)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def default_name(location: str) -> str:
    """A repository name for a server: its host name (``reef.example.com``, ``127.0.0.1``)."""
    return urllib.parse.urlsplit(location).hostname or "server"


def auth(token: str | None = None) -> dict[str, str]:
    """The Authorization header of the token given, else of ``REEF_TOKEN``'s (none without)."""
    token = token or os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _server_error(base: str, exc: urllib.error.HTTPError) -> ComponentError:
    """The server's own error (``{"error": {"code", "message", "hint"}}``), as a ReefError."""
    try:
        body = json.loads(exc.read(1 << 20) or b"{}")
    except (ValueError, OSError):
        body = {}
    finally:
        exc.close()
    error = body.get("error") if isinstance(body, dict) else None
    code = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = str(error.get("code") or "error")
        message = f"{base}: the server refused it ({exc.code} {code}): {error['message']}"
        hint = error.get("hint") if isinstance(error.get("hint"), str) else None
    else:
        message = f"{base}: the server answered HTTP {exc.code} {exc.reason}".rstrip()
        hint = "check the URL: is it a Reef server?"
    if exc.code == 401 and hint is None:
        hint = f"set {TOKEN_ENV} to a token the server issued (`reef token`)"
    err = RemoteError(message, hint=hint, status=exc.code, code=code)
    if exc.code >= 500:
        err.exit_code = EXIT_ENVIRONMENT
    return err


def request(
    base: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    content_type: str | None = None,
    timeout_s: float = TIMEOUT_S,
    token: str | None = None,
) -> Any:
    """One API call (``path`` under ``/api/v1``); its JSON answer."""
    url = base_url(base) + API + path
    hdrs = {"User-Agent": f"reef/{reef.__version__}", "Accept": "application/json"}
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    for key, value in auth(token).items():
        # Not copied onto a redirect: the token is for this server only.
        req.add_unredirected_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as response:
            raw = response.read(_MAX_JSON + 1)
    except urllib.error.HTTPError as exc:
        raise _server_error(base_url(base), exc) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _network_error(
            f"{base_url(base)}: cannot reach the Reef server: {why or type(exc).__name__}",
            hint="check the URL and that the server is running, then run again",
        ) from exc
    if len(raw) > _MAX_JSON:
        raise RemoteError(f"{url}: the answer is larger than any the Reef API gives")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise RemoteError(
            f"{url}: the answer is not JSON: not a Reef server",
            hint="give the address of a Reef server (`reef server`), e.g. https://host:8000/",
        ) from exc


def probe(location: str) -> bool:
    """Whether ``location`` is a Reef server: its components endpoint answers as one. A
    server that cannot be reached at all is a ``NetworkError``."""
    try:
        answer = request(location, "GET", "/components?yanked=false&limit=1", timeout_s=10)
    except RemoteError as exc:
        # 401 or 403: it is an API, and wants a token (said when it is used).
        return exc.status in (401, 403)
    return isinstance(answer, dict) and isinstance(answer.get("components"), list)


def looks_like_server(location: str) -> bool:
    """Whether ``reef repo add`` should take ``location`` as a Reef server. An http(s) URL
    with no path (``https://host:port/``) can only be one: it is refused if its API does not
    answer, and is a ``NetworkError`` if it cannot be reached. Another http(s) URL is a
    server if its API answers, else left to git."""
    if not is_http(location) or location.rstrip("/").endswith(".git"):
        return False
    if urllib.parse.urlsplit(location).path in ("", "/"):
        if not probe(location):
            raise RemoteError(
                f"{base_url(location)}: not a Reef server (its {API}/components does not "
                "answer as Reef's API)",
                hint="give the address `reef server` listens on, e.g. http://127.0.0.1:8000/",
            )
        return True
    from reef.components.fetch import NetworkError

    try:
        return probe(location)
    except NetworkError:
        return False  # git says why it cannot clone it


# -- the catalogue ---------------------------------------------------------------------------


def _check_entry(base: str, data: Any) -> dict[str, Any]:
    """An entry the server listed, with the fields used here checked: a name, a version or a
    sha256 from the network never becomes a path unless it could be one Reef made."""
    if not isinstance(data, dict):
        raise RemoteError(f"{base}: the server listed something that is not a component")
    name, version = data.get("name"), data.get("version")
    ok = (
        isinstance(name, str)
        and _NAME.match(name)
        and isinstance(version, str)
        and _VERSION.match(version)
        and isinstance(data.get("sha256"), str)
        and _SHA256.match(data["sha256"])
        and isinstance(data.get("content_sha256"), str)
        and _SHA256.match(data["content_sha256"])
    )
    if not ok:
        shown = json.dumps(data)[:200]
        raise RemoteError(f"{base}: the server listed a component Reef cannot use: {shown}")
    return data


def _state(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _lock(repo: Repository) -> contextlib.AbstractContextManager[None]:
    """Held while the mirror of ``repo`` changes (a sync, a component put in place)."""
    return file_lock(
        config.index_dir() / f"server-{repo.name}.lock", hint="the repository is unchanged"
    )


# Versions asked for a page when the whole list is read; the pages a list may take, at most.
LIST_PAGE = 1000
MAX_LIST_PAGES = 10_000


def listing(base: str) -> list[Any]:
    """Every version the server publishes, yanked ones included, its pages followed."""
    entries: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_LIST_PAGES):
        query = f"/components?yanked=true&limit={LIST_PAGE}"
        if cursor:
            query += "&cursor=" + urllib.parse.quote(cursor, safe="")
        answer = request(base, "GET", query)
        if not isinstance(answer, dict) or not isinstance(answer.get("components"), list):
            raise RemoteError(f"{base}: the server's component list is not one Reef can read")
        entries.extend(answer["components"])
        cursor = answer.get("next_cursor")
        if not cursor:
            return entries
        if not isinstance(cursor, str) or cursor in seen:
            raise RemoteError(f"{base}: the server's component list pages go round in a circle")
        seen.add(cursor)
    raise RemoteError(f"{base}: the server's component list has more than {MAX_LIST_PAGES} pages")


def sync(repo: Repository, root: Path | None = None) -> int:
    """Bring the mirror of ``repo`` (in ``root``, default its own folder) up to date with the
    server: a folder with the manifest for every published version not yanked, none for
    others. Returns how many manifests were downloaded."""
    root = repo.root if root is None else root
    base = repo.location
    listed = [_check_entry(base, e) for e in listing(base)]
    with _lock(repo):
        state = _state(root)
        known: dict[str, Any] = state.get("versions", {}) if isinstance(state, dict) else {}
        wanted = {(e["name"], e["version"]): e for e in listed if not e.get("yanked")}
        downloaded = 0
        try:
            root.mkdir(parents=True, exist_ok=True)
            for (name, version), entry in sorted(wanted.items()):
                folder = root / name / version
                before = known.get(f"{name}@{version}", {})
                if (folder / "reef.yaml").is_file() and before.get("content_sha256") == entry[
                    "content_sha256"
                ]:
                    continue
                _write_stub(repo, root, name, version)
                downloaded += 1
            for name_dir in sorted(os.listdir(root)):
                if name_dir.startswith(".") or not (root / name_dir).is_dir():
                    continue
                for version_dir in sorted(os.listdir(root / name_dir)):
                    if (name_dir, version_dir) not in wanted:
                        # Yanked, or no longer listed: no longer offered.
                        shutil.rmtree(root / name_dir / version_dir, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (root / name_dir).rmdir()  # only when it became empty
            versions = {
                f"{e['name']}@{e['version']}": {
                    k: e.get(k) for k in ("kind", "sha256", "content_sha256", "yanked")
                }
                for e in listed
            }
            state = {"format_version": 1, "url": base, "versions": versions}
            write_atomic(root / STATE, (json.dumps(state, indent=2) + "\n").encode())
            if root == repo.root:
                mark_changed(repo)
            else:
                write_atomic(root / ".reef-generation", os.urandom(16).hex().encode())
        except OSError as exc:
            raise WriteFailed(root, reason(exc), hint="run `reef repo update` again") from exc
    return downloaded


def _write_stub(repo: Repository, root: Path, name: str, version: str) -> None:
    """The version's folder, holding only its published manifest."""
    data = request(repo.location, "GET", f"/components/{name}/{version}")
    text = data.get("manifest") if isinstance(data, dict) else None
    if not isinstance(text, str):
        raise RemoteError(f"{repo.location}: no manifest for {name}@{version}")
    from reef.errors import ManifestError
    from reef.meta.load import parse_yaml

    try:
        parsed = parse_yaml(text, f"{name}@{version}/reef.yaml")
    except ManifestError as exc:
        raise RemoteError(f"{repo.location}: {exc.message}") from exc
    declared = (parsed.get("name"), str(parsed.get("version"))) if isinstance(parsed, dict) else ()
    if declared != (name, version):
        raise RemoteError(
            f"{repo.location}: the manifest it gives for {name}@{version} is not that component's",
            hint="report it to the server's owner",
        )
    texts = {"reef.yaml": text}
    nested = data.get("manifests")
    if isinstance(nested, dict):
        # Those of a model's own dataset folder, so that it is read as the model's part.
        texts |= {rel: t for rel, t in nested.items() if _manifest_path(rel) and isinstance(t, str)}
    folder = root / name / version
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=owner.staging_prefix(STAGING)))
    try:
        for rel, body in sorted(texts.items()):
            target = staging.joinpath(*rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        _replace(folder, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _manifest_path(rel: Any) -> bool:
    """Whether ``rel``, a path the server sent, is a ``reef.yaml`` safely inside a folder."""
    from reef.components.archive import check_name

    if not isinstance(rel, str) or check_name(rel) is not None:
        return False
    parts = rel.split("/")
    return parts[-1] == "reef.yaml" and not any(p.startswith(".") for p in parts)


def _replace(folder: Path, new: Path) -> None:
    """Put ``new`` where ``folder`` is, the old one renamed aside first and then removed."""
    aside = None
    if os.path.lexists(folder):
        aside = new.parent / f"{new.name}-old"
        os.rename(folder, aside)
    try:
        os.rename(new, folder)
    except BaseException:
        if aside is not None and not os.path.lexists(folder):
            os.rename(aside, folder)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


# -- fetching a component ---------------------------------------------------------------------


def published_content(root: Path, name: str, version: str) -> str | None:
    """For a version in a server's mirror at ``root`` whose files are not fetched yet (its
    folder holds the manifest alone): the content sha256 the server published for it, as the
    last sync saw it. None for anything else (not a mirror, or fetched: hash its files)."""
    if not (root / STATE).is_file() or (root / name / version / FETCHED).is_file():
        return None
    known = _state(root).get("versions", {}).get(f"{name}@{version}")
    sha = known.get("content_sha256") if isinstance(known, dict) else None
    return sha if isinstance(sha, str) and _SHA256.match(sha) else None


def fetched(repo: Repository, name: str, version: str) -> bool:
    """Whether the component's files are in the mirror (not its manifest alone)."""
    try:
        marker = (repo.root / name / version / FETCHED).read_text().strip()
    except OSError:
        return False
    return bool(_SHA256.match(marker))


def _published(repo: Repository, name: str, version: str) -> dict[str, Any]:
    """The entry the last sync saw, else the server's (a yanked version's included)."""
    known = _state(repo.root).get("versions", {}).get(f"{name}@{version}")
    if isinstance(known, dict) and known.get("sha256") and known.get("content_sha256"):
        return {"name": name, "version": version, **known}
    return _check_entry(
        repo.location, request(repo.location, "GET", f"/components/{name}/{version}")
    )


def materialise(repo: Repository, name: str, version: str) -> Path:
    """The folder of ``name@version`` of the server repository ``repo``, with its files:
    downloaded (the pack by its sha256, checked as ``reef install`` checks one) unless they
    are there already. Returns the folder."""
    if not (_NAME.match(name) and _VERSION.match(version)):
        raise RemoteError(f"{name}@{version}: not a component Reef can fetch")
    folder = repo.root / name / version
    if fetched(repo, name, version):
        return folder
    from reef.components.index import in_scratch

    if in_scratch():
        raise RemoteError(
            f"{name}@{version} from {repo.location} is not on this machine yet, and this "
            "command promised to write nothing",
            hint=f"fetch it first: reef fetch {name}@{version}",
        )
    entry = _published(repo, name, version)
    sha256, content = entry["sha256"], entry["content_sha256"]
    from reef.components.checksums import cached_path
    from reef.components.fetch import FetchError, _fetch
    from reef.components.pack import PackError, unpack

    url = f"{base_url(repo.location)}{API}/packs/{sha256}"
    try:
        pack, _ = _fetch(
            url,
            sha256,
            progress=None,
            retries=2,
            backoff_s=0.5,
            timeout_s=60.0,
            label=f"{name}@{version}",
            headers=auth(),
        )
    except ChecksumError as exc:
        exc.message = (
            f"{name}@{version} from {repo.location}: the pack downloaded has sha256 "
            f"{exc.actual}, not the {exc.expected} the server published"
        )
        exc.hint = "it was discarded and nothing was installed; report it to the server's owner"
        exc.args = (exc.message,)
        raise
    except FetchError as exc:
        exc.message = f"{name}@{version} from {repo.location}: {exc.message}"
        exc.args = (exc.message,)
        raise
    try:
        repo.root.mkdir(parents=True, exist_ok=True)
        owner.sweep(repo.root, STAGING)
        staging = Path(tempfile.mkdtemp(dir=repo.root, prefix=owner.staging_prefix(STAGING)))
    except OSError as exc:
        raise WriteFailed(repo.root, reason(exc), hint="nothing was fetched") from exc
    try:
        lock = unpack(pack, staging)
        locked = next((c for c in lock.components if (c.name, c.version) == (name, version)), None)
        if locked is None:
            raise PackError(
                f"{name}@{version} from {repo.location}: its pack ({sha256}) does not hold it"
            )
        if locked.sha256 != content:
            raise ChecksumError(f"{name}@{version} from {repo.location}", content, locked.sha256)
        new = staging / "components" / name / version
        (new / FETCHED).write_text(content + "\n")
        sources = staging / "sources"
        with _lock(repo):
            if sources.is_dir():
                for digest in sorted(os.listdir(sources)):
                    dest = cached_path(digest)
                    if not dest.is_file():
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(sources / digest, dest)
            folder.parent.mkdir(parents=True, exist_ok=True)
            mark_changed(repo)
            _replace(folder, new)
            mark_changed(repo)
    except OSError as exc:
        raise WriteFailed(folder, reason(exc), hint="nothing was fetched") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def materialise_lock_components(components: list[Any]) -> int:
    """Fetch every component of a lock (``LockedComponent``s) that comes from a server
    repository registered here and is not fetched yet; returns how many were fetched."""
    from reef.components.repository import repositories

    servers = {r.name: r for r in repositories() if r.kind == "server"}
    done = 0
    for locked in components:
        repo = servers.get(locked.repository)
        if repo is None or fetched(repo, locked.name, locked.version):
            continue
        materialise(repo, locked.name, locked.version)
        done += 1
    return done
