"""Broken manifests and nonsensical settings, each with what the error must say: shared by the
real-process tests (``test_e2e_bad_input``, a few of each) and the in-process ones
(``tests/cli/test_cli_bad_input``, every one), so both check the same expectations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    Case("batch-axis-out-of-range", _set("inputs.0.batch_axis", 4),
         says=("model.yaml", "inputs[0].batch_axis", "batch_axis 4 is out of range")),
    Case("value-wrong-type", _set("inputs.0.value", "loud"),
         says=("model.yaml", "inputs[0].value", "'loud' is not of the input's type float32")),
    Case("value-wrong-shape", _set("inputs.0.value", [1.0, 2.0]),
         says=("model.yaml", "inputs[0].value", "has shape [2] but the input's shape is")),
    Case("state-naming-no-output", _set("inputs.0.state", "hidden"),
         says=("model.yaml", "inputs[0].state", "'hidden' is not an output of the model")),
]  # fmt: skip


def cases(*ids: str) -> list[Any]:
    """``CASES`` as pytest parameters, each named by its id; only ``ids`` when given."""
    chosen = [c for c in CASES if not ids or c.id in ids]
    assert not ids or len(chosen) == len(ids), f"unknown case in {ids}"
    return [pytest.param(c, id=c.id) for c in chosen]


def add_unknown_step(manifest: Path, section: str) -> None:
    """Put a ``frobnicate`` step first in ``section`` (inputs or outputs) of ``manifest``."""
    data = yaml.safe_load(manifest.read_text())
    data[section][0]["steps"].insert(0, {"frobnicate": {}})
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


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
    pytest.param(["--repeat", "0"], ("--repeat", "greater than or equal to 1"), id="zero-repeat"),
    pytest.param(["--repeat", "-1"], ("--repeat", "greater than or equal to 1"),
                 id="negative-repeat"),
    pytest.param(["--repeat", "101"], ("--repeat", "100"), id="too-many-repeats"),
    pytest.param(["--repeat", "2", "--mode", "accuracy"], ("--repeat", "accuracy"),
                 id="repeat-accuracy-only"),
    pytest.param(["--repeat", "2", "--in-process"], ("--repeat", "--in-process"),
                 id="repeat-in-process"),
    pytest.param(["--cpus", "9999"], ("--cpus", "core 9999 does not exist"), id="no-such-core"),
    pytest.param(["--cpus", "0,0"], ("--cpus", "core 0 is given twice"), id="duplicate-core"),
    pytest.param(["--cpus", "0-0,0"], ("--cpus", "twice"), id="duplicate-core-in-range"),
    pytest.param(["--cpus", "x"], ("--cpus", "not a core number"), id="core-not-a-number"),
    pytest.param(["--cpus", "3-1"], ("--cpus", "backwards"), id="backwards-core-range"),
    pytest.param(["--cpus", "0-99999999999"], ("--cpus", "core 99999999999 does not exist"),
                 id="huge-core-range"),
    pytest.param(["--cpus", "\u00b2"], ("--cpus", "not a core number"), id="superscript-core"),
    pytest.param(["--cpus", ""], ("--cpus",), id="no-cores"),
    pytest.param(["--cpus", "0", "--in-process"], ("--cpus", "--in-process"),
                 id="cpus-in-process"),
]  # fmt: skip
