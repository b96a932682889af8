"""Bad input: exit 2, a clear message naming the file and field, and nothing written.

"Nothing written" means ``$REEF_HOME/runs`` holds no run folder and ``reef runs list --json``
prints ``[]`` (asked whenever the command left a database behind; with no database at all,
nothing can have been recorded). With ``--json`` the error is also a JSON object on stdout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import (
    DIGITS_CLASSIFIER,
    SHORT,
    Benched,
    ManifestWriter,
    Reef,
    assert_json_error,
    assert_usage_error,
)

Edit = Callable[[dict[str, Any]], None]


@dataclass
class Case:
    """A broken variant of the tiny model's manifest and what the error must say."""

    id: str
    edit: Edit | None = None
    text: str | None = None
    says: tuple[str, ...] = ()


def _set(path: str, value: Any) -> Edit:
    """``_set("inputs.0.shape", [1])``: set one value deep in the manifest."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(key: str) -> Edit:
    return lambda data: data.pop(key)


CASES = [
    Case("malformed-yaml", text="kind: model\nname: [unclosed\nversion: 1.0.0\n",
         says=("model.yaml", "malformed YAML", "line")),
    Case("unknown-field", _set("outputs.0.bogus", 1),
         says=("model.yaml", "outputs[0].bogus", "unknown field")),
    Case("wrong-type", _set("inputs.0.shape", "big"), says=("model.yaml", "inputs[0].shape")),
    Case("missing-model-file", _set("sources.0.path", "missing.onnx"),
         says=("model.yaml", "sources[0].path", "missing.onnx")),
    Case("sha256-mismatch", _set("sources.0.sha256", "ab" * 32),
         says=("tiny.onnx", "sha256 mismatch", "ab" * 32)),
    Case("framework-version-outside-constraint", _set("framework.version", "<1.0"),
         says=("model.yaml", "framework.version", "<1.0", "onnxruntime")),
    Case("wrong-input-name", _set("inputs.0.name", "z"),
         says=("model.yaml", "inputs[0].name", "'z'", "'x'")),
    Case("wrong-fixed-dim", _set("inputs.0.shape", [-1, 4, 8, 8]),
         says=("model.yaml", "inputs[0].shape", "dimension 1", "4", "3")),
    Case("unknown-input-step", _set("inputs.0.steps", [{"frobnicate": {}}]),
         says=("model.yaml", "inputs[0].steps[0]", "unknown step", "frobnicate")),
    Case("unknown-output-step", _set("outputs.0.steps", [{"frobnicate": {}}]),
         says=("model.yaml", "outputs[0].steps[0]", "unknown step", "frobnicate")),
    Case("wrong-element-type", _set("inputs.0.element_type", "int64"),
         says=("model.yaml", "inputs[0].element_type", "int64", "float32")),
    Case("wrong-output-name", _set("outputs.0.name", "probabilities"),
         says=("model.yaml", "outputs[0].name", "'probabilities'")),
    Case("unknown-metric", _set("accuracy", {"metric": "frobnicity", "reference": 0.9}),
         says=("model.yaml", "accuracy.metric", "frobnicity")),
    Case("unknown-dataset", _set("dataset", "no-such-dataset"),
         says=("model.yaml", "dataset", "no-such-dataset")),
    Case("empty-document", text="", says=("model.yaml", "mapping")),
    Case("unknown-top-level-field", _set("colour", "blue"),
         says=("model.yaml", "colour", "unknown field")),
    Case("wrong-type-section", _set("framework", "onnxruntime"),
         says=("model.yaml", "framework")),
    Case("missing-required-field", _delete("outputs"),
         says=("model.yaml", "outputs", "required field is missing")),
    Case("not-semver", _set("version", "1.0"),
         says=("model.yaml", "version", "semantic version")),
    Case("unknown-element-type", _set("inputs.0.element_type", "float33"),
         says=("model.yaml", "inputs[0].element_type")),
    Case("sha256-malformed", _set("sources.0.sha256", "xyz"),
         says=("model.yaml", "sources[0].sha256", "sha256")),
    Case("framework-version-not-a-constraint", _set("framework.version", "banana"),
         says=("model.yaml", "framework.version", "banana")),
    Case("unknown-framework", _set("framework.name", "tensorflow-9"),
         says=("tensorflow-9",)),
    Case("wrong-rank", _set("inputs.0.shape", [-1, 192]),
         says=("model.yaml", "inputs[0].shape", "rank")),
    Case("bad-step-parameters", _set("inputs.0.steps", [{"scale": {"factor": "big"}}]),
         says=("model.yaml", "inputs[0].steps[0].scale.factor")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_rejects_bad_manifest(reef: Reef, write_manifest: ManifestWriter, case: Case) -> None:
    manifest = write_manifest(case.edit, text=case.text)
    result = reef("check", str(manifest), "--json")
    assert_usage_error(result, *case.says)
    data = assert_json_error(result)
    assert data.get("ok") is not True


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bench_rejects_bad_manifest(reef: Reef, write_manifest: ManifestWriter, case: Case) -> None:
    manifest = write_manifest(case.edit, text=case.text)
    result = reef("bench", str(manifest), *SHORT, "--json")
    assert_usage_error(result, *case.says)
    assert_json_error(result)
    reef.assert_nothing_written()


# --- unknown steps in a manifest whose dataset feeds the model ----------------------------


def _add_step(manifest: Path, section: str) -> None:
    data = yaml.safe_load(manifest.read_text())
    data[section][0]["steps"].insert(0, {"frobnicate": {}})
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_check_rejects_unknown_step_with_dataset(
    reef: Reef, digits_copy: Path, section: str
) -> None:
    _add_step(digits_copy, section)
    result = reef("check", str(digits_copy))
    assert_usage_error(result, "reef.yaml", f"{section}[0].steps[0]", "unknown step", "frobnicate")


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_bench_rejects_unknown_step_with_dataset(
    reef: Reef, digits_copy: Path, section: str
) -> None:
    _add_step(digits_copy, section)
    result = reef("bench", str(digits_copy), *SHORT, "--json")
    assert_usage_error(result, "reef.yaml", f"{section}[0].steps[0]", "unknown step", "frobnicate")
    assert_json_error(result, "frobnicate")
    reef.assert_nothing_written()


# --- targets --------------------------------------------------------------------------------


def test_bench_missing_file(reef: Reef, tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    result = reef("bench", str(missing), *SHORT)
    assert_usage_error(result, str(missing), "not found")
    reef.assert_nothing_written()


def test_bench_unknown_component(reef: Reef) -> None:
    result = reef("bench", "no-such-model", *SHORT, "--json")
    assert_usage_error(result, "no-such-model", DIGITS_CLASSIFIER)  # the hint names what exists
    assert_json_error(result, "no-such-model")
    reef.assert_nothing_written()


def test_bench_unknown_component_version(reef: Reef) -> None:
    result = reef("bench", f"{DIGITS_CLASSIFIER}@9.9.9", *SHORT)
    assert_usage_error(result, DIGITS_CLASSIFIER, "9.9.9")
    reef.assert_nothing_written()


def test_bench_file_of_unknown_kind(reef: Reef, tmp_path: Path) -> None:
    other = tmp_path / "model.txt"
    other.write_text("not a model")
    result = reef("bench", str(other), *SHORT)
    assert_usage_error(result, "model.txt")
    reef.assert_nothing_written()


def test_check_missing_file(reef: Reef, tmp_path: Path) -> None:
    result = reef("check", str(tmp_path / "absent.yaml"))
    assert_usage_error(result, "absent.yaml", "not found")


def test_show_unknown_component(reef: Reef) -> None:
    result = reef("show", "no-such-thing", "--json")
    assert_usage_error(result, "no-such-thing")
    assert_json_error(result, "no-such-thing")


def test_schema_unknown_kind(reef: Reef) -> None:
    result = reef("schema", "bogus")
    assert_usage_error(result, "bogus", "model")


# --- settings -------------------------------------------------------------------------------

SETTINGS = [
    pytest.param(["--scenario", "Foo"], ("Foo", "SingleStream", "Offline"), id="unknown-scenario"),
    pytest.param(["--scenario", "Offline", "--scenario", "Foo"], ("Foo",),
                 id="unknown-scenario-among-several"),
    pytest.param(["--duration", "-1"], ("--duration",), id="negative-duration"),
    pytest.param(["--duration", "0"], ("--duration",), id="zero-duration"),
    pytest.param(["--scenario", "Server", "--target-qps", "0"], ("--target-qps",),
                 id="zero-target-qps"),
    pytest.param(["--scenario", "Server", "--latency-bound-ms", "-5"], ("--latency-bound-ms",),
                 id="negative-latency-bound"),
    pytest.param(["--batch-size", "0"], ("--batch-size",), id="zero-batch-size"),
    pytest.param(["--scenario", "MultiStream", "--samples-per-query", "0"],
                 ("--samples-per-query",), id="zero-samples-per-query"),
    pytest.param(["--queries", "0"], ("--queries",), id="zero-queries"),
    pytest.param(["--threads", "0"], ("--threads",), id="zero-threads"),
    pytest.param(["--samples", "0"], ("--samples",), id="zero-samples"),
    pytest.param(["--mode", "fastest"], ("--mode", "fastest"),
                 id="unknown-mode"),
    pytest.param(["--target-qps", "100"], ("--target-qps", "Server"),
                 id="target-qps-without-server"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "says"), SETTINGS)
def test_bench_rejects_nonsensical_settings(
    reef: Reef, options: list[str], says: tuple[str, ...]
) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, *SHORT, *options, "--json")
    assert_usage_error(result, *says)
    data = assert_json_error(result)
    assert data["error"] != "Exception"
    reef.assert_nothing_written()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(["--duration", "abc"], id="not-a-number"),
        pytest.param(["--no-such-option"], id="unknown-option"),
    ],
)
def test_bench_usage_errors_exit_2(reef: Reef, options: list[str]) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, *options)
    assert_usage_error(result, options[0])
    reef.assert_nothing_written()


def test_usage_errors_with_json_print_json(reef: Reef) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, "--duration", "abc", "--json")
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
def test_cli_usage_errors_exit_2(reef: Reef, args: list[str]) -> None:
    result = reef(*args)
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr, str(result)


# --- runs show ------------------------------------------------------------------------------


def test_runs_show_unknown_id(reef: Reef) -> None:
    result = reef("runs", "show", "deadbeef")
    assert_usage_error(result, "deadbeef")
    data = assert_json_error(reef("runs", "show", "deadbeef", "--json"), "deadbeef")
    assert data["error"] == "RunNotFound"


def _seed_runs(reef: Reef, record: dict[str, Any], ids: list[str]) -> None:
    """Store copies of a real record under chosen ids, to make an ambiguous prefix."""
    from reef.meta.run import load_record
    from reef.results import Store

    reef.home.mkdir(parents=True, exist_ok=True)
    original = load_record(dict(record))
    with Store(f"sqlite:///{reef.home / 'reef.db'}") as store:
        for run_id in ids:
            store.add(original.model_copy(update={"id": run_id}))


def test_runs_show_ambiguous_prefix_lists_candidates(reef: Reef, benched: Benched) -> None:
    ids = ["abcd1" + "0" * 27, "abcd2" + "0" * 27, "f00d" + "0" * 28]
    _seed_runs(reef, benched.records[0], ids)
    result = reef("runs", "show", "abcd")
    assert_usage_error(result, "abcd", "ambiguous", ids[0], ids[1])
    assert ids[2] not in result.stderr
    data = assert_json_error(reef("runs", "show", "abcd", "--json"), "ambiguous", ids[0], ids[1])
    assert data["error"] == "RunNotFound"
    # one more character makes it unique
    assert reef.ok("runs", "show", "abcd2", "--json").json()["id"] == ids[1]
    assert sorted(r["id"] for r in reef.runs()) == sorted(ids)
