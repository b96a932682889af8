"""Where each file of an MLPerf inference submission tree lives, per round.

The tree is ``<root>/<division>/<submitter>/...``. Two layouts exist (facts read from
MLCommons' submission checker, ``tools/submission/submission_checker/constants.py``):

- **v5.0, v5.1** ("split"): ``results/<system>/<benchmark>/<scenario>/`` holds the logs;
  ``measurements/<system>/<benchmark>/<scenario>/`` holds README.md, user.conf, mlperf.conf
  and ``<system>_<implementation>_<scenario>.json``; ``compliance/<system>/<benchmark>/
  <scenario>/TEST0x/`` the audits; ``code/<benchmark>/`` the code.
- **v6.0 and later** ("merged"): everything of a scenario under ``results/<system>/
  <benchmark>/<scenario>/`` (``measurements.json``, README.md, user.conf, mlperf.conf,
  ``TEST0x/``); the code under ``src/<benchmark>/``.

In both, ``systems/<system>.json`` describes a system, and a scenario folder holds
``performance/run_1/`` (summary and detail logs) and ``accuracy/`` (summary, detail,
``mlperf_log_accuracy.json`` and ``accuracy.txt``).

Everything here is a pure path computation or a directory walk: no file is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROUND = "v6.0"
SPLIT_ROUNDS = ("v5.0", "v5.1")  # measurements/ and compliance/ beside results/
MERGED_ROUNDS = ("v6.0", "v6.1")
ROUNDS = SPLIT_ROUNDS + MERGED_ROUNDS

DIVISIONS = ("closed", "open", "network")
SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline", "Interactive")
COMPLIANCE_TESTS = ("TEST01", "TEST04", "TEST06", "TEST07", "TEST08", "TEST09")

SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"
ACCURACY_LOG = "mlperf_log_accuracy.json"
ACCURACY_TXT = "accuracy.txt"
USER_CONF = "user.conf"
MLPERF_CONF = "mlperf.conf"
README = "README.md"
MEASUREMENTS_JSON = "measurements.json"  # the merged layout's name
VERIFY_ACCURACY = "verify_accuracy.txt"
VERIFY_PERFORMANCE = "verify_performance.txt"
VERIFY_OUTPUT_LEN = "verify_output_len.txt"  # TEST09's


@dataclass(frozen=True)
class ScenarioKey:
    """One result of a submission: who, on what system, which benchmark and scenario."""

    division: str
    submitter: str
    system: str
    benchmark: str
    scenario: str

    def label(self) -> str:
        return f"{self.division}/{self.submitter}/{self.system}/{self.benchmark}/{self.scenario}"


def split_layout(round_: str) -> bool:
    """Whether ``round_`` keeps measurements/ and compliance/ beside results/ (v5.x)."""
    return round_ in SPLIT_ROUNDS


@dataclass(frozen=True)
class Layout:
    """The paths of one submission tree under ``root`` for one round."""

    root: Path
    round: str = DEFAULT_ROUND
    split_folders: bool | None = None  # the layout a tree really has, whatever its round's

    @property
    def split(self) -> bool:
        if self.split_folders is not None:
            return self.split_folders
        return split_layout(self.round)

    def submitter_dir(self, division: str, submitter: str) -> Path:
        return self.root / division / submitter

    def systems_dir(self, division: str, submitter: str) -> Path:
        return self.submitter_dir(division, submitter) / "systems"

    def system_json(self, division: str, submitter: str, system: str) -> Path:
        return self.systems_dir(division, submitter) / f"{system}.json"

    def code_dir(self, division: str, submitter: str, benchmark: str) -> Path:
        folder = "code" if self.split else "src"
        return self.submitter_dir(division, submitter) / folder / benchmark

    def results_dir(self, key: ScenarioKey) -> Path:
        return (
            self.submitter_dir(key.division, key.submitter)
            / "results"
            / key.system
            / key.benchmark
            / key.scenario
        )

    def performance_dir(self, key: ScenarioKey) -> Path:
        return self.results_dir(key) / "performance" / "run_1"

    def accuracy_dir(self, key: ScenarioKey) -> Path:
        return self.results_dir(key) / "accuracy"

    def measurements_dir(self, key: ScenarioKey) -> Path:
        """The folder of README.md, user.conf, mlperf.conf and the measurement JSON."""
        if not self.split:
            return self.results_dir(key)
        return (
            self.submitter_dir(key.division, key.submitter)
            / "measurements"
            / key.system
            / key.benchmark
            / key.scenario
        )

    def measurements_json(self, key: ScenarioKey, implementation: str = "reef") -> Path:
        """The measurement JSON: ``measurements.json`` (v6+), or
        ``<system>_<implementation>_<scenario>.json`` (v5.x)."""
        if not self.split:
            return self.results_dir(key) / MEASUREMENTS_JSON
        name = f"{key.system}_{implementation}_{key.scenario}.json"
        return self.measurements_dir(key) / name

    def find_measurements_json(self, key: ScenarioKey) -> Path | None:
        """The measurement JSON that exists, whatever its implementation name; None if none."""
        if not self.split:
            path = self.results_dir(key) / MEASUREMENTS_JSON
            return path if path.is_file() else None
        folder = self.measurements_dir(key)
        if not folder.is_dir():
            return None
        found = sorted(p for p in folder.glob("*.json") if p.is_file())
        return found[0] if found else None

    def compliance_dir(self, key: ScenarioKey) -> Path:
        """The folder holding ``TEST0x/`` audit folders of a scenario."""
        if not self.split:
            return self.results_dir(key)
        return (
            self.submitter_dir(key.division, key.submitter)
            / "compliance"
            / key.system
            / key.benchmark
            / key.scenario
        )

    def test_dir(self, key: ScenarioKey, test: str) -> Path:
        return self.compliance_dir(key) / test


def _dirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def submitters(root: Path) -> Iterator[tuple[str, str]]:
    """(division, submitter) of every submitter folder under ``root``."""
    for division in _dirs(root):
        if division.name not in DIVISIONS:
            continue
        for submitter in _dirs(division):
            yield division.name, submitter.name


def scenarios(root: Path) -> Iterator[ScenarioKey]:
    """Every scenario folder under ``results/`` of every submitter under ``root``."""
    for division, submitter in submitters(root):
        results = root / division / submitter / "results"
        for system in _dirs(results):
            for benchmark in _dirs(system):
                for scenario in _dirs(benchmark):
                    if scenario.name in SCENARIOS:
                        yield ScenarioKey(
                            division, submitter, system.name, benchmark.name, scenario.name
                        )


def has_split_folders(root: Path, division: str, submitter: str) -> bool:
    """Whether a submitter folder keeps measurements/ or compliance/ beside results/."""
    folder = root / division / submitter
    return (folder / "measurements").is_dir() or (folder / "compliance").is_dir()


def guess_round(root: Path, division: str, submitter: str) -> str:
    """The layout a submitter folder uses: v5.1 when it has measurements/ or compliance/
    beside results/ (the split layout), else the default round."""
    if has_split_folders(root, division, submitter):
        return SPLIT_ROUNDS[-1]
    return DEFAULT_ROUND
