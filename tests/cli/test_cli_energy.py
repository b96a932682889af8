"""Energy through the command line: ``reef bench`` on a machine whose (fake) RAPL counters
advance records it, ``reef runs show`` shows it (and says why a counter is missing), and
``reef pareto`` takes ``energy_per_sample:min``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli_support import InProcessReef

from energy_support import FakeRapl
from reef.environment.energy import ROOT_ENV

BENCH = ("bench", "digits-classifier", "--duration", "0.2", "--scenario", "SingleStream")


def bench(cli: InProcessReef, powercap: Path) -> dict[str, Any]:
    """One run's record, benchmarked with ``powercap`` as the powercap tree."""
    result = cli(*BENCH, "--mode", "performance", "--json", env={ROOT_ENV: str(powercap)})
    assert result.rc == 0, str(result)
    (record,) = result.json()
    assert isinstance(record, dict)
    return record


def test_bench_records_energy_and_runs_show_and_pareto_use_it(
    cli: InProcessReef, tmp_path: Path
) -> None:
    with FakeRapl(tmp_path / "powercap") as rapl:
        measured = bench(cli, rapl.root)
    unmeasured = bench(cli, tmp_path / "absent")

    energy = cli.ok("runs", "show", measured["id"], "--json").json()["energy"]
    assert energy["joules"] > 0 and energy["watts"] > 0 and energy["joules_per_sample"] > 0
    assert energy["samples"] == measured["performance"]["samples"]
    assert [(d["name"], d["method"]) for d in energy["domains"]] == [
        ("package-0", "rapl"),
        ("dram-0", "rapl"),
    ]

    shown = cli.ok("runs", "show", measured["id"]).stdout
    (line,) = [x for x in shown.splitlines() if x.startswith("energy") and " J in " in x]
    assert "J/sample" in line and "package-0" in line and "dram-0" in line and " W " in line

    shown = cli.ok("runs", "show", unmeasured["id"]).stdout
    assert "energy     no RAPL in this VM" in shown
    assert " J in " not in shown
    assert unmeasured["energy"]["joules"] is None
    assert "no RAPL in this VM" in unmeasured["energy"]["notes"]

    frontier = cli.ok(
        "pareto", "-o", "energy_per_sample:min", "-o", "throughput:max", "--json"
    ).json()
    assert [r["id"] for r in frontier["frontier"]] == [measured["id"]]
    assert frontier["missing"] == {"energy_per_sample": 1}
