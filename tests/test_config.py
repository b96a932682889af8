"""Settings: the environment wins over the config file, which wins over Reef's defaults; a
config file that cannot be used is one error naming the file and the key; where the data and
the cache go."""

from __future__ import annotations

from pathlib import Path

import pytest

from reef import config
from reef.errors import ConfigError


def _sources() -> dict[str, tuple[object, str]]:
    return {v.key: (v.value, v.source) for v in config.values()}


def test_defaults_without_a_config_file(reef_home: Path) -> None:
    values = _sources()
    assert values["db_url"] == (f"sqlite:///{reef_home / 'reef.db'}", "default")
    assert values["threads"] == (None, "default")
    assert config.default_threads() is None


def test_the_config_file_then_the_environment(
    reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = reef_home / "config.toml"
    path.write_text('db_url = "postgresql://reef@db/reef"\nthreads = 4\n')
    values = _sources()
    assert values["db_url"] == ("postgresql://reef@db/reef", f"config file {path}")
    assert values["threads"] == (4, f"config file {path}")
    assert config.db_url() == "postgresql://reef@db/reef"
    assert config.default_threads() == 4
    monkeypatch.setenv("REEF_THREADS", "2")
    monkeypatch.setenv("REEF_DB_URL", "sqlite:////tmp/other.db")
    values = _sources()
    assert values["threads"] == (2, "environment REEF_THREADS")
    assert config.db_url() == "sqlite:////tmp/other.db"


def test_reef_config_names_another_file(
    tmp_path: Path, reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "lab.toml"
    other.write_text("threads = 8\n")
    monkeypatch.setenv("REEF_CONFIG", str(other))
    assert config.config_file() == other
    assert _sources()["threads"] == (8, f"config file {other}")
    monkeypatch.setenv("REEF_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match=r"absent\.toml: file not found"):
        config.values()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("threads = [", "not valid TOML"),
        ("thread = 4\n", "unknown setting 'thread'"),
        ('threads = "four"\n', "threads: expected int, got str 'four'"),
        ("threads = true\n", "threads: expected int, got bool True"),
        ("db_url = 3\n", "db_url: expected str, got int 3"),
    ],
)
def test_a_config_file_that_cannot_be_used_names_file_and_key(
    reef_home: Path, text: str, message: str
) -> None:
    (reef_home / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        config.db_url()
    assert str(reef_home / "config.toml") in exc.value.message
    assert message in exc.value.message


def test_a_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REEF_THREADS", "many")
    with pytest.raises(ConfigError, match="REEF_THREADS: expected an integer, got 'many'"):
        config.default_threads()


def test_a_fifo_config_file_is_refused(reef_home: Path) -> None:
    import os

    os.mkfifo(reef_home / "config.toml")
    with pytest.raises(ConfigError, match="is a FIFO"):
        config.values()


def test_the_cache_folder(tmp_path: Path, reef_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.cache_dir() == reef_home / "cache"
    assert config.envs_dir() == reef_home / "cache" / "envs"
    monkeypatch.setenv("REEF_CACHE", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("REEF_CACHE")
    monkeypatch.delenv("REEF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert config.cache_dir() == tmp_path / "xdg-cache" / "reef"
    assert config.reef_home() == tmp_path / "xdg-data" / "reef"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://reef:s3cret@db:5432/reef", "postgresql://reef:***@db:5432/reef"),
        ("postgresql://reef@db/reef", "postgresql://reef@db/reef"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("https://:tok@host/x", "https://:***@host/x"),
        ("http://u:p@[::1]:5000/x", "http://u:***@[::1]:5000/x"),
        ("http://u:p@MLflow.Lab:5000", "http://u:***@MLflow.Lab:5000"),
        ("http://u:p%40ss@host/x", "http://u:***@host/x"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert config.redact_url(url) == shown
