"""Issue 13, items 8 and 10: manifests refuse NaN and infinity in every number, and names and
versions long enough to break the file names made from them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from reef.meta.common import MAX_NAME_LENGTH, MAX_VERSION_LENGTH, check_name, check_semver
from reef.meta.component import split_requirement
from reef.meta.dataset import DatasetManifest
from reef.meta.lock import Lock
from reef.meta.model import ModelManifest
from reef.meta.settings import BenchSettings
from reef.meta.solution import SolutionManifest

SHA = "0" * 64
MODEL: dict[str, Any] = {
    "kind": "model",
    "name": "tiny",
    "version": "1.0.0",
    "framework": {"name": "onnxruntime"},
    "sources": [{"path": "model.onnx", "sha256": SHA}],
    "inputs": [{"name": "x", "shape": [-1, 4], "steps": [{"scale": {"factor": 0.5}}]}],
    "outputs": [{"name": "y"}],
    "accuracy": {"metric": "top1", "reference": 0.9, "threshold": 0.99},
}


def model(**paths: Any) -> dict[str, Any]:
    """MODEL with ``a.b.0.c=value`` style changes (``__`` separates the parts)."""
    data = copy.deepcopy(MODEL)
    for path, value in paths.items():
        *parents, last = path.split("__")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return data


def error_at(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    return ".".join(str(p) for p in err["loc"]), err["msg"]


# --- item 8: NaN and infinity ------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "nan", "Infinity"])
@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("accuracy__reference", "accuracy.reference"),
        ("accuracy__threshold", "accuracy.threshold"),
        ("inputs__0__steps__0__scale__factor", "inputs.0.steps.0.scale.scale.factor"),
    ],
)
def test_model_refuses_non_finite_numbers(field: str, where: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        ModelManifest.model_validate(model(**{field: value}))
    loc, msg = error_at(info.value)
    assert loc == where
    assert "finite" in msg


@pytest.mark.parametrize(
    "step",
    [
        {"scale": {"offset": float("nan")}},
        {"normalize": {"mean": [float("inf")], "std": [1.0]}},
        {"normalize": {"mean": [0.0], "std": [float("nan")]}},
        {"resize_pad": {"height": 4, "width": 4, "pad_value": float("-inf")}},
    ],
)
def test_every_builtin_step_refuses_non_finite_numbers(step: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="finite"):
        ModelManifest.model_validate(model(inputs__0__steps=[step]))


def test_finite_numbers_still_pass() -> None:
    manifest = ModelManifest.model_validate(model(accuracy__reference=1e300))
    assert manifest.accuracy is not None and manifest.accuracy.reference == 1e300


def test_settings_refuse_non_finite_numbers() -> None:
    with pytest.raises(ValidationError, match="finite"):
        BenchSettings(scenario="Server", target_qps=float("inf"))
    with pytest.raises(ValidationError, match="finite"):
        BenchSettings(scenario="Server", latency_bound_ms=float("nan"))


# --- item 10: names and versions -----------------------------------------------------------------


def test_name_at_the_limit_passes_and_one_more_is_refused() -> None:
    assert check_name("a" * MAX_NAME_LENGTH) == "a" * MAX_NAME_LENGTH
    with pytest.raises(ValueError, match=f"101 characters long; at most {MAX_NAME_LENGTH}"):
        check_name("a" * (MAX_NAME_LENGTH + 1))


def test_a_5000_character_name_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as info:
        ModelManifest.model_validate(model(name="m" * 5000))
    loc, msg = error_at(info.value)
    assert loc == "name"
    assert "5,000 characters" in msg
    assert "m" * 200 not in str(info.value)


def test_long_version_is_refused() -> None:
    long = "1.0.0-" + "a" * MAX_VERSION_LENGTH
    with pytest.raises(ValueError, match="characters long"):
        check_semver(long)
    with pytest.raises(ValidationError) as info:
        ModelManifest.model_validate(model(version=long))
    assert error_at(info.value)[0] == "version"


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (
            DatasetManifest,
            {
                "kind": "dataset",
                "name": "d" * 101,
                "version": "1.0.0",
                "sources": [{"path": "d.npz", "sha256": SHA}],
                "features": "x",
                "samples": 1,
            },
        ),
        (SolutionManifest, {"kind": "solution", "name": "s" * 101, "version": "1.0.0"}),
        (
            SolutionManifest,
            {"kind": "solution", "name": "s", "version": "1.0.0", "requires": ["r" * 101]},
        ),
        (
            SolutionManifest,
            {
                "kind": "solution",
                "name": "s",
                "version": "1.0.0",
                "requires_software": {"g" * 101: ">=1"},
            },
        ),
    ],
    ids=["dataset-name", "solution-name", "requirement", "software"],
)
def test_every_kind_caps_names(cls: type[Any], data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="characters long"):
        cls.model_validate(data)


def test_requirement_name_is_capped() -> None:
    assert split_requirement("a" * MAX_NAME_LENGTH + " >=1")[0] == "a" * MAX_NAME_LENGTH
    with pytest.raises(ValueError, match="characters long"):
        split_requirement("a" * (MAX_NAME_LENGTH + 1) + "@1.0.0")


def test_lock_entries_are_capped() -> None:
    with pytest.raises(ValidationError, match="characters long"):
        Lock.model_validate(
            {
                "target": "x",
                "root": "x" * 101,
                "components": [],
            }
        )


def test_dataset_reference_is_capped() -> None:
    with pytest.raises(ValidationError) as info:
        ModelManifest.model_validate(model(dataset="d" * 256))
    assert error_at(info.value)[0] == "dataset"


def test_plugin_step_parameters_refuse_non_finite_numbers() -> None:
    from reef.errors import ManifestError
    from reef.meta.load import validate

    steps = [{"myplug": {"a": {"b": [1.0, float("nan")]}}}]
    with pytest.raises(ManifestError) as info:
        validate(model(inputs__0__steps=steps), ModelManifest, "m.yaml")
    problem = info.value.problems[0]
    assert problem.location == "inputs[0].steps[0].myplug.a.b[1]"
    assert "finite" in problem.message
    ok = [{"myplug": {"a": {"b": [1.0, 2.0]}, "c": "nan"}}]
    assert ModelManifest.model_validate(model(inputs__0__steps=ok))
