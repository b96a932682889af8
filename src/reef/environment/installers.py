"""The tools that build an environment: uv when it is there, else ``venv`` and pip.

Both are driven the same way: one command creates the environment, one installs the
requirements into it. Neither may prompt (stdin is closed), neither runs with elevated
rights, and a failure carries the tool's own last words.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from reef.errors import EXIT_ENVIRONMENT, EnvError, ReefError
from reef.meta.choices import INSTALLER

InstallerName = Literal["uv", "pip"]
INSTALLER_CHOICES = INSTALLER.values
LineCallback = Callable[[str], None]

TAIL_LINES = 15

# Settings that would send an install somewhere other than the environment being built, or
# let the host's packages stand in for ones the environment lacks.
_LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "PIP_USER", "PIP_TARGET", "PIP_PREFIX", "PIP_ROOT")


class InstallerError(EnvError):
    """The installer could not do its part; the message ends with what it said. Its failures
    are the environment's (an index that cannot be reached, a requirement it cannot satisfy,
    a build that fails), exit 3."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, message: str, hint: str | None = None, output_tail: str = "") -> None:
        super().__init__(message, hint)
        self.output_tail = output_tail

    def to_json(self) -> dict[str, object]:
        return super().to_json() | {"output_tail": self.output_tail}


def find_uv() -> str | None:
    """uv on PATH, or beside this interpreter: ``pip install uv`` into Reef's own virtual
    environment puts it there, and that folder is not on PATH unless the venv is activated."""
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


@dataclass(frozen=True)
class Installer:
    name: InstallerName
    uv: str | None = None  # uv's executable when name is "uv"

    def create_argv(self, python: str, dest: Path) -> list[str]:
        if self.name == "uv":
            assert self.uv is not None
            # An explicit interpreter path: uv never goes looking for (or downloading) another.
            return [self.uv, "venv", "--python", python, str(dest)]
        return [python, "-m", "venv", str(dest)]

    def install_argv(
        self,
        env_python: Path,
        requirements: Sequence[str],
        find_links: Sequence[str] = (),
        no_index: bool = False,
        only_binary: bool = False,
    ) -> list[str]:
        if self.name == "uv":
            assert self.uv is not None
            argv = [self.uv, "pip", "install", "--python", str(env_python)]
        else:
            argv = [str(env_python), "-m", "pip", "install", "--no-input"]
            argv += ["--disable-pip-version-check"]
        for folder in find_links:
            argv += ["--find-links", folder]
        if no_index:
            argv.append("--no-index")
        if only_binary:
            # Wheels only: a source distribution's build backend would run its code.
            argv += ["--only-binary", ":all:"]
        # '--' ends the options: a requirement from a lock can never become one.
        return [*argv, "--", *requirements]


def choose(name: str) -> Installer:
    """The installer ``name`` asks for (in any case): ``auto`` takes uv when it is installed,
    else pip."""
    name = INSTALLER.parse(name, ReefError)
    uv = find_uv() if name in ("auto", "uv") else None
    if uv is not None:
        return Installer("uv", uv)
    if name == "uv":
        raise ReefError(
            "--installer uv: uv is not installed (not on PATH, nor beside this Python)",
            hint="pip install uv, or use --installer pip",
        )
    return Installer("pip")


def child_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}


def run(argv: list[str], what: str, *, on_line: LineCallback | None = None, cwd: Path) -> None:
    """Run one installer command to completion, relaying its output line by line; a failure
    raises InstallerError quoting the last lines it printed (stderr, or stdout if it said
    nothing there)."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise InstallerError(f"{what}: cannot run {argv[0]}: {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    err: list[str] = []
    reader = threading.Thread(target=_drain, args=(proc.stdout, out, on_line), daemon=True)
    reader.start()
    try:
        _drain(proc.stderr, err, on_line)
        code = proc.wait()
    except BaseException:
        # Interrupted: the half-done install is about to be thrown away; stop it first.
        proc.kill()
        proc.wait()
        raise
    finally:
        reader.join(timeout=5)
    if code != 0:
        said = [line for line in (err or out) if line.strip()]
        tail = "\n".join(said[-TAIL_LINES:])
        raise InstallerError(
            f"{what} failed (exit status {code}):\n{tail}"
            if tail
            else f"{what} failed (exit status {code}) without saying why",
            hint="check the requirements above (a name or version that does not exist, a "
            "platform with no wheel); --find-links DIR adds a folder of wheels",
            output_tail=tail,
        )


def _drain(stream: IO[str], lines: list[str], on_line: LineCallback | None) -> None:
    for line in stream:
        line = line.rstrip()
        lines.append(line)
        if on_line is not None and line.strip():
            on_line(line)
