"""Loading manifests: the built-ins load, and every problem names its file and field path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import reef
from reef import api
from reef.errors import ManifestError
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_dataset_manifest, load_manifest, load_model_manifest
from reef.meta.model import ModelManifest
from reef.meta.steps import BUILTIN_STEPS, PluginStep, step_name, step_params

BUILTIN = Path(reef.__file__).parent / "builtin"
CLASSIFIER = BUILTIN / "digits-classifier" / "reef.yaml"
DIGITS = BUILTIN / "digits" / "reef.yaml"


@pytest.fixture
def base() -> dict[str, Any]:
    """The built-in classifier's manifest as plain data, to be broken by each test."""
    return yaml.safe_load(CLASSIFIER.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    """(location, message) of every problem loading ``path`` reports."""
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    for p in info.value.problems:
        assert p.file == str(path)
        assert str(p).startswith(f"{path}: ")
    return [(p.location, p.message) for p in info.value.problems]


def only_problem(path: Path) -> tuple[str, str]:
    found = problems(path)
    assert len(found) == 1, found
    return found[0]


# --- the built-ins --------------------------------------------------------------------------


def test_builtin_model_manifest_loads() -> None:
    manifest = load_manifest(CLASSIFIER)
    assert isinstance(manifest, ModelManifest)
    assert manifest.name == "digits-classifier"
    assert manifest.version == "1.0.0"
    assert manifest.framework.name == "onnxruntime"
    assert manifest.inputs[0].name == "input"
    assert manifest.inputs[0].shape == [-1, 64]
    assert [step_name(s) for s in manifest.inputs[0].steps] == ["scale"]
    assert manifest.dataset == "digits"
    assert manifest.accuracy is not None and manifest.accuracy.metric == "top1"


def test_builtin_dataset_manifest_loads() -> None:
    manifest = load_manifest(DIGITS)
    assert isinstance(manifest, DatasetManifest)
    assert manifest.name == "digits"
    assert manifest.features == "features"
    assert manifest.labels == "labels"
    assert manifest.samples > 0


@pytest.mark.parametrize("path", sorted(BUILTIN.glob("*/reef.yaml")), ids=lambda p: p.parent.name)
def test_every_builtin_manifest_loads(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.name == path.parent.name


def test_kind_specific_loaders(tmp_path: Path) -> None:
    assert isinstance(load_model_manifest(CLASSIFIER), ModelManifest)
    assert isinstance(load_dataset_manifest(DIGITS), DatasetManifest)
    with pytest.raises(ManifestError):
        load_dataset_manifest(CLASSIFIER)


# --- one problem, named by field path ------------------------------------------------------


def test_bad_step_parameter_names_the_nested_field(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["steps"] = [{"scale": {"factor": 1}}, {"resize": {"size": [1, 2, 3]}}]
    location, message = only_problem(write(tmp_path, base))
    assert location == "inputs[0].steps[1].resize.size"
    assert "[height, width]" in message


def test_missing_step_parameter(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["steps"] = [{"resize": {}}]
    assert only_problem(write(tmp_path, base)) == (
        "inputs[0].steps[0].resize.size",
        "required field is missing",
    )


def test_wrong_type_in_a_union_field_names_the_field_not_the_union_member(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    # resize.size is "an integer or [height, width]"; a string matches neither, and the
    # location must still be the field the user wrote, not pydantic's union member names.
    base["inputs"][0]["steps"] = [{"resize": {"size": "big"}}]
    found = problems(write(tmp_path, base))
    assert {location for location, _ in found} == {"inputs[0].steps[0].resize.size"}


def test_unknown_field_at_the_top_level(tmp_path: Path, base: dict[str, Any]) -> None:
    base["colour"] = "blue"
    assert only_problem(write(tmp_path, base)) == ("colour", "unknown field")


def test_unknown_field_inside_a_step(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["steps"] = [{"scale": {"factor": 2, "bogus": 1}}]
    assert only_problem(write(tmp_path, base)) == (
        "inputs[0].steps[0].scale.bogus",
        "unknown field",
    )


def test_unknown_field_in_a_source(tmp_path: Path, base: dict[str, Any]) -> None:
    base["sources"][0]["mirror"] = "elsewhere"
    assert only_problem(write(tmp_path, base)) == ("sources[0].mirror", "unknown field")


def test_bad_semver(tmp_path: Path, base: dict[str, Any]) -> None:
    base["version"] = "1.0"
    location, message = only_problem(write(tmp_path, base))
    assert location == "version"
    assert "'1.0' is not a semantic version" in message


def test_bad_sha256(tmp_path: Path, base: dict[str, Any]) -> None:
    base["sources"][0]["sha256"] = "ABC123"
    location, message = only_problem(write(tmp_path, base))
    assert location == "sources[0].sha256"
    assert "'ABC123' is not a sha256" in message


def test_bad_version_constraint(tmp_path: Path, base: dict[str, Any]) -> None:
    base["framework"]["version"] = ">>1.17"
    location, message = only_problem(write(tmp_path, base))
    assert location == "framework.version"
    assert "'>>1.17' is not a version constraint" in message


def test_missing_required_field(tmp_path: Path, base: dict[str, Any]) -> None:
    del base["name"]
    assert only_problem(write(tmp_path, base)) == ("name", "required field is missing")


def test_missing_required_nested_field(tmp_path: Path, base: dict[str, Any]) -> None:
    del base["inputs"][0]["shape"]
    assert only_problem(write(tmp_path, base)) == ("inputs[0].shape", "required field is missing")


def test_bad_element_type(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["element_type"] = "float99"
    location, message = only_problem(write(tmp_path, base))
    assert location == "inputs[0].element_type"
    assert "'float32'" in message


def test_bad_shape_dimension(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["shape"] = [-1, 0]
    location, message = only_problem(write(tmp_path, base))
    assert location.startswith("inputs[0]")
    assert "positive or -1" in message


def test_source_needs_exactly_one_location(tmp_path: Path, base: dict[str, Any]) -> None:
    base["sources"][0]["url"] = "https://example.com/model.onnx"
    location, message = only_problem(write(tmp_path, base))
    assert location == "sources[0]"
    assert "exactly one of 'path' or 'url'" in message


def test_step_with_two_keys(tmp_path: Path, base: dict[str, Any]) -> None:
    base["outputs"][0]["steps"] = [{"softmax": {}, "argmax": {}}]
    location, message = only_problem(write(tmp_path, base))
    assert location == "outputs[0].steps[0]"
    assert "exactly one key" in message


def test_invalid_step_values(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["steps"] = [{"normalize": {"mean": [0.5], "std": [0]}}]
    location, message = only_problem(write(tmp_path, base))
    assert location == "inputs[0].steps[0].normalize"
    assert "non-zero" in message


def test_duplicate_output_names(tmp_path: Path, base: dict[str, Any]) -> None:
    base["outputs"].append(copy.deepcopy(base["outputs"][0]))
    _, message = only_problem(write(tmp_path, base))
    assert "duplicate names ['probabilities']" in message


def test_accuracy_output_must_be_an_output(tmp_path: Path, base: dict[str, Any]) -> None:
    base["accuracy"]["output"] = "logits"
    _, message = only_problem(write(tmp_path, base))
    assert "'logits' is not an output" in message


# --- documents that are not manifests ------------------------------------------------------


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("kind: model\nname: digits\ninputs: [a, b\nversion: 1.0.0\n")
    location, message = only_problem(path)
    assert location.startswith("line ")
    assert ", column " in location
    line = int(location.split()[1].rstrip(","))
    assert line >= 3
    assert message.startswith("malformed YAML")


def test_tab_indentation_is_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("kind: model\nframework:\n\tname: onnxruntime\n")
    location, message = only_problem(path)
    assert location == "line 3, column 1"
    assert message.startswith("malformed YAML")


@pytest.mark.parametrize(
    ("text", "what"),
    [("- a\n- b\n", "got list"), ("just words\n", "got str"), ("", "got an empty document")],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(text)
    location, message = only_problem(path)
    assert location == ""
    assert "expected a mapping at the top level" in message
    assert what in message


def test_unknown_kind(tmp_path: Path, base: dict[str, Any]) -> None:
    base["kind"] = "notebook"
    location, message = only_problem(write(tmp_path, base))
    assert location == "kind"
    assert "'notebook'" in message
    assert all(k in message for k in ("dataset", "model", "solution", "program", "detector"))


def test_missing_kind(tmp_path: Path, base: dict[str, Any]) -> None:
    del base["kind"]
    location, message = only_problem(write(tmp_path, base))
    assert location == "kind"
    assert "missing" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert only_problem(path) == ("", "file not found")


def test_directory_is_not_a_manifest(tmp_path: Path) -> None:
    _, message = only_problem(tmp_path)
    assert "directory" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_bytes(b"kind: model\nname: \xff\xfe\n")
    _, message = only_problem(path)
    assert "UTF-8" in message


# --- several problems at once --------------------------------------------------------------


def test_every_problem_is_reported_at_once(tmp_path: Path, base: dict[str, Any]) -> None:
    base["version"] = "one"
    base["sources"][0]["sha256"] = "0" * 63
    base["inputs"][0]["steps"] = [{"scale": {"factor": 1}}, {"resize": {"size": [1, 2, 3]}}]
    base["colour"] = "blue"
    del base["outputs"]
    path = write(tmp_path, base)
    found = dict(problems(path))
    assert set(found) == {
        "version",
        "sources[0].sha256",
        "inputs[0].steps[1].resize.size",
        "colour",
        "outputs",
    }
    assert found["colour"] == "unknown field"
    assert found["outputs"] == "required field is missing"
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    text = info.value.message
    assert text.startswith("5 problems:")
    for location in found:
        assert f"{path}: {location}: " in text
    assert len(info.value.to_json()["problems"]) == 5  # type: ignore[arg-type]


def test_dataset_problems_name_their_fields(tmp_path: Path) -> None:
    data = yaml.safe_load(DIGITS.read_text(encoding="utf-8"))
    data["samples"] = 0
    data["format"] = "csv"
    found = dict(problems(write(tmp_path, data, "dataset.yaml")))
    assert set(found) == {"samples", "format"}


# --- step shorthand ------------------------------------------------------------------------


def test_bare_step_name_is_shorthand_for_default_parameters(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    base["outputs"][0]["steps"] = ["softmax", {"argmax": None}, {"top_k": {"k": 3}}]
    manifest = load_manifest(write(tmp_path, base))
    assert isinstance(manifest, ModelManifest)
    steps = manifest.outputs[0].steps
    assert isinstance(steps[0], BUILTIN_STEPS["softmax"].model)
    assert isinstance(steps[1], BUILTIN_STEPS["argmax"].model)
    assert [step_name(s) for s in steps] == ["softmax", "argmax", "top_k"]
    assert step_params(steps[0]).axis == -1
    assert step_params(steps[2]).k == 3


def test_unknown_step_is_kept_for_a_plugin(tmp_path: Path, base: dict[str, Any]) -> None:
    base["inputs"][0]["steps"] = [{"sharpen": {"amount": 2}}, "denoise"]
    manifest = load_manifest(write(tmp_path, base))
    assert isinstance(manifest, ModelManifest)
    first, second = manifest.inputs[0].steps
    assert isinstance(first, PluginStep)
    assert step_name(first) == "sharpen"
    assert step_params(first) == {"amount": 2}
    assert step_name(second) == "denoise"


# --- JSON schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["model", "dataset", "run", "settings"])
def test_json_schema_generates(kind: str) -> None:
    schema = api.schema(kind)
    json.dumps(schema)  # serialisable
    assert schema["type"] == "object"
    assert schema["properties"]


def test_model_schema_describes_the_manifest() -> None:
    schema = api.schema("model")
    assert {"name", "version", "framework", "sources", "inputs", "outputs"} <= set(
        schema["required"]
    )
    assert schema.get("additionalProperties") is False


def test_unknown_schema_kind() -> None:
    with pytest.raises(reef.errors.ReefError) as info:
        api.schema("notebook")
    assert "notebook" in info.value.message
    assert info.value.hint is not None and "component" in info.value.hint


def test_component_schema_is_a_union_on_kind() -> None:
    schema = api.schema("component")
    assert schema["discriminator"]["propertyName"] == "kind"
    assert set(schema["discriminator"]["mapping"]) == {
        "model",
        "dataset",
        "solution",
        "program",
        "detector",
    }
    program = schema["$defs"]["ProgramManifest"]
    assert {"requires", "python", "tags", "command"} <= set(program["properties"])


@pytest.mark.parametrize("version", ["1.0.0-rc.1", "1.0.0-beta.2", "2.1.0+build.5"])
def test_prereleases_python_packaging_orders_are_accepted(
    tmp_path: Path, base: dict[str, Any], version: str
) -> None:
    base["version"] = version
    assert load_manifest(write(tmp_path, base)).version == version


def test_a_prerelease_packaging_cannot_order_is_refused(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    base["version"] = "1.0.0-foo"
    location, message = only_problem(write(tmp_path, base))
    assert location == "version"
    assert "pre-release" in message
