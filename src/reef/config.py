"""Where Reef keeps its data, and the user's defaults, read afresh each time they are asked.

Each setting is taken from the first place that gives it: the environment (``REEF_DB_URL``),
then the config file (``$REEF_CONFIG``, else ``$REEF_HOME/config.toml``), then Reef's
default. A command-line option, where a command has one, wins over all three. ``reef config
show`` prints every setting with where its value came from.

With ``REEF_HOME`` set, everything lives under it (one folder to delete). Without it, data
goes to the platform's user data folder and what can be rebuilt (fetched sources, the step
cache, provisioned environments) to its user cache folder; ``REEF_CACHE`` moves the latter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOME_ENV = "REEF_HOME"
CACHE_ENV = "REEF_CACHE"
CONFIG_ENV = "REEF_CONFIG"
DB_URL_ENV = "REEF_DB_URL"
CONFIG_FILE = "config.toml"
# A config file is a few lines; anything this large was not written by a person.
CONFIG_MAX_BYTES = 1 << 20


def reef_home() -> Path:
    """``REEF_HOME`` if set, else the platform's user data directory."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("reef", appauthor=False))


def runs_dir() -> Path:
    return reef_home() / "runs"


def cache_dir() -> Path:
    """What can be rebuilt: fetched sources (one file per sha256), the step cache (``steps``)
    and provisioned environments (``envs``). ``REEF_CACHE``; else ``REEF_HOME/cache`` when
    ``REEF_HOME`` is set; else the platform's user cache directory."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(HOME_ENV):
        return reef_home() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("reef", appauthor=False))


def envs_dir() -> Path:
    """The virtual environments ``reef init`` builds, one per lock and interpreter."""
    return cache_dir() / "envs"


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


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting a user may give: its key in the config file, its environment variable,
    its type, and what it means."""

    key: str
    env: str | None
    kind: type
    help: str
    secret: bool = False  # a URL that may carry a password: shown redacted


SETTINGS = (
    Setting("db_url", DB_URL_ENV, str, "the results database (SQLAlchemy URL)", secret=True),
    Setting("threads", "REEF_THREADS", int, "intra-op threads when --threads is not given"),
    Setting("server_url", "REEF_SERVER_URL", str, "the Reef server to talk to", secret=True),
    Setting("token_file", "REEF_TOKEN_FILE", str, "a file holding the token for that server"),
    Setting(
        "server_db_url",
        "REEF_SERVER_DB_URL",
        str,
        "the database reef server keeps (SQLAlchemy URL); never the results database",
        secret=True,
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}


def config_file() -> Path:
    """``REEF_CONFIG`` if set, else ``REEF_HOME/config.toml`` (which need not exist)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return reef_home() / CONFIG_FILE


def _file_values() -> dict[str, Any]:
    """The config file's settings, checked; {} when there is no file. A file that cannot be
    read, is not TOML, holds an unknown key or a value of the wrong type is an error naming
    the file and the key: a typo must not silently fall back to a default."""
    from reef.errors import ConfigError
    from reef.files import read_regular

    path = config_file()
    if not path.exists() and not os.environ.get(CONFIG_ENV):
        return {}
    import tomllib

    from reef.errors import FileRefused

    try:
        text = read_regular(path, "config file", CONFIG_MAX_BYTES).decode("utf-8")
        data = tomllib.loads(text)
    except FileRefused as exc:
        raise ConfigError(f"{path}: {exc.reason}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for key, value in data.items():
        setting = _BY_KEY.get(key)
        if setting is None:
            known = ", ".join(_BY_KEY)
            raise ConfigError(f"{path}: unknown setting {key!r}", hint=f"settings: {known}")
        if not isinstance(value, setting.kind) or isinstance(value, bool):
            raise ConfigError(
                f"{path}: {key}: expected {setting.kind.__name__}, got {type(value).__name__} "
                f"{value!r}"
            )
    return data


@dataclass(frozen=True)
class Value:
    key: str
    value: Any  # None: not set anywhere
    source: str  # "environment REEF_DB_URL", "config file /x/config.toml", "default"


def _default(key: str) -> Any:
    if key == "db_url":
        return f"sqlite:///{reef_home() / 'reef.db'}"
    return None


def _convert(setting: Setting, text: str) -> Any:
    from reef.errors import ConfigError

    if setting.kind is int:
        try:
            return int(text)
        except ValueError as exc:
            raise ConfigError(f"{setting.env}: expected an integer, got {text!r}") from exc
    return text


def values() -> list[Value]:
    """Every setting's effective value and where it came from."""
    file_values: dict[str, Any] | None = None
    out = []
    for setting in SETTINGS:
        explicit = os.environ.get(setting.env) if setting.env else None
        if explicit:
            out.append(
                Value(setting.key, _convert(setting, explicit), f"environment {setting.env}")
            )
            continue
        if file_values is None:
            file_values = _file_values()
        if setting.key in file_values:
            out.append(Value(setting.key, file_values[setting.key], f"config file {config_file()}"))
            continue
        out.append(Value(setting.key, _default(setting.key), "default"))
    return out


def redact_url(url: str) -> str:
    """``url`` with the password of its user info replaced by ``***``: what every message and
    listing shows of a URL that may carry one."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    # The host as written (case, IPv6 brackets, port), not urlsplit's normalised hostname.
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def get(key: str) -> Any:
    """One setting's effective value (None when set nowhere and without a default)."""
    setting = _BY_KEY[key]
    explicit = os.environ.get(setting.env) if setting.env else None
    if explicit:
        return _convert(setting, explicit)
    file_values = _file_values()
    if key in file_values:
        return file_values[key]
    return _default(key)


def db_url() -> str:
    """``REEF_DB_URL``, else the config file's ``db_url``, else SQLite at ``REEF_HOME/reef.db``."""
    value: str = get("db_url")
    return value


def default_threads() -> int | None:
    value: int | None = get("threads")
    return value
