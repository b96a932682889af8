"""reef env diff in-process (see ``cli_support``), against a stored run that carries this
machine's fingerprint: a fingerprint file with one more package shows it, grouped, as JSON and
as a table; bad input is exit 2. Two real runs on one machine compare identical in
``tests/e2e/test_e2e_env.py``."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import InProcessReef
from e2e_support import assert_usage_error
from stored_runs import A, compared_record, seed_home


@pytest.fixture(scope="module")
def fingerprint() -> dict[str, Any]:
    from reef.environment.fingerprint import collect

    return copy.deepcopy(collect())


@pytest.fixture(scope="module")
def fingerprinted_home(tmp_path_factory: pytest.TempPathFactory, fingerprint: Any) -> Path:
    record = compared_record(A, 0, 1.0).model_copy(update={"environment": fingerprint})
    return seed_home(tmp_path_factory.mktemp("fingerprinted") / "reef-home", [record])


@pytest.fixture
def stored(cli: InProcessReef, fingerprinted_home: Path) -> InProcessReef:
    shutil.copytree(fingerprinted_home, cli.home)
    return cli


def test_a_run_against_a_changed_fingerprint_file(
    stored: InProcessReef, fingerprint: dict[str, Any], tmp_path: Path
) -> None:
    changed = copy.deepcopy(fingerprint)
    changed["software"]["reef-test-marker"] = "1.0"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(changed))
    data = stored.ok("env", "diff", A, str(path), "--json").json()
    assert data["identical"] is False
    assert {"group": "software", "key": "reef-test-marker", "a": None, "b": "1.0"} in data[
        "differences"
    ]
    table = stored.ok("env", "diff", A, str(path)).stdout
    assert "reef-test-marker" in table


def test_bad_input(stored: InProcessReef, tmp_path: Path) -> None:
    assert_usage_error(stored("env", "diff", "zzzz", "yyyy"), "zzzz")
    not_fp = tmp_path / "x.json"
    not_fp.write_text("[]")
    assert_usage_error(stored("env", "diff", A, str(not_fp)), "not a fingerprint")


def test_config_show_says_where_each_setting_came_from(cli: InProcessReef) -> None:
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "config.toml").write_text('db_url = "postgresql://reef:s3cret@db/reef"\n')
    result = cli("config", "show", "--json", env={"REEF_THREADS": "3"})
    assert result.rc == 0, str(result)
    report = result.json()
    settings = {s["key"]: s for s in report["settings"]}
    assert settings["db_url"]["value"] == "postgresql://reef:***@db/reef"
    assert settings["db_url"]["source"] == f"config file {cli.home / 'config.toml'}"
    assert settings["threads"] == {
        "key": "threads",
        "value": 3,
        "source": "environment REEF_THREADS",
        "variable": "REEF_THREADS",
        "help": settings["threads"]["help"],
    }
    assert "s3cret" not in result.stdout + result.stderr
    table = cli.ok("config", "show")
    assert "config file" in table.stdout and "REEF_THREADS" in table.stdout


def test_a_bad_config_file_is_one_line_and_exit_2(cli: InProcessReef) -> None:
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "config.toml").write_text("thread = 4\n")
    for args in (["config", "show"], ["runs", "list"]):
        result = cli(*args)
        assert result.rc == 2, str(result)
        assert "Traceback" not in result.stderr
        assert result.says("config.toml", "unknown setting 'thread'", "db_url")
