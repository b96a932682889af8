"""Where Reef keeps its data, read from the environment each time it is asked."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "REEF_HOME"
DB_URL_ENV = "REEF_DB_URL"


def reef_home() -> Path:
    """``REEF_HOME`` if set, else the platform's user data directory."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("reef", appauthor=False))


def runs_dir() -> Path:
    return reef_home() / "runs"


def db_url() -> str:
    """``REEF_DB_URL`` if set, else SQLite at ``REEF_HOME/reef.db``."""
    explicit = os.environ.get(DB_URL_ENV)
    if explicit:
        return explicit
    return f"sqlite:///{reef_home() / 'reef.db'}"


def cache_dir() -> Path:
    """Fetched sources, one file per sha256."""
    return reef_home() / "cache"


def repos_file() -> Path:
    """The user's component repositories, in priority order."""
    return reef_home() / "repos.json"


def clones_dir() -> Path:
    """Where git repositories are cloned."""
    return reef_home() / "repos"


def index_dir() -> Path:
    return reef_home() / "index"


def installed_dir() -> Path:
    """The local repository that ``reef install`` unpacks packs into."""
    return reef_home() / "installed"
