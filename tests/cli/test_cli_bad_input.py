"""Bad input, in-process (see ``cli_support``): exit 2, a clear message naming the file and
field, with ``--json`` a JSON error on stdout, and nothing written. Every broken manifest and
every nonsensical setting; ``tests/e2e/test_e2e_bad_input`` runs a few of each as real
processes.

"Nothing written" means ``$REEF_HOME/runs`` holds no run folder and ``reef runs list --json``
prints ``[]`` (asked whenever the command left a database behind; with no database at all,
nothing can have been recorded).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_cases import SETTINGS, Case, add_unknown_step, cases
from cli_support import InProcessReef
from e2e_support import (
    DIGITS_CLASSIFIER,
    SHORT,
    ManifestWriter,
    assert_json_error,
    assert_usage_error,
)
from stored_runs import listed_record, seed_home


@pytest.mark.parametrize("case", cases())
def test_check_rejects_bad_manifest(
    cli: InProcessReef, write_manifest: ManifestWriter, case: Case
) -> None:
    manifest = write_manifest(case.edit, text=case.text)
    result = cli("check", str(manifest), "--json")
    assert_usage_error(result, *case.says)
    data = assert_json_error(result)
    assert data.get("ok") is not True


@pytest.mark.parametrize("case", cases())
def test_bench_rejects_bad_manifest(
    cli: InProcessReef, write_manifest: ManifestWriter, case: Case
) -> None:
    manifest = write_manifest(case.edit, text=case.text)
    result = cli("bench", str(manifest), *SHORT, "--json")
    assert_usage_error(result, *case.says)
    assert_json_error(result)
    cli.assert_nothing_written()


# --- unknown steps in a manifest whose dataset feeds the model ----------------------------


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_check_rejects_unknown_step_with_dataset(
    cli: InProcessReef, digits_copy: Path, section: str
) -> None:
    add_unknown_step(digits_copy, section)
    result = cli("check", str(digits_copy))
    assert_usage_error(result, "reef.yaml", f"{section}[0].steps[0]", "unknown step", "frobnicate")


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_bench_rejects_unknown_step_with_dataset(
    cli: InProcessReef, digits_copy: Path, section: str
) -> None:
    add_unknown_step(digits_copy, section)
    result = cli("bench", str(digits_copy), *SHORT, "--json")
    assert_usage_error(result, "reef.yaml", f"{section}[0].steps[0]", "unknown step", "frobnicate")
    assert_json_error(result, "frobnicate")
    cli.assert_nothing_written()


# --- targets --------------------------------------------------------------------------------


def test_bench_missing_file(cli: InProcessReef, tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    result = cli("bench", str(missing), *SHORT)
    assert_usage_error(result, str(missing), "not found")
    cli.assert_nothing_written()


def test_bench_unknown_component(cli: InProcessReef) -> None:
    result = cli("bench", "no-such-model", *SHORT, "--json")
    assert_usage_error(result, "no-such-model", DIGITS_CLASSIFIER)  # the hint names what exists
    assert_json_error(result, "no-such-model")
    cli.assert_nothing_written()


def test_bench_unknown_component_version(cli: InProcessReef) -> None:
    result = cli("bench", f"{DIGITS_CLASSIFIER}@9.9.9", *SHORT)
    assert_usage_error(result, DIGITS_CLASSIFIER, "9.9.9")
    cli.assert_nothing_written()


def test_bench_file_of_unknown_kind(cli: InProcessReef, tmp_path: Path) -> None:
    other = tmp_path / "model.txt"
    other.write_text("not a model")
    result = cli("bench", str(other), *SHORT)
    assert_usage_error(result, "model.txt")
    cli.assert_nothing_written()


def test_check_missing_file(cli: InProcessReef, tmp_path: Path) -> None:
    result = cli("check", str(tmp_path / "absent.yaml"))
    assert_usage_error(result, "absent.yaml", "not found")


def test_show_unknown_component(cli: InProcessReef) -> None:
    result = cli("show", "no-such-thing", "--json")
    assert_usage_error(result, "no-such-thing")
    assert_json_error(result, "no-such-thing")


def test_schema_unknown_kind(cli: InProcessReef) -> None:
    result = cli("schema", "bogus")
    assert_usage_error(result, "bogus", "model")


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "says"), SETTINGS)
def test_bench_rejects_nonsensical_settings(
    cli: InProcessReef, options: list[str], says: tuple[str, ...]
) -> None:
    result = cli("bench", DIGITS_CLASSIFIER, *SHORT, *options, "--json")
    assert_usage_error(result, *says)
    data = assert_json_error(result)
    assert data["error"] != "Exception"
    cli.assert_nothing_written()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(["--duration", "abc"], id="not-a-number"),
        pytest.param(["--no-such-option"], id="unknown-option"),
    ],
)
def test_bench_usage_errors_exit_2(cli: InProcessReef, options: list[str]) -> None:
    result = cli("bench", DIGITS_CLASSIFIER, *options)
    assert_usage_error(result, options[0])
    cli.assert_nothing_written()


def test_usage_errors_with_json_print_json(cli: InProcessReef) -> None:
    result = cli("bench", DIGITS_CLASSIFIER, "--duration", "abc", "--json")
    assert_usage_error(result, "--duration")
    assert_json_error(result, "--duration")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["no-such-command"], id="unknown-command"),
        pytest.param(["bench"], id="missing-target"),
        pytest.param(["runs", "show"], id="missing-run-id"),
    ],
)
def test_cli_usage_errors_exit_2(cli: InProcessReef, args: list[str]) -> None:
    result = cli(*args)
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr, str(result)


# --- runs show ------------------------------------------------------------------------------


def test_runs_show_unknown_id(cli: InProcessReef) -> None:
    result = cli("runs", "show", "deadbeef")
    assert_usage_error(result, "deadbeef")
    data = assert_json_error(cli("runs", "show", "deadbeef", "--json"), "deadbeef")
    assert data["error"] == "RunNotFound"


def test_runs_show_ambiguous_prefix_lists_candidates(cli: InProcessReef) -> None:
    ids = ["abcd1" + "0" * 27, "abcd2" + "0" * 27, "f00d" + "0" * 28]
    seed_home(
        cli.home, [listed_record(i, "tiny", "onnxruntime", "SingleStream", 1, 2.0) for i in ids]
    )
    result = cli("runs", "show", "abcd")
    assert_usage_error(result, "abcd", "ambiguous", ids[0], ids[1])
    assert ids[2] not in result.stderr
    data = assert_json_error(cli("runs", "show", "abcd", "--json"), "ambiguous", ids[0], ids[1])
    assert data["error"] == "RunNotFound"
    # one more character makes it unique
    assert cli.ok("runs", "show", "abcd2", "--json").json()["id"] == ids[1]
    assert sorted(r["id"] for r in cli.runs()) == sorted(ids)


def test_bench_refuses_a_core_this_process_may_not_use(
    cli: InProcessReef, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container's or taskset's mask: the core exists but is not this process's to use."""
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    result = cli("bench", DIGITS_CLASSIFIER, *SHORT, "--cpus", "0,2", "--json")
    assert_usage_error(result, "--cpus 0,2", "core 2 is not allowed to this process (allowed: 0)")
    assert_json_error(result)
    cli.assert_nothing_written()


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--repeat", "0"], ("--repeat 0", "must be 1 to 100")),
        (["--repeat", "-1"], ("--repeat -1", "must be 1 to 100")),
        (["--repeat", "101"], ("--repeat 101", "must be 1 to 100")),
        (["--repeat", "2", "--in-process"], ("--repeat", "--in-process")),
    ],
)
def test_reproduce_refuses_a_bad_repeat_before_measuring(
    cli: InProcessReef, options: list[str], says: tuple[str, ...]
) -> None:
    result = cli("reproduce", "0123456789ab", *options, "--json")
    assert_usage_error(result, *says)
    assert_json_error(result)
    cli.assert_nothing_written()
