"""The installed framework must satisfy the manifest's version constraint."""

from __future__ import annotations

import pytest

from reef.errors import ManifestError
from reef.meta.model import ModelManifest
from reef.predictors.compat import check_framework_version


def manifest(constraint: str) -> ModelManifest:
    return ModelManifest.model_validate(
        {
            "name": "m",
            "version": "1.0.0",
            "framework": {"name": "onnxruntime", "version": constraint},
            "sources": [{"path": "m.onnx", "sha256": "0" * 64}],
            "inputs": [{"name": "x", "shape": [-1, 4]}],
            "outputs": [{"name": "y"}],
        }
    )


@pytest.mark.parametrize(
    ("constraint", "installed"),
    [
        (">=1.17,<2", "1.20.1"),
        ("", "0.1.0"),
        ("==1.18.*", "1.18.3"),
        (">=1.17", "1.19.0rc1"),
        (">=1.17", "1.20.0+cu121"),
    ],
)
def test_satisfied(constraint: str, installed: str) -> None:
    check_framework_version(manifest(constraint), installed, "model.yaml")


def test_outside_constraint_names_installed_version_and_constraint() -> None:
    with pytest.raises(ManifestError) as info:
        check_framework_version(manifest(">=1.17,<2"), "2.1.0", "model.yaml")
    (problem,) = info.value.problems
    assert problem.file == "model.yaml"
    assert problem.location == "framework.version"
    assert "onnxruntime 2.1.0 is installed" in problem.message
    assert ">=1.17,<2" in problem.message
    assert info.value.hint is not None
    assert "onnxruntime>=1.17,<2" in info.value.hint


def test_too_old() -> None:
    with pytest.raises(ManifestError) as info:
        check_framework_version(manifest(">=1.17"), "1.16.3", "model.yaml")
    assert "1.16.3" in info.value.message
    assert ">=1.17" in info.value.message


def test_unparseable_installed_version_is_not_compared() -> None:
    check_framework_version(manifest(">=1.17"), "custom-build", "model.yaml")


def test_installed_onnxruntime_satisfies_the_builtin_constraint() -> None:
    import onnxruntime

    check_framework_version(manifest(">=1.17,<2"), onnxruntime.__version__, "model.yaml")
