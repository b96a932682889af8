"""``reef bench``'s backend and ONNX Runtime options: how they are read, and what is refused
before anything runs (in-process; ``tests/e2e/test_e2e_backend_option.py`` runs them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import SHORT, assert_json_error, assert_usage_error

from reef.cli.bench import parse_provider_options, parse_session_config
from reef.errors import SettingsError


def test_session_config_entries_are_read() -> None:
    assert parse_session_config(
        ["session.intra_op.allow_spinning=0", "a.b=x=y", "a.b=z", "empty="]
    ) == {"session.intra_op.allow_spinning": "0", "a.b": "z", "empty": ""}


@pytest.mark.parametrize("value", ["no-equals", "=1", " =1"])
def test_a_session_config_entry_needs_key_and_value(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_session_config([value])
    assert info.value.message.startswith(f"--session-config {value!r}: expected KEY=VALUE")


def test_provider_options_are_read_per_provider() -> None:
    assert parse_provider_options(
        [
            "CUDAExecutionProvider:device_id=1",
            "CUDAExecutionProvider:gpu_mem_limit=1024",
            "TensorrtExecutionProvider:trt_engine_cache_path=/tmp/a:b=c",
        ]
    ) == {
        "CUDAExecutionProvider": {"device_id": "1", "gpu_mem_limit": "1024"},
        "TensorrtExecutionProvider": {"trt_engine_cache_path": "/tmp/a:b=c"},
    }


@pytest.mark.parametrize("value", ["device_id=1", "CUDAExecutionProvider:device_id", ":a=1"])
def test_a_provider_option_needs_provider_key_and_value(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_provider_options([value])
    assert "expected PROVIDER:KEY=VALUE" in info.value.message


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--backend", "onnxruntime", "--backend", "onnxruntime"), ("--backend onnxruntime",)),
        (("--backend", "nope"), ("--backend nope", "installed backends", "onnxruntime")),
        (("--session-config", "oops"), ("--session-config 'oops'",)),
        (("--provider-option", "device_id=1"), ("--provider-option 'device_id=1'",)),
        (("--execution-mode", "eager"), ("--execution-mode eager",)),
        (("--inter-op-threads", "0"), ("--inter-op-threads 0",)),
        (("--inter-op-threads", "100000"), ("--inter-op-threads 100000", "per usable core")),
        (
            ("--session-config", "session.inter_op.allow_spinning=yes"),
            ("session.inter_op.allow_spinning", "expected 0 or 1"),
        ),
        (
            ("--provider-option", "Cuda:device_id=0"),
            ("--provider-option", "'Cuda' is not an execution provider name"),
        ),
    ],
)
def test_bad_options_are_refused_with_nothing_recorded(
    cli: InProcessReef, tiny_onnx: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, *args, "--json")
    assert_usage_error(result, *fragments)
    assert_json_error(result)
    cli.assert_nothing_written(list_runs=True)


def test_execution_mode_in_any_case(cli: InProcessReef, tiny_onnx: Path) -> None:
    # read as "parallel"; refused later for another reason, before anything runs
    result = cli("bench", str(tiny_onnx), *SHORT, "--execution-mode", "PARALLEL", "-b", "nope")
    assert_usage_error(result, "--backend nope")


def test_onnxruntime_options_for_a_manifest_of_another_framework(
    cli: InProcessReef, tiny_onnx: Path
) -> None:
    import yaml
    from e2e_support import tiny_manifest

    manifest = tiny_manifest(tiny_onnx)
    manifest["framework"] = {"name": "openvino"}
    path = tiny_onnx.parent / "reef.yaml"
    path.write_text(yaml.safe_dump(manifest))
    result = cli("bench", str(path), *SHORT, "--session-config", "a.b=1")
    assert_usage_error(result, "--session-config: ONNX Runtime's option", "openvino")
    cli.assert_nothing_written(list_runs=True)


def test_a_solution_takes_backends_too(cli: InProcessReef) -> None:
    result = cli("bench", "digits-classification", "-b", "onnxruntime", "-b", "onnxruntime")
    assert_usage_error(result, "--backend onnxruntime: given twice")
    cli.assert_nothing_written(list_runs=True)

    result = cli(
        "bench", "digits-classification", *SHORT, "--mode", "performance", "-b", "onnxruntime",
        "--session-config", "session.intra_op.allow_spinning=0", "--json",
    )  # fmt: skip
    assert result.rc in (0, 1), str(result)
    records = result.json()
    assert records
    for record in records:
        assert record["solution"]["name"] == "digits-classification"
        assert record["predictor"]["name"] == "onnxruntime"
        assert record["predictor"]["options"]["session_config"] == {
            "session.intra_op.allow_spinning": "0"
        }
        assert record["lock"] is not None


def test_provider_options_for_a_provider_not_asked_for(cli: InProcessReef, tiny_onnx: Path) -> None:
    result = cli(
        "bench", str(tiny_onnx), *SHORT, "--provider", "CPUExecutionProvider",
        "--provider-option", "CUDAExecutionProvider:device_id=1",
    )  # fmt: skip
    assert_usage_error(
        result,
        "--provider-option CUDAExecutionProvider: not among the providers asked for "
        "(--provider CPUExecutionProvider)",
        "add --provider CUDAExecutionProvider",
    )
    cli.assert_nothing_written(list_runs=True)
