"""The few git operations a repository needs, run with the user's git and no prompts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from reef.errors import EXIT_ENVIRONMENT, EXIT_USAGE, ComponentError

GIT_TIMEOUT_S = 300

# Never ask for credentials, and never let a URL run a helper program (``ext::``).
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
_CONFIG = ["-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null"]


class GitError(ComponentError):
    """git failed: not installed, too slow, or it could not clone or pull (a network, an
    authentication, a repository that is not there). Reef's environment failed (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class NotAGitUrl(GitError):
    """What was given cannot be a repository URL (exit 2)."""

    exit_code = EXIT_USAGE


def looks_like_git_url(location: str) -> bool:
    """A URL git understands: ``scheme://...``, scp-like ``user@host:path``, or ``*.git``."""
    if "://" in location:
        return True
    head, sep, _ = location.partition(":")
    return bool(sep) and "@" in head and "/" not in head


def _git(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("git")
    if exe is None:
        raise GitError(
            "git is not installed", hint="install git, or add the repository as a folder"
        )
    try:
        return subprocess.run(
            [exe, *_CONFIG, *args],
            cwd=cwd,
            env={**os.environ, **_ENV},
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s") from exc


def _failed(action: str, proc: subprocess.CompletedProcess[str]) -> GitError:
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    # git's own diagnosis is the "fatal:" line; what follows it is often generic advice.
    fatal = [line for line in lines if line.startswith("fatal:")]
    detail = fatal[0] if fatal else (lines[-1] if lines else f"git exited {proc.returncode}")
    return GitError(f"{action}: {detail}")


def clone(url: str, dest: Path) -> None:
    """Clone ``url`` into ``dest``, which must not exist; on failure nothing is left there."""
    if url.startswith("-"):
        raise NotAGitUrl(f"{url!r} is not a repository URL")
    proc = _git(["clone", "--quiet", "--", url, str(dest)])
    if proc.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise _failed(f"cannot clone {url}", proc)


def pull(path: Path) -> None:
    """Bring a clone up to date with its remote (fast-forward only)."""
    proc = _git(["pull", "--quiet", "--ff-only"], cwd=path)
    if proc.returncode != 0:
        raise _failed(f"cannot update {path}", proc)


def head(path: Path) -> str | None:
    """The commit checked out in ``path``, read from git's files (no subprocess)."""
    git_dir = path / ".git"
    try:
        ref = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None
    if not ref.startswith("ref: "):
        return ref
    name = ref.removeprefix("ref: ")
    try:
        return (git_dir / name).read_text().strip()
    except OSError:
        pass
    try:
        for line in (git_dir / "packed-refs").read_text().splitlines():
            sha, _, refname = line.partition(" ")
            if refname == name:
                return sha
    except OSError:
        pass
    return None
