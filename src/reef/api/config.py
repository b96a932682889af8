"""The settings verb: every setting's effective value and where it came from."""

from __future__ import annotations

from pydantic import BaseModel


class SettingValue(BaseModel):
    """One setting: its effective value and where that came from."""

    key: str
    value: str | int | None  # URLs that may carry a password are shown redacted
    source: str  # "environment REEF_DB_URL", "config file PATH" or "default"
    variable: str | None
    help: str


class ConfigReport(BaseModel):
    """What ``config_show`` reports: the config file, Reef's folders and every setting."""

    config_file: str
    config_file_exists: bool
    home: str
    cache: str
    settings: list[SettingValue]


def config_show() -> ConfigReport:
    """The config file in use, Reef's folders, and each setting with its source. A config file
    that cannot be used is a ``ConfigError`` naming the file and key."""
    from reef import config

    by_key = {s.key: s for s in config.SETTINGS}
    settings = []
    for v in config.values():
        setting = by_key[v.key]
        shown = v.value
        if setting.secret and isinstance(shown, str):
            shown = config.redact_url(shown)
        settings.append(
            SettingValue(
                key=v.key, value=shown, source=v.source, variable=setting.env, help=setting.help
            )
        )
    path = config.config_file()
    return ConfigReport(
        config_file=str(path),
        config_file_exists=path.is_file(),
        home=str(config.reef_home()),
        cache=str(config.cache_dir()),
        settings=settings,
    )
