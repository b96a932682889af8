"""C/C++ and CUDA compilers on PATH: gcc, clang, nvcc, asked for their versions concurrently."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reef.environment.detect import detector

COMPILERS = ("gcc", "clang", "nvcc")
TIMEOUT_S = 5.0

_VERSION_WORD = re.compile(r"\bversion\s+v?(\d+(?:\.\d+)+)", re.IGNORECASE)
_NVCC = re.compile(r"\bV(\d+(?:\.\d+)+)")
_NUMBER = re.compile(r"(\d+\.\d+(?:\.\d+)*)")


def parse_version(name: str, text: str) -> str | None:
    """The version in a compiler's ``--version`` banner.

    ``gcc (Debian 12.2.0-14) 12.2.0``, ``Ubuntu clang version 14.0.0-1ubuntu1``, nvcc's
    ``Cuda compilation tools, release 12.2, V12.2.140``.
    """
    if name == "nvcc" and (m := _NVCC.search(text)):
        return m.group(1)
    if m := _VERSION_WORD.search(text):
        return m.group(1)
    first = text.strip().splitlines()[0] if text.strip() else ""
    numbers = _NUMBER.findall(first)
    return numbers[-1] if numbers else None


def _probe(name: str, path: str) -> tuple[str, dict[str, Any] | None, str | None]:
    """(name, facts, problem) for one compiler."""
    try:
        proc = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return name, None, f"{path} --version timed out after {TIMEOUT_S:g} s"
    except OSError as exc:
        return name, None, f"cannot run {path}: {exc.strerror or exc}"
    found = parse_version(name, proc.stdout or proc.stderr)
    if proc.returncode != 0 or found is None:
        return name, None, f"{path} --version gave no version (exit status {proc.returncode})"
    return name, {"version": found, "volatile": {"path": path}}, None


@detector("compilers", group="software")
def compilers() -> dict[str, Any]:
    on_path = {name: p for name in COMPILERS if (p := shutil.which(name)) is not None}
    facts: dict[str, Any] = {}
    volatile: dict[str, Any] = {}
    problems: list[str] = []
    if not on_path:
        return facts
    with ThreadPoolExecutor(max_workers=len(on_path)) as pool:
        results = list(pool.map(lambda item: _probe(*item), on_path.items()))
    for name, found, problem in results:
        if found is not None:
            volatile[name] = found.pop("volatile")
            facts[name] = found
        if problem is not None:
            problems.append(problem)
    return {**facts, "volatile": volatile, "problems": problems}
