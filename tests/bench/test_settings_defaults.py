"""Issue 14, item 6: the user's default threads (``REEF_THREADS``, else the config file's
``threads``) are what a bench uses when ``--threads`` is not given; an option, or a solution's
own settings, win over them; a default that cannot run is refused naming where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from reef.bench.settings import bench_settings
from reef.errors import ConfigError, SettingsError


@pytest.fixture(autouse=True)
def no_user_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REEF_THREADS", "REEF_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from reef.meta import settings

    monkeypatch.setattr(settings, "usable_cores", lambda: 2)


def config_file(reef_home: Path, text: str) -> Path:
    path = reef_home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_default_threads_are_left_to_the_predictor() -> None:
    assert [s.threads for s in bench_settings(["SingleStream", "Offline"])] == [None, None]


def test_reef_threads_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REEF_THREADS", "2")
    assert [s.threads for s in bench_settings(["SingleStream", "Offline"])] == [2, 2]
    assert bench_settings(None, threads=1)[0].threads == 1  # --threads wins


def test_the_config_file_is_the_default(reef_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file(reef_home, "threads = 3\n")
    assert bench_settings(None)[0].threads == 3
    monkeypatch.setenv("REEF_THREADS", "2")  # the environment wins over the file
    assert bench_settings(None)[0].threads == 2


def test_a_solutions_own_threads_win(reef_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A solution's bench settings are passed as options, so they win over the default."""
    monkeypatch.setenv("REEF_THREADS", "2")
    assert bench_settings(["Offline"], threads=1, duration_s=1.0)[0].threads == 1


def test_a_default_that_cannot_run_names_its_source(
    reef_home: Path, monkeypatch: pytest.MonkeyPatch, two_cores: None
) -> None:
    monkeypatch.setenv("REEF_THREADS", "0")
    with pytest.raises(SettingsError, match=r"threads \(from environment REEF_THREADS\)"):
        bench_settings(None)
    monkeypatch.delenv("REEF_THREADS")
    path = config_file(reef_home, "threads = 100000\n")
    with pytest.raises(SettingsError) as caught:
        bench_settings(None)
    assert caught.value.message.startswith(f"threads (from config file {path}) 100000: at most 8")
    monkeypatch.setenv("REEF_THREADS", "many")
    with pytest.raises(ConfigError, match="REEF_THREADS: expected an integer, got 'many'"):
        bench_settings(None)
