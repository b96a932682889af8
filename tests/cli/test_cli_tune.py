"""`reef tune`, in-process (see ``cli_support``): a real small study of the built-in
digits-classifier, its runs found by tag through `reef pareto` and `reef runs list`, and bad
input refused with exit 2, the option named, nothing measured and no study stored."""

from __future__ import annotations

import pytest
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error

GOOD = (
    "tune",
    "digits-classifier",
    "--space", "threads=1,2",
    "--space", "graph_optimization=basic,all",
    "--objective", "latency_p99:min",
    "--objective", "throughput:max",
    "--constraint", "accuracy >= 0.99*reference",
)  # fmt: skip


def test_a_small_study_of_the_digits_classifier(cli: InProcessReef) -> None:
    """About 4 trials of 0.25 s, in this process; the report, the stored runs and their tag."""
    result = cli(
        *GOOD, "--budget", "4", "--duration", "0.25", "--prune-k", "1", "--in-process",
        "--study", "digits", "--json",
    )  # fmt: skip
    assert result.rc == 0, str(result)
    report = result.json()
    assert report["study"] == "digits" and report["tag"] == "tune:digits"
    assert report["sampler"] == "NSGAIISampler"
    measured = [t for t in report["trials"] if t["state"] in ("complete", "pruned")]
    assert len(measured) == 4 and len({t["key"] for t in measured}) == 4
    complete = [t for t in measured if t["state"] == "complete"]
    assert complete
    for t in complete:
        assert [e["method"] for e in t["estimates"]] == ["runs", "runs"]
        for e in t["estimates"]:
            assert e["low"] <= e["value"] <= e["high"]
        assert t["constraints"][0]["holds"] is True  # 0.9733 against 0.99 of 0.9733
    for t in measured:
        if t["state"] == "pruned":
            assert t["pruned_by"] and t["measured_s"] == pytest.approx(0.0625)
    members = [n for group in report["frontier"] for n in group]
    assert members and set(members) <= {t["number"] for t in complete}
    assert {r["objective"] for r in report["recommended"]} == {"latency_p99:min", "throughput:max"}
    p = report["pruning"]
    assert p["trials"] == 4 and 0 <= p["saved_share"] < 1
    assert "trial 0" in result.stderr

    # Every run is stored, tagged with the study; pareto and runs list select them by tag.
    run_ids = {i for t in report["trials"] for i in t["run_ids"]}
    listed = cli.runs("--tag", "tune:digits")
    assert {r["id"] for r in listed} == run_ids
    frontier = cli.ok(
        "pareto", "--tag", "tune:digits", "-o", "latency_p99:min", "-o", "throughput:max", "--json"
    ).json()
    assert frontier["selected"] == len(run_ids)
    assert (cli.home / "tune.db").exists()

    # The human report of the same study, resumed with nothing left to measure.
    again = cli(*GOOD, "--study", "digits", "--resume", "--budget", "1", "--duration", "0.25")
    assert again.rc == 0, str(again)
    assert "Noise-aware frontier" in again.stdout and "pruning:" in again.stdout
    assert "best latency_p99:min" in again.stdout


BAD = [
    (["--space", "threads=two"], ["--space threads=two", "not an integer"]),
    (["--space", "threads=100000"], ["--space threads=100000", "--threads"]),
    (
        ["--space", "graph_optimization=fastest"],
        ["--space graph_optimization=fastest", "unknown level"],
    ),
    (["--space", "frobs=1,2"], ["--space frobs", "unknown setting"]),
    (["--constraint", "accuracy >> 0.9"], ["--constraint", "does not parse"]),
    (["--constraint", "speed >= 3"], ["--constraint", "unknown metric"]),
    (["--budget", "0"], ["--budget 0", "at least 1"]),
    (["--objective", "speed:max"], ["--objective", "unknown metric 'speed'"]),
    (["--time", "soon"], ["--time", "positive duration"]),
    (["--probe", "1.5"], ["--probe"]),
    (["--study", "bad name!"], ["--study"]),
    (["--resume"], ["--resume needs --study"]),
    (["--resume", "--study", "nothing"], ["--study nothing", "no such study"]),
]  # fmt: skip


def _args(extra: list[str]) -> list[str]:
    """The good command with ``extra`` in place of (or beside) its options."""
    args = ["tune", "digits-classifier", "--duration", "0.2", "--in-process"]
    replaced = {extra[0]} if extra[0] in ("--space", "--objective", "--constraint") else set()
    for option, value in zip(GOOD[2::2], GOOD[3::2], strict=True):
        if option not in replaced:
            args += [option, value]
    if extra[0] == "--space":
        args += ["--space", "batch_size=1,8"]
    if extra[0] == "--objective":
        args += ["--objective", "latency_p99:min"]
    return args + extra


@pytest.mark.parametrize(("extra", "says"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_starts_nothing(cli: InProcessReef, extra: list[str], says: list[str]) -> None:
    result = cli(*_args(extra), "--json")
    assert_usage_error(result, *says)
    assert_json_error(result, says[0])
    cli.assert_nothing_written(list_runs=True)
    assert not (cli.home / "tune.db").exists(), "a study was stored"


def test_an_unknown_target_starts_nothing(cli: InProcessReef) -> None:
    result = cli("tune", "no-such-model", *GOOD[2:], "--duration", "0.2")
    assert_usage_error(result, "no-such-model")
    cli.assert_nothing_written(list_runs=True)
    assert not (cli.home / "tune.db").exists()
