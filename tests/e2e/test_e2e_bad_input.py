"""Bad input through real processes: exit 2, a clear message naming the file and field, and
nothing written. A few cases of each kind, the ones that take different paths (YAML, schema,
the model's signature checked in the worker, the files, a setting, Typer's own usage errors);
every case of every table, and the rest (``runs show`` of unknown and ambiguous ids among them),
run in-process in ``tests/cli/test_cli_bad_input.py``.

"Nothing written" means ``$REEF_HOME/runs`` holds no run folder and ``reef runs list --json``
prints ``[]`` (asked whenever the command left a database behind; with no database at all,
nothing can have been recorded). With ``--json`` the error is also a JSON object on stdout.
"""

from __future__ import annotations

import pytest
from bad_input_cases import SETTINGS, Case, cases
from e2e_support import (
    DIGITS_CLASSIFIER,
    SHORT,
    ManifestWriter,
    Reef,
    assert_json_error,
    assert_usage_error,
)


@pytest.mark.parametrize("case", cases("malformed-yaml", "missing-required-field", "wrong-rank"))
def test_check_rejects_bad_manifest(reef: Reef, write_manifest: ManifestWriter, case: Case) -> None:
    manifest = write_manifest(case.edit, text=case.text)
    result = reef("check", str(manifest), "--json")
    assert_usage_error(result, *case.says)
    data = assert_json_error(result)
    assert data.get("ok") is not True


@pytest.mark.parametrize(
    "case",
    cases(
        "sha256-mismatch",
        "unknown-field",
        "wrong-fixed-dim",
        "batch-axis-out-of-range",
        "value-wrong-type",
        "value-wrong-shape",
        "state-naming-no-output",
    ),
)
def test_bench_rejects_bad_manifest(reef: Reef, write_manifest: ManifestWriter, case: Case) -> None:
    manifest = write_manifest(case.edit, text=case.text)
    result = reef("bench", str(manifest), *SHORT, "--json")
    assert_usage_error(result, *case.says)
    assert_json_error(result)
    reef.assert_nothing_written()


def test_bench_unknown_component(reef: Reef) -> None:
    result = reef("bench", "no-such-model", *SHORT, "--json")
    assert_usage_error(result, "no-such-model", DIGITS_CLASSIFIER)  # the hint names what exists
    assert_json_error(result, "no-such-model")
    reef.assert_nothing_written()


@pytest.mark.parametrize(("options", "says"), [p for p in SETTINGS if p.id == "unknown-scenario"])
def test_bench_rejects_nonsensical_settings(
    reef: Reef, options: list[str], says: tuple[str, ...]
) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, *SHORT, *options, "--json")
    assert_usage_error(result, *says)
    data = assert_json_error(result)
    assert data["error"] != "Exception"
    reef.assert_nothing_written()


def test_usage_errors_with_json_print_json(reef: Reef) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, "--duration", "abc", "--json")
    assert_usage_error(result, "--duration")
    assert_json_error(result, "--duration")
    reef.assert_nothing_written()


def test_unknown_command_exits_2(reef: Reef) -> None:
    result = reef("no-such-command")
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr, str(result)
