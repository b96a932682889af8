"""``reef bench --audit``: MLPerf's compliance audits run with the benchmark, verified against
its own runs, with the verify files a submission's compliance folder holds; a test Reef does
not know, or one the model cannot take, is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import Reef, assert_usage_error

MODEL = "digits-cnn"


@pytest.mark.slow
def test_test01_and_test04_pass_and_write_the_compliance_folders(reef: Reef) -> None:
    # One intra-op thread: the references and the audits then measure the same thing on a
    # shared machine, where two threads fight over the cores with whatever else runs. Whether
    # the figures land within 10% of each other depends on the machine (a quiet CI machine
    # ran the same-sample TEST04 run 24.5% faster than the reference, three times in a row,
    # as a CPU whose caches hold the one sample may): a run whose only failed checks are
    # performance comparisons is tried again, up to three times in all, and if they still
    # fail the verdicts are checked against the figures the verify files print. Any other
    # failure is not excused.
    for _ in range(3):
        result = reef(
            "bench", MODEL, "-s", "Offline", "--duration", "1", "--threads", "1",
            "--audit", "TEST01", "--audit", "test04", "--json",
        )  # fmt: skip
        assert result.rc in (0, 1), str(result)
        [record] = result.json()
        failed = [c for a in record["audits"] for c in a["checks"] if not c["passed"]]
        assert all(c["name"] == "performance" for c in failed), str(result)
        if not failed:
            break
    assert record["settings"]["audits"] == ["TEST01", "TEST04"]
    audits = {a["test"]: a for a in record["audits"]}
    assert list(audits) == ["TEST01", "TEST04"]
    run_dir = reef.home / "runs" / record["id"]
    for test, checks in (("TEST01", ["config", "accuracy", "performance"]),
                         ("TEST04", ["config", "performance"])):  # fmt: skip
        entry = audits[test]
        assert [c["name"] for c in entry["checks"]] == checks
        assert entry["passed"] is all(c["passed"] for c in entry["checks"]), entry
        folder = Path(entry["path"])
        assert folder == run_dir / "compliance" / test
        # What MLPerf's submission checker reads: a "TEST PASS" line when the check passed,
        # and the audit's logs.
        perf = (folder / "verify_performance.txt").read_text().splitlines()
        assert ("TEST PASS" in perf) is entry["checks"][-1]["passed"], perf
        run_1 = folder / "performance" / "run_1"
        for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt"):
            assert (run_1 / name).is_file()
        assert "*.Offline.mode = 2" in (folder / "audit.config").read_text()
        # LoadGen said it read the audit config.
        assert "Found Audit Config file" in (run_1 / "mlperf_log_detail.txt").read_text()
    # The run's model key has no MLCommons TEST01 sampling target: Reef's fraction, saying so.
    config = (run_dir / "compliance" / "TEST01" / "audit.config").read_text()
    assert "digits-cnn has no MLCommons TEST01 value" in config
    acc = (run_dir / "compliance" / "TEST01" / "verify_accuracy.txt").read_text().splitlines()
    assert "TEST PASS" in acc
    assert (run_dir / "compliance" / "TEST01" / "accuracy" / "mlperf_log_accuracy.json").is_file()
    assert (
        "answers logged in performance mode equal the accuracy run's"
        in (audits["TEST01"]["checks"][1]["detail"])
    )
    # The stored record has them too.
    shown = reef.ok("runs", "show", record["id"], "--json").json()
    assert [a["test"] for a in shown["audits"]] == ["TEST01", "TEST04"]
    if failed:
        # The comparisons fail on this machine: each verdict must follow from its own figures.
        assert result.rc == 1, str(result)
        assert record["status"] == "invalid", str(result)
        for test in ("TEST01", "TEST04"):
            verify = run_dir / "compliance" / test / "verify_performance.txt"
            assert audits[test]["checks"][-1]["passed"] is _verdict_from_figures(test, verify)
        return
    assert result.rc == 0, str(result)
    assert record["status"] == "valid", record["reasons"]
    assert all(a["passed"] for a in record["audits"])
    assert result.says("audit TEST01 passed", "audit TEST04 passed")


def _verdict_from_figures(test: str, verify: Path) -> bool:
    """The verdict MLPerf's rule gives the figures a verify file prints: an Offline TEST01 run
    within 10% of the reference either way, a TEST04 run at most 10% faster."""
    figures = {}
    for line in verify.read_text().splitlines():
        name, sep, value = line.partition(" = ")
        if sep and name in ("reference", "audit"):
            figures[name] = float(value)
    # A comparison that failed before any figure (an INVALID run) printed none: say so.
    assert set(figures) == {"reference", "audit"}, verify.read_text()
    ratio = figures["audit"] / figures["reference"]
    return ratio < 1.1 if test == "TEST04" else 0.9 <= ratio <= 1.1


def test_an_unknown_test_is_refused(reef: Reef) -> None:
    result = reef("bench", MODEL, "-s", "Offline", "--audit", "TEST99")
    assert_usage_error(result, "--audit", "unknown compliance test 'TEST99'", "TEST01, TEST04")
    reef.assert_nothing_written()


def test_test06_is_refused_for_a_model_without_token_outputs(reef: Reef) -> None:
    result = reef("bench", MODEL, "-s", "Offline", "--audit", "TEST06")
    assert_usage_error(
        result,
        "--audit TEST06",
        "applies only to a model with token outputs",
        "digits-cnn's outputs are 'probabilities' (probability)",
        "no token output type",
    )
    reef.assert_nothing_written()


def test_an_audit_needs_both_references(reef: Reef) -> None:
    result = reef("bench", MODEL, "-s", "Offline", "--mode", "accuracy", "--audit", "TEST01")
    assert_usage_error(result, "--audit", "use --mode both")
    reef.assert_nothing_written()
