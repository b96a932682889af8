"""``reef bench --backend`` and ONNX Runtime's own options, through the real CLI: a backend
named twice or unknown is refused with nothing recorded; session config, inter-op threads and
the execution mode reach ONNX Runtime and the record; two backends give two runs side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SHORT, Reef

PERFORMANCE = (*SHORT, "--mode", "performance")
# The run was measured and recorded: 0 valid, 1 invalid (a short run on a busy shared machine
# can miss LoadGen's minimums; what these tests check is what ran).
MEASURED = (0, 1)


def test_a_backend_named_twice_is_refused(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), "--backend", "onnxruntime", "--backend", "onnxruntime")
    assert result.rc == 2, str(result)
    assert result.says("--backend onnxruntime: given twice"), str(result)
    assert "Traceback" not in result.stderr
    reef.assert_nothing_written(list_runs=True)


def test_an_unknown_backend_is_refused_listing_the_installed(reef: Reef, tiny_onnx: Path) -> None:
    result = reef("bench", str(tiny_onnx), "--backend", "tensorflow")
    assert result.rc == 2, str(result)
    assert result.says("--backend tensorflow: no such backend", "installed backends:"), str(result)
    assert result.says("onnxruntime"), str(result)
    reef.assert_nothing_written(list_runs=True)


def test_onnxruntime_options_run_and_are_recorded(reef: Reef, tiny_onnx: Path) -> None:
    result = reef(
        "bench", str(tiny_onnx), *PERFORMANCE,
        "--session-config", "session.intra_op.allow_spinning=0",
        "--inter-op-threads", "2", "--execution-mode", "parallel", "--json",
    )  # fmt: skip
    assert result.rc in MEASURED, str(result)
    [record] = result.json()
    options = record["predictor"]["options"]
    assert options["session_config"] == {"session.intra_op.allow_spinning": "0"}
    assert options["inter_op_threads"] == 2
    assert options["execution_mode"] == "parallel"
    assert record["predictor"]["name"] == "onnxruntime"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--session-config", "session.intra_op.allow_spinning"), "--session-config"),
        (
            ("--session-config", "session.intra_op.allow_spinning=5"),
            "--session-config: session.intra_op.allow_spinning: expected 0 or 1, got '5'",
        ),
        (("--provider-option", "CUDA:device_id=0"), "not an execution provider name"),
        (("--execution-mode", "eager"), "--execution-mode eager"),
        (("--inter-op-threads", "0"), "--inter-op-threads 0"),
        (
            ("--provider-option", "CUDAExecutionProvider:device_id=0"),
            "provider options for CUDAExecutionProvider",
        ),
    ],
)
def test_bad_onnxruntime_options_are_refused(
    reef: Reef, tiny_onnx: Path, args: tuple[str, ...], words: str
) -> None:
    result = reef("bench", str(tiny_onnx), *PERFORMANCE, *args)
    assert result.rc == 2, str(result)
    assert result.says(words), str(result)
    assert "Traceback" not in result.stderr
    reef.assert_nothing_written(list_runs=True)


def test_manifest_options_apply_and_the_cli_overrides_them(
    reef: Reef, write_manifest: Callable[..., Path]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["framework"]["options"] = {
            "session_config": {
                "session.intra_op.allow_spinning": 0,
                "session.disable_prepacking": 1,
            },
            "execution_mode": "parallel",
            "inter_op_threads": 2,
        }

    manifest = write_manifest(edit)
    result = reef(
        "bench", str(manifest), *PERFORMANCE,
        "--session-config", "session.disable_prepacking=0", "--execution-mode", "sequential",
        "--json",
    )  # fmt: skip
    assert result.rc in MEASURED, str(result)
    [record] = result.json()
    options = record["predictor"]["options"]
    assert options["session_config"] == {
        "session.intra_op.allow_spinning": "0",
        "session.disable_prepacking": "0",
    }
    assert options["execution_mode"] == "sequential"
    assert options["inter_op_threads"] == 2


def test_a_bad_manifest_option_names_the_field(
    reef: Reef, write_manifest: Callable[..., Path]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["framework"]["options"] = {"execution_mode": "eager"}

    result = reef("bench", str(write_manifest(edit)), *PERFORMANCE)
    assert result.rc == 2, str(result)
    assert result.says("framework.options.execution_mode"), str(result)
    reef.assert_nothing_written(list_runs=True)


def _has_openvino() -> bool:
    from reef.predictors import registry

    return "openvino" in registry.available() and registry.installed("openvino")


def test_onnxruntime_options_for_another_backend_are_refused(reef: Reef, tiny_onnx: Path) -> None:
    if not _has_openvino():
        pytest.skip("the openvino backend is not installed")
    result = reef(
        "bench", str(tiny_onnx), *PERFORMANCE, "--backend", "onnxruntime", "--backend",
        "openvino", "--execution-mode", "parallel",
    )  # fmt: skip
    assert result.rc == 2, str(result)
    assert result.says("--execution-mode: ONNX Runtime's option, but the backend is openvino")
    reef.assert_nothing_written(list_runs=True)


def test_two_backends_two_runs_side_by_side(reef: Reef, tiny_onnx: Path) -> None:
    if not _has_openvino():
        pytest.skip("the openvino backend is not installed")
    args = ("bench", str(tiny_onnx), *PERFORMANCE, "--backend", "onnxruntime", "-b", "openvino")
    result = reef(*args)
    assert result.rc in MEASURED, str(result)
    # the table bench prints: a backend column, one row each
    assert "backend" in result.stdout, str(result)
    rows = [line for line in result.stdout.splitlines() if "tiny" in line]
    assert len(rows) == 2 and "onnxruntime" in rows[0] and "openvino" in rows[1], result.stdout
    records = reef.runs()
    assert sorted(r["predictor"]["name"] for r in records) == ["onnxruntime", "openvino"]
    # the same settings and seed, so the same synthetic inputs
    assert len({str(r["settings"]) for r in records}) == 1
    assert len({(r["samples"]["count"], str(r["samples"]["shapes"])) for r in records}) == 1
