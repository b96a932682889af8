"""The operating system: its name, distribution, kernel and C library."""

from __future__ import annotations

import platform
import sys
from typing import Any

from reef.environment.detect import detector


def _distribution() -> dict[str, str | None]:
    if sys.platform == "darwin":
        version = platform.mac_ver()[0]
        return {"id": "macos", "version": version, "name": f"macOS {version}".strip()}
    if sys.platform == "win32":
        release, version, *_ = platform.win32_ver()
        return {"id": "windows", "version": version, "name": f"Windows {release}".strip()}
    try:
        release_info = platform.freedesktop_os_release()
    except OSError:
        return {"id": None, "version": None, "name": None}
    return {
        "id": release_info.get("ID"),
        "version": release_info.get("VERSION_ID"),
        "name": release_info.get("PRETTY_NAME") or release_info.get("NAME"),
    }


@detector("system", group="os")
def system() -> dict[str, Any]:
    uname = platform.uname()
    libc_name, libc_version = platform.libc_ver()
    return {
        "name": uname.system,
        "kernel": uname.release,
        "kernel_build": uname.version,
        "distribution": _distribution(),
        "libc": {"name": libc_name, "version": libc_version} if libc_name else None,
        "volatile": {"hostname": uname.node},
    }
