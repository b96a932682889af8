"""reef init's refusals in-process (see ``cli_support``): a Python that is not there and a
lock that is not there are exit 2 with nothing left behind; the rest of ``reef init`` runs as
real processes in ``tests/e2e/test_e2e_init.py``."""

from __future__ import annotations

from cli_support import InProcessReef
from e2e_support import Reef, assert_usage_error


def envs(reef: Reef) -> list[str]:
    """Everything under REEF_HOME/envs, temporary folders included."""
    folder = reef.home / "cache" / "envs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_an_unknown_python_is_exit_2(cli: InProcessReef) -> None:
    for python in ("3.99", str(cli.cwd / "no-such-python")):
        result = cli("init", "digits-classifier", "--python", python)
        assert_usage_error(result, "no such Python found", python)
    assert list(cli.cwd.iterdir()) == [] and envs(cli) == []
    data = cli("init", "digits-classifier", "--python", "3.99", "--json")
    assert data.rc == 2 and data.json()["error"] == "ProvisionError"


def test_a_lock_that_is_not_there(cli: InProcessReef) -> None:
    assert_usage_error(cli("init", "missing.lock"), "missing.lock", "not found")
    assert_usage_error(cli("init", "digits-classifier", "--installer", "conda"), "conda")
