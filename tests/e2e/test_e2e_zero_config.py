"""Zero-config: a bare ONNX file benchmarks with synthetic inputs; --shape sets their shape.
The refused --shape values are checked in-process in ``tests/cli/test_cli_zero_config.py``."""

from __future__ import annotations

from pathlib import Path

from e2e_support import SHORT, Reef, sha256


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
