"""Zero-config refusals in-process (see ``cli_support``): ``--shape`` of the wrong rank, naming
an unknown input, not made of dimensions, or given for a manifest. A bare ONNX file's benchmark
and ``--shape`` that works run as real processes in ``tests/e2e/test_e2e_zero_config.py``."""

from __future__ import annotations

from pathlib import Path

from cli_support import InProcessReef
from e2e_support import SHORT, ManifestWriter, assert_json_error, assert_usage_error


def test_shape_with_wrong_rank_is_bad_input(cli: InProcessReef, tiny_onnx: Path) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, "--shape", "x=1x3", "--json")
    assert_usage_error(result, "--shape x", "2 dimensions", "4")
    assert_json_error(result, "--shape x")
    cli.assert_nothing_written(list_runs=True)


def test_shape_naming_an_unknown_input_is_bad_input(cli: InProcessReef, tiny_onnx: Path) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, "--shape", "nope=1x3x8x8")
    assert_usage_error(result, "nope", "x")
    cli.assert_nothing_written()


def test_shape_that_is_not_dims_is_bad_input(cli: InProcessReef, tiny_onnx: Path) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, "--shape", "x=1xAx8x8")
    assert_usage_error(result, "--shape", "x=1xAx8x8")
    cli.assert_nothing_written()


def test_shape_on_a_manifest_is_bad_input(
    cli: InProcessReef, write_manifest: ManifestWriter
) -> None:
    manifest = write_manifest()
    result = cli("bench", str(manifest), *SHORT, "--shape", "x=1x3x8x8")
    assert_usage_error(result, "--shape", "bare ONNX")
    cli.assert_nothing_written()
