"""``reef pareto``'s bad input in-process (see ``cli_support``): exit 2 and a message saying
what is wrong, with ``--json`` a JSON error. The tables and the JSON report run as real
processes in ``tests/e2e/test_e2e_pareto.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error
from stored_runs import pareto_runs, seed_home


@pytest.fixture(scope="module")
def pareto_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("pareto") / "reef-home", pareto_runs())


@pytest.fixture
def seeded(cli: InProcessReef, pareto_home: Path) -> InProcessReef:
    shutil.copytree(pareto_home, cli.home)
    return cli


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-o", "latency_p90:min"], ["give 2 or 3 objectives"]),
        (["-o", "speed:min", "-o", "accuracy:max"], ["unknown metric 'speed'", "latency_p90"]),
        (["-o", "latency_p90:min", "-o", "accuracy:up"], ["unknown direction"]),
        (
            ["-o", "latency_p90:min", "-o", "accuracy:max", "--backend", "tensorrt"],
            ["no runs match", "--backend tensorrt"],
        ),
        (["-o", "latency_p90:min", "-o", "accuracy:max", "--status", "nope"], ["--status"]),
    ],
)
def test_pareto_bad_input_exits_2(
    seeded: InProcessReef, args: list[str], fragments: list[str]
) -> None:
    assert_usage_error(seeded("pareto", *args), *fragments)


def test_pareto_metric_the_runs_lack_lists_theirs_in_json(seeded: InProcessReef) -> None:
    result = seeded(
        "pareto", "-o", "latency_p90:min", "-o", "accuracy:max", "--json", "--backend", "tflite"
    )
    assert result.rc == 2
    data = assert_json_error(result, "none of the 1 selected runs has accuracy")
    assert "latency_p90" in (data.get("hint") or "")
