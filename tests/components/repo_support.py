"""Writing small component folders and git repositories for the component tests."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import yaml


def write_component(folder: Path, kind: str, name: str, version: str, **fields: Any) -> Path:
    """A valid component of ``kind`` in ``folder``; returns its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"kind": kind, "name": name, "version": version}
    if kind == "program":
        data["command"] = ["echo", name]
    elif kind == "dataset":
        blob = folder / "data.npz"
        if not blob.exists():
            blob.write_bytes(f"{name} {version}".encode())
        sha = hashlib.sha256(blob.read_bytes()).hexdigest()
        data |= {"sources": [{"path": "data.npz", "sha256": sha}]}
        data |= {"features": "x", "samples": 1}
    data.update(fields)
    path = folder / "reef.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def git_repo(folder: Path) -> Path:
    """``folder`` made a git repository with everything in it committed."""
    git(folder, "init", "-q", "-b", "main")
    commit_all(folder, "first")
    return folder


def commit_all(folder: Path, message: str) -> None:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)
