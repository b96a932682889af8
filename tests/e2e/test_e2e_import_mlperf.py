"""``reef runs import-mlperf DIR``: the real CLI over the small MLPerf submission tree in
tests/data/mlperf (two closed-division submitters, four resnet50 results)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from e2e_support import Reef

TREE = Path(__file__).parents[1] / "data" / "mlperf" / "inference_results_v5.1"


@pytest.mark.slow
def test_import_shows_the_results_as_imported_everywhere(reef: Reef) -> None:
    report = reef.ok("runs", "import-mlperf", str(TREE), "--json").json()
    assert (report["imported"], report["already_stored"], report["skipped"]) == (4, 0, [])
    by_scenario = {(r["submitter"], r["scenario"]): r for r in report["runs"]}
    server = by_scenario[("Bolt", "Server")]
    assert (server["throughput_qps"], server["p99_ms"]) == (650021.3, 11.212345)
    assert (server["accuracy_metric"], server["accuracy_value"]) == ("top1", 0.76078)

    listed = reef.runs("--tag", "mlperf")
    assert len(listed) == 4
    assert {r["predictor"]["name"] for r in listed} == {"imported"}
    assert {r["imported"]["submitter"] for r in listed} == {"Acme", "Bolt"}
    table = reef.ok("runs", "list").stdout
    assert table.count("resnet50@v5.1 (imported)") == 4

    shown = reef.ok("runs", "show", server["id"][:8]).stdout
    assert "imported   from MLPerf v5.1  closed / Bolt / bolt_dc_8xh100" in shown
    assert "read, not measured here" in shown
    assert "throughput 650,021 samples/s" in shown

    board = reef.ok("board", "--json").json()
    assert {row["backend"] for row in board["rows"]} == {"imported"}
    assert len(board["rows"]) == 4
    pareto = reef.ok("pareto", "-o", "latency_p99:min", "-o", "throughput:max", "--json").json()
    assert len(pareto["frontier"]) == 3
    a, b = by_scenario[("Acme", "Offline")]["id"], by_scenario[("Bolt", "Offline")]["id"]
    compared = reef.ok("compare", a, b, "--json").json()
    assert [r["id"] for r in compared["runs"]] == [a, b]

    again = reef.ok("runs", "import-mlperf", str(TREE))
    assert again.stdout.strip().endswith("0 imported, 4 already stored, 0 skipped")
    assert len(reef.runs()) == 4


def test_skipped_folders_are_reported_and_the_rest_imported(reef: Reef, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    scenario = tree / "closed/Acme/results/acme_edge_e1/resnet50/SingleStream"
    shutil.rmtree(scenario / "performance")
    result = reef.ok("runs", "import-mlperf", str(tree), "--round", "v5.0")
    assert result.stdout.strip().endswith("3 imported, 0 already stored, 1 skipped")
    assert result.says(
        f"skipped  {scenario}: no performance/run_1/mlperf_log_detail.txt: no performance result"
    )
    assert {r["target"]["version"] for r in reef.runs()} == {"v5.0"}


@pytest.mark.parametrize("case", ["missing", "no logs", "malformed"])
def test_bad_input_exits_2_naming_it_and_writes_nothing(
    reef: Reef, tmp_path: Path, case: str
) -> None:
    tree = tmp_path / "tree"
    if case != "missing":
        shutil.copytree(TREE, tree)
    log = tree / "closed/Bolt/results/bolt_dc_8xh100/resnet50/Offline/performance/run_1"
    log = log / "mlperf_log_detail.txt"
    if case == "no logs":
        for folder in [*tree.glob("closed/*/results"), *tree.glob("closed/*/compliance")]:
            shutil.rmtree(folder)
    if case == "malformed":
        lines = log.read_text().splitlines(keepends=True)
        lines[2] = ":::MLLOG {broken\n"
        log.write_text("".join(lines))
    result = reef("runs", "import-mlperf", str(tree), "--json")
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr
    message = result.json()["message"] if result.stdout.strip() else result.stderr
    expected = {
        "missing": f"{tree}: not found",
        "no logs": f"{tree}: no mlperf_log_detail.txt under it",
        "malformed": f"{log}: line 3: not a LoadGen event",
    }[case]
    assert expected in message, str(result)
    reef.assert_nothing_written()
