"""The ONNX Runtime predictor and the predictor registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from reef.errors import PredictorError
from reef.predictors import registry
from reef.predictors.base import Predictor, PredictorOptions, Signature, TensorSpec
from reef.predictors.onnxruntime import OnnxRuntimePredictor, choose_providers

MakeOnnx = Callable[..., Path]


def reference(model_path: Path, x: np.ndarray) -> np.ndarray:
    """softmax(x @ W + b) computed with numpy from the model's own weights."""
    weights = {
        t.name: numpy_helper.to_array(t) for t in onnx.load(str(model_path)).graph.initializer
    }
    logits = x.astype(np.float64) @ weights["W"].astype(np.float64) + weights["b"]
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_open_returns_the_models_signature(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    signature = predictor.open(make_onnx(input_shape=[None, 4], output_dim=3), PredictorOptions())
    assert signature == Signature(
        inputs=(TensorSpec("x", "float32", ("batch", 4)),),
        outputs=(TensorSpec("y", "float32", ("batch", 3)),),
    )


def test_signature_types_and_symbolic_dims(make_onnx: MakeOnnx, tmp_path: Path) -> None:
    path = make_onnx(
        tmp_path / "wide.onnx",
        input_shape=[2, "seq", None, 5],
        output_dim=7,
        dtype="float64",
        input_name="tokens",
        output_name="scores",
    )
    signature = OnnxRuntimePredictor().open(path, PredictorOptions())
    (inp,) = signature.inputs
    (out,) = signature.outputs
    assert inp == TensorSpec("tokens", "float64", (2, "seq", "d2", 5))
    assert out == TensorSpec("scores", "float64", (2, "seq", "d2", 7))
    assert all(isinstance(d, int | str) for d in inp.shape)


def test_predict_matches_numpy(make_onnx: MakeOnnx) -> None:
    path = make_onnx(input_shape=[None, 4], output_dim=3)
    predictor = OnnxRuntimePredictor()
    predictor.open(path, PredictorOptions(threads=1))
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    (y,) = predictor.predict({"x": x})
    assert y.shape == (5, 3)
    np.testing.assert_allclose(y, reference(path, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_returns_outputs_in_signature_order(make_onnx: MakeOnnx) -> None:
    path = make_onnx(input_shape=[None, 4], output_dim=3, softmax=False)
    predictor = OnnxRuntimePredictor()
    signature = predictor.open(path, PredictorOptions())
    outputs = predictor.predict({"x": np.zeros((1, 4), dtype=np.float32)})
    assert len(outputs) == len(signature.outputs) == 1
    assert outputs[0].shape == (1, 3)


@pytest.mark.parametrize("level", ["none", "basic", "extended", "all"])
def test_graph_optimisation_levels(make_onnx: MakeOnnx, level: str) -> None:
    predictor = OnnxRuntimePredictor()
    predictor.open(make_onnx(), PredictorOptions(graph_optimization=level, threads=2))
    info = predictor.info()
    # threads set one inter-op thread too: the record says so
    assert info["options"] == {"threads": 2, "graph_optimization": level, "inter_op_threads": 1}
    assert "CPUExecutionProvider" in info["providers"]


def test_unknown_graph_optimisation_level(make_onnx: MakeOnnx) -> None:
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), PredictorOptions(graph_optimization="max"))
    assert "'max'" in info.value.message
    assert info.value.hint is not None
    for level in ("none", "basic", "extended", "all"):
        assert level in info.value.hint


def test_explicit_provider(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    predictor.open(make_onnx(), PredictorOptions(providers=["CPUExecutionProvider"]))
    assert predictor.info()["providers"] == ["CPUExecutionProvider"]


def test_unavailable_provider_is_an_error(make_onnx: MakeOnnx) -> None:
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), PredictorOptions(providers=["NoSuchProvider"]))
    assert "NoSuchProvider" in info.value.message


def test_choose_providers_prefers_the_best_available() -> None:
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(None, available) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers([], ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_choose_providers_keeps_the_requested_order() -> None:
    available = ["CUDAExecutionProvider", "CPUExecutionProvider", "OpenVINOExecutionProvider"]
    requested = ["OpenVINOExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(requested, available) == requested


def test_choose_providers_names_missing_and_available() -> None:
    with pytest.raises(PredictorError) as info:
        choose_providers(
            ["CUDAExecutionProvider", "FancyExecutionProvider"], ["CPUExecutionProvider"]
        )
    assert "CUDAExecutionProvider" in info.value.message
    assert "FancyExecutionProvider" in info.value.message
    assert info.value.hint is not None and "CPUExecutionProvider" in info.value.hint


def test_corrupt_model_file(tmp_path: Path, make_onnx: MakeOnnx) -> None:
    good = make_onnx()
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(bad, PredictorOptions())
    assert str(bad) in info.value.message
    assert "could not load" in info.value.message


def test_text_file_is_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "notes.onnx"
    bad.write_text("this is not a model\n")
    with pytest.raises(PredictorError):
        OnnxRuntimePredictor().open(bad, PredictorOptions())


def test_close_forgets_the_session(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    predictor.open(make_onnx(), PredictorOptions())
    predictor.close()
    assert predictor.info()["providers"] == []


def test_version_is_onnxruntimes() -> None:
    import onnxruntime

    assert OnnxRuntimePredictor().version() == onnxruntime.__version__


# --- ONNX Runtime's own options --------------------------------------------------------------


def test_session_options_are_applied_and_recorded(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    options = PredictorOptions(
        threads=1,
        session_config={"session.intra_op.allow_spinning": "0"},
        inter_op_threads=2,
        execution_mode="parallel",
    )
    predictor.open(make_onnx(), options)
    applied = predictor._session.get_session_options()
    assert applied.inter_op_num_threads == 2
    assert applied.intra_op_num_threads == 1
    assert str(applied.execution_mode).endswith("ORT_PARALLEL")
    assert applied.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert predictor.info()["options"] == {
        "threads": 1,
        "graph_optimization": "all",
        "inter_op_threads": 2,
        "execution_mode": "parallel",
        "session_config": {"session.intra_op.allow_spinning": "0"},
    }
    (y,) = predictor.predict({"x": np.ones((2, 4), dtype=np.float32)})
    assert y.shape == (2, 3)


def test_threads_alone_keep_one_inter_op_thread(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    predictor.open(make_onnx(), PredictorOptions(threads=2))
    assert predictor._session.get_session_options().inter_op_num_threads == 1


def test_no_options_record_only_the_defaults(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    predictor.open(make_onnx(), PredictorOptions())
    assert predictor.info()["options"] == {"threads": None, "graph_optimization": "all"}


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_execution_modes(make_onnx: MakeOnnx, mode: str) -> None:
    predictor = OnnxRuntimePredictor()
    predictor.open(make_onnx(), PredictorOptions(execution_mode=mode))
    applied = predictor._session.get_session_options().execution_mode
    assert str(applied).endswith(f"ORT_{mode.upper()}")
    assert predictor.info()["options"]["execution_mode"] == mode


def test_unknown_execution_mode(make_onnx: MakeOnnx) -> None:
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), PredictorOptions(execution_mode="eager"))
    assert "'eager'" in info.value.message and "parallel" in info.value.message


def test_too_many_inter_op_threads(make_onnx: MakeOnnx) -> None:
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), PredictorOptions(inter_op_threads=10**9))
    assert "inter-op threads" in info.value.message


def test_provider_options_go_to_their_provider(make_onnx: MakeOnnx) -> None:
    predictor = OnnxRuntimePredictor()
    options = PredictorOptions(
        providers=["CPUExecutionProvider"],
        provider_options={"CPUExecutionProvider": {"arena_extend_strategy": "kSameAsRequested"}},
    )
    predictor.open(make_onnx(), options)
    assert predictor.info()["options"]["provider_options"] == {
        "CPUExecutionProvider": {"arena_extend_strategy": "kSameAsRequested"}
    }


def test_provider_options_for_a_provider_not_in_use(make_onnx: MakeOnnx) -> None:
    options = PredictorOptions(
        providers=["CPUExecutionProvider"],
        provider_options={"CUDAExecutionProvider": {"device_id": "1"}},
    )
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), options)
    assert "CUDAExecutionProvider" in info.value.message
    assert "CPUExecutionProvider" in info.value.message
    assert info.value.hint is not None and "--provider CUDAExecutionProvider" in info.value.hint


def test_a_key_onnxruntime_refuses_is_named(make_onnx: MakeOnnx) -> None:
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), PredictorOptions(session_config={"": "1"}))
    assert info.value.message.startswith("session config =1: onnxruntime refused it")
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "key", ["session.graph_optimizations_loop_level", "session.intra_op_thread_affinities"]
)
def test_a_value_onnxruntime_refuses_is_named(make_onnx: MakeOnnx, key: str) -> None:
    options = PredictorOptions(threads=2, session_config={key: "garbage"})
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(make_onnx(), options)
    message = info.value.message
    assert message.startswith(f"session config {key}=garbage: onnxruntime refused it: ")
    assert "\n" not in message and "could not load the model" not in message


def test_a_broken_model_with_options_blames_the_model(tmp_path: Path) -> None:
    bad = tmp_path / "notes.onnx"
    bad.write_text("this is not a model\n")
    options = PredictorOptions(session_config={"session.intra_op.allow_spinning": "0"})
    with pytest.raises(PredictorError) as info:
        OnnxRuntimePredictor().open(bad, options)
    assert "could not load the model" in info.value.message


# --- the registry --------------------------------------------------------------------------


def test_registry_creates_onnxruntime() -> None:
    assert "onnxruntime" in registry.available()
    predictor = registry.create("onnxruntime")
    assert isinstance(predictor, OnnxRuntimePredictor)
    assert isinstance(predictor, Predictor)
    assert predictor.name == "onnxruntime"


def test_registry_creates_a_new_predictor_each_time() -> None:
    assert registry.create("onnxruntime") is not registry.create("onnxruntime")


def test_registry_unknown_framework_lists_installed_predictors() -> None:
    with pytest.raises(PredictorError) as info:
        registry.create("nope")
    assert "'nope'" in info.value.message
    assert info.value.hint is not None
    assert "installed predictors: onnxruntime" in info.value.hint
    assert "reef.predictors" in info.value.hint
