"""Issue 14, item 6: options with a fixed set of values read them in any common spelling
(``single-stream``, ``singlestream``, ``SingleStream``, ``OFFLINE``), list them in ``--help``, and
refuse anything else with exit 2, one line naming the option, and nothing written. The API and
a solution's manifest read the same spellings (``reef.meta.choices`` is the one place)."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import SHORT, assert_json_error, assert_usage_error
from stored_runs import LISTED, seed_home

from reef.meta import choices

SPELLINGS = [
    (choices.SCENARIO, "single-stream", "SingleStream"),
    (choices.SCENARIO, "singlestream", "SingleStream"),
    (choices.SCENARIO, "SingleStream", "SingleStream"),
    (choices.SCENARIO, "SINGLE_STREAM", "SingleStream"),
    (choices.SCENARIO, "multi-stream", "MultiStream"),
    (choices.SCENARIO, "offline", "Offline"),
    (choices.SCENARIO, " Server ", "Server"),
    (choices.MODE, "Performance", "performance"),
    (choices.MODE, "AccuracyOnly", "accuracy"),
    (choices.TRACE_LEVEL, "MODEL", "model"),
    (choices.INSTALLER, "UV", "uv"),
    (choices.RUNS_FORMAT, "CSV", "csv"),
    (choices.REPORT_FORMAT, "markdown", "md"),
    (choices.FIGURE_FORMAT, "mpl_svg", "mpl-svg"),
    (choices.PLOT_KIND, "Histogram", "histogram"),
    (choices.CACHE_KIND, "environments", "envs"),
    (choices.SHELL, "ZSH", "zsh"),
]


@pytest.mark.parametrize(("choice", "given", "value"), SPELLINGS)
def test_each_spelling_reads_as_its_value(choice: choices.Choice, given: str, value: str) -> None:
    assert choice.parse(given) == value


def test_the_choices_are_the_domains_values() -> None:
    """Where a layer keeps its own tuple or Literal of the values, it is the same set."""
    from reef.environment.installers import INSTALLER_CHOICES
    from reef.meta.run import TRACE_LEVELS
    from reef.meta.settings import SCENARIOS, Mode, Scenario
    from reef.report.markdown import FIGURE_FORMATS
    from reef.report.plots import PLOT_KINDS
    from reef.results.query import STATUSES

    def literal(annotated: object) -> tuple[str, ...]:
        return typing.get_args(typing.get_args(annotated)[0])

    assert literal(Scenario) == SCENARIOS == choices.SCENARIO.values
    assert literal(Mode) == choices.MODE.values
    assert choices.TRACE_LEVEL.values == TRACE_LEVELS
    assert choices.INSTALLER.values == INSTALLER_CHOICES
    assert choices.FIGURE_FORMAT.values == FIGURE_FORMATS
    assert choices.PLOT_KIND.values == PLOT_KINDS
    assert choices.RUN_STATUS.values == STATUSES


def test_the_api_reads_the_same_spellings(reef_home: Path) -> None:
    from reef import api
    from reef.meta.settings import BenchSettings

    settings = api.bench_settings(["single-stream", "OFFLINE"], mode="Performance")
    assert [(s.scenario, s.mode) for s in settings] == [
        ("SingleStream", "performance"),
        ("Offline", "performance"),
    ]
    assert BenchSettings(scenario="multi-stream", mode="BOTH").scenario == "MultiStream"


def test_a_solution_manifest_reads_the_same_spellings() -> None:
    from reef.meta.solution import SolutionBench

    bench = SolutionBench.model_validate({"scenarios": ["single-stream", "offline"]})
    assert bench.scenarios == ["SingleStream", "Offline"]


def test_bench_takes_any_spelling(cli: InProcessReef, tiny_onnx: Path) -> None:
    records = cli.ok(
        "bench", str(tiny_onnx), *SHORT, "-s", "single-stream", "--scenario", "OFFLINE",
        "--mode", "Performance", "--json",
    ).json()  # fmt: skip
    assert [(r["settings"]["scenario"], r["settings"]["mode"]) for r in records] == [
        ("SingleStream", "performance"),
        ("Offline", "performance"),
    ]


REFUSED = [
    pytest.param(["bench", "{onnx}", "-s", "Foo"],
                 ("--scenario: unknown value 'Foo'", "SingleStream, MultiStream, Server, Offline"),
                 id="bench-scenario"),
    pytest.param(["bench", "{onnx}", "--mode", "fastest"],
                 ("--mode: unknown value 'fastest'", "performance, accuracy, both"),
                 id="bench-mode"),
    pytest.param(["bench", "{onnx}", "--trace", "loud"],
                 ("--trace: unknown level 'loud'", "none, model, framework, system, full"),
                 id="bench-trace"),
    pytest.param(["bench", "{onnx}", "--graph-optimization", "max"],
                 ("--graph-optimization: unknown level 'max'", "none, basic, extended, all"),
                 id="bench-graph-optimization"),
    pytest.param(["init", "digits-classifier", "--installer", "conda"],
                 ("--installer: unknown installer 'conda'", "auto, uv, pip"), id="init-installer"),
    pytest.param(["runs", "list", "--format", "xml"],
                 ("--format: unknown format 'xml'", "table, json, csv"), id="runs-format"),
    pytest.param(["runs", "list", "--scenario", "Batch"],
                 ("--scenario: unknown value 'Batch'", "SingleStream"), id="runs-scenario"),
    pytest.param(["report", "--format", "pdf"],
                 ("--format: unknown format 'pdf'", "html, md"), id="report-format"),
    pytest.param(["report", "--figures", "gif"],
                 ("--figures: unknown figure format 'gif'", "svg, png, pdf, mpl-svg"),
                 id="report-figures"),
    pytest.param(["plot", "bars"], ("KIND: unknown value 'bars'", "cdf, histogram"),
                 id="plot-kind"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "says"), REFUSED)
def test_an_unknown_value_is_refused(
    cli: InProcessReef, tiny_onnx: Path, args: list[str], says: tuple[str, ...]
) -> None:
    argv = [a.replace("{onnx}", str(tiny_onnx)) for a in args]
    result = cli(*argv)
    assert_usage_error(result, *says)
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # the error and its hint
    assert result.stdout == ""
    assert_json_error(cli(*argv, "--json"), says[0])
    cli.assert_nothing_written()
    assert not (cli.home / "reef.db").exists()
    assert list(cli.cwd.iterdir()) == []


HELP = [
    (["bench"], "[SingleStream|MultiStream|Server|Offline]"),
    (["bench"], "[performance|accuracy|both]"),
    (["bench"], "[none|model|framework|system|full]"),
    (["bench"], "[none|basic|extended|all]"),
    (["init"], "[auto|uv|pip]"),
    (["runs", "list"], "[table|json|csv]"),
    (["runs", "list"], "[valid|invalid|interrupted|failed]"),
    (["report"], "[html|md]"),
    (["report"], "[svg|png|pdf|mpl-svg]"),
    (["pareto"], "[SingleStream|MultiStream|Server|Offline]"),
]


@pytest.mark.parametrize(("command", "listed"), HELP)
def test_help_lists_the_values(cli: InProcessReef, command: list[str], listed: str) -> None:
    shown = cli.ok(*command, "--help").stdout
    assert listed in shown, shown


@pytest.fixture
def stored(cli: InProcessReef, tmp_path_factory: pytest.TempPathFactory) -> InProcessReef:
    home = seed_home(tmp_path_factory.mktemp("listed") / "reef-home", LISTED)
    shutil.copytree(home, cli.home)
    return cli


def test_filters_take_any_spelling(stored: InProcessReef) -> None:
    canonical = [r["id"] for r in stored.runs("--scenario", "SingleStream")]
    assert canonical
    for spelling in ("single-stream", "singlestream", "SINGLESTREAM"):
        assert [r["id"] for r in stored.runs("--scenario", spelling)] == canonical
    assert len(stored.runs("--status", "VALID")) == len(stored.runs("--status", "valid"))
    assert stored.ok("runs", "list", "--format", "CSV").stdout.startswith("id,")
