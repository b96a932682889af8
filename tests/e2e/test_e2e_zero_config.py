"""Zero-config: a bare ONNX file benchmarks with synthetic inputs; --shape sets their shape."""

from __future__ import annotations

from pathlib import Path

from e2e_support import (
    SHORT,
    ManifestWriter,
    Reef,
    assert_json_error,
    assert_usage_error,
    sha256,
)


def test_bare_onnx_benchmarks_with_synthetic_inputs(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), *SHORT, "--json")
    assert result.rc == 0, str(result)
    [record] = result.json()
    assert record["status"] == "valid", record["reasons"]
    assert record["target"]["kind"] == "onnx"
    assert record["target"]["name"] == "tiny"
    assert record["target"]["path"] == str(tiny_onnx.resolve())
    assert record["target"]["sha256"] == sha256(tiny_onnx)
    assert record["samples"]["synthetic"] is True
    assert record["samples"]["shapes"] == {"x": [3, 8, 8]}  # "batch" became 1 per sample
    assert record["performance"]["latency_ms"]["p50"] > 0
    accuracy = record["accuracy"]
    assert accuracy["value"] is None and accuracy["passed"] is None
    assert "not applicable" in accuracy["note"]
    assert result.says("not applicable")
    assert [r["id"] for r in reef.runs()] == [record["id"]]


def test_shape_option_sets_the_input_shape(reef: Reef, tiny_onnx: Path) -> None:
    result = reef(
        "bench", str(tiny_onnx), *SHORT, "--mode", "performance", "--shape", "x=1x3x8x8", "--json"
    )
    assert result.rc == 0, str(result)
    [record] = result.json()
    assert record["status"] == "valid", record["reasons"]
    assert record["samples"]["shapes"] == {"x": [3, 8, 8]}
    assert record["accuracy"] is None


def test_shape_with_wrong_rank_is_bad_input(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), *SHORT, "--shape", "x=1x3", "--json")
    assert_usage_error(result, "--shape x", "2 dimensions", "4")
    assert_json_error(result, "--shape x")
    reef.assert_nothing_written(list_runs=True)


def test_shape_naming_an_unknown_input_is_bad_input(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), *SHORT, "--shape", "nope=1x3x8x8")
    assert_usage_error(result, "nope", "x")
    reef.assert_nothing_written()


def test_shape_that_is_not_dims_is_bad_input(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), *SHORT, "--shape", "x=1xAx8x8")
    assert_usage_error(result, "--shape", "x=1xAx8x8")
    reef.assert_nothing_written()


def test_shape_on_a_manifest_is_bad_input(reef: Reef, write_manifest: ManifestWriter) -> None:
    manifest = write_manifest()
    result = reef("bench", str(manifest), *SHORT, "--shape", "x=1x3x8x8")
    assert_usage_error(result, "--shape", "bare ONNX")
    reef.assert_nothing_written()
