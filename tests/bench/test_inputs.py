"""Inputs as models really declare them: batch axes, scalars, index ranges, constants, state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.bench.inputs import infer_batch_axes, plan_inputs
from reef.bench.runner import prepare, run_job
from reef.bench.samples import synthetic, with_state
from reef.bench.target import job_for, resolve
from reef.errors import InputProblem, ManifestError, SettingsError
from reef.meta.model import InputSpec
from reef.meta.settings import BenchSettings
from reef.predictors.base import Signature, TensorSpec
from reef.predictors.onnx_graph import index_bounds

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FLOAT, INT64, BF16 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BFLOAT16


def save(path: Path, nodes: list[Any], inputs: list[Any], outputs: list[Any], inits=()) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def vi(name: str, kind: int, shape: list[Any] | None) -> Any:
    return helper.make_tensor_value_info(name, kind, shape)


def job(path: Path, **settings: Any) -> Any:
    settings = {"mode": "performance", "duration_s": 0.05, "warmup_queries": 5, **settings}
    return job_for(resolve(str(path)), BenchSettings(**settings))


@pytest.fixture
def fixed_pair(tmp_path: Path) -> Path:
    """x[3,4,5] + y[5]: the first dimension of each is not a shared batch."""
    return save(
        tmp_path / "pair.onnx",
        [helper.make_node("Add", ["x", "y"], ["z"])],
        [vi("x", FLOAT, [3, 4, 5]), vi("y", FLOAT, [5])],
        [vi("z", FLOAT, [3, 4, 5])],
    )


@pytest.fixture
def vad(tmp_path: Path) -> Path:
    """A voice-activity detector's signature: audio[B,576], state[2,B,128] whose batch is
    its second axis, a scalar sampling rate; the next state is stateN = state + 1."""
    weights = numpy_helper.from_array(np.ones((576, 1), np.float32), "w")
    one = numpy_helper.from_array(np.ones((), np.float32), "one")
    return save(
        tmp_path / "vad.onnx",
        [
            helper.make_node("MatMul", ["audio", "w"], ["score"]),
            helper.make_node("Cast", ["sr"], ["srf"], to=FLOAT),
            helper.make_node("Mul", ["score", "srf"], ["out"]),
            helper.make_node("Add", ["state", "one"], ["stateN"]),
        ],
        [vi("audio", FLOAT, ["B", 576]), vi("state", FLOAT, [2, "B", 128]), vi("sr", INT64, [])],
        [vi("out", FLOAT, ["B", 1]), vi("stateN", FLOAT, [2, "B", 128])],
        [weights, one],
    )


@pytest.fixture
def gather(tmp_path: Path) -> Path:
    """Token ids through a cast into an embedding table of 5 rows."""
    table = numpy_helper.from_array(np.arange(40, dtype=np.float32).reshape(5, 8), "table")
    return save(
        tmp_path / "embed.onnx",
        [
            helper.make_node("Cast", ["ids"], ["ids32"], to=TensorProto.INT32),
            helper.make_node("Gather", ["table", "ids32"], ["emb"], axis=0),
        ],
        [vi("ids", INT64, ["batch", 7])],
        [vi("emb", FLOAT, ["batch", 7, 8])],
        [table],
    )


@pytest.fixture
def reshaper(tmp_path: Path) -> Path:
    """Reshape(x, s): zeros for s make no shape x fits, so it fails on synthetic data."""
    return save(
        tmp_path / "reshape.onnx",
        [helper.make_node("Reshape", ["x", "s"], ["y"])],
        [vi("x", FLOAT, [4]), vi("s", INT64, [2])],
        [vi("y", FLOAT, None)],
    )


def spec(name: str, dtype: str, shape: tuple[Any, ...]) -> TensorSpec:
    return TensorSpec(name, dtype, shape)


# --- inference ---------------------------------------------------------------------------


def test_a_shared_symbolic_dimension_is_the_batch_wherever_it_stands() -> None:
    inputs = (
        spec("audio", "float32", ("B", 576)),
        spec("state", "float32", (2, "B", 128)),
        spec("sr", "int64", ()),
    )
    axes = infer_batch_axes(inputs, {})
    assert axes["audio"][0] == 0
    assert axes["state"][0] == 1
    assert axes["sr"][0] is None


def test_without_a_shared_name_a_dynamic_first_dimension_is_the_batch() -> None:
    axes = infer_batch_axes((spec("x", "float32", (None, 4)), spec("y", "float32", (3,))), {})
    assert axes["x"] == (0, None)  # the common case needs no note
    assert axes["y"][0] is None and "fixed" in (axes["y"][1] or "")


def test_fixed_shapes_are_fed_exactly_as_declared(fixed_pair: Path) -> None:
    record = run_job(job(fixed_pair))
    assert record.status == "valid", record.reasons
    fed = record.samples["inputs"]
    assert fed["x"]["shape"] == [3, 4, 5] and fed["x"]["batch_axis"] is None
    assert fed["y"]["shape"] == [5] and fed["y"]["batch_axis"] is None
    assert "no batch: its shape is fixed" in fed["x"]["assumed"]


def test_a_model_without_a_batch_refuses_a_batch_size(fixed_pair: Path) -> None:
    with pytest.raises(SettingsError, match="--batch-size 4: the model has no batch"):
        prepare(job(fixed_pair, scenario="Offline", batch_size=4))


def test_recurrent_state_scalar_and_batch_on_axis_one(vad: Path) -> None:
    prepared = prepare(job(vad))
    samples = prepared.samples
    feed = samples.single_feeds()[0]
    assert feed["audio"].shape == (1, 576)
    assert feed["state"].shape == (2, 1, 128)
    assert feed["sr"].shape == () and int(feed["sr"]) == 1
    assert samples.state == {"state": "stateN"}
    # A batch of 3 stacks the samples along each input's own batch axis.
    batch = samples.feed([0, 1, 2])
    assert batch["audio"].shape == (3, 576)
    assert batch["state"].shape == (2, 3, 128)
    assert batch["state"].flags["C_CONTIGUOUS"]
    # State comes back: zeros, then the previous call's stateN (state + 1), twice.
    predict = prepared.predict
    first = predict(feed)
    second = predict(feed)
    third = predict(feed)
    assert float(first[1].mean()) == 1.0
    assert float(second[1].mean()) == 2.0
    assert float(third[1].mean()) == 3.0
    prepared.predictor.close()


def test_recurrent_model_runs_in_every_batching_scenario(vad: Path) -> None:
    for scenario, extra in (("SingleStream", {}), ("Offline", {"batch_size": 4})):
        record = run_job(job(vad, scenario=scenario, **extra))
        assert record.status == "valid", record.reasons
        fed = record.samples["inputs"]
        assert fed["state"]["batch_axis"] == 1 and fed["state"]["state"] == "stateN"
        assert fed["sr"]["source"] == "value" and fed["sr"]["value"] == 1


def test_integer_inputs_stay_within_what_they_index(gather: Path) -> None:
    assert index_bounds(gather, ["ids"]) == {"ids": 5}
    record = run_job(job(gather, scenario="Offline", batch_size=8))
    assert record.status == "valid", record.reasons
    fed = record.samples["inputs"]["ids"]
    assert fed["range"] == [0, 5]
    assert "values in [0, 5), the size of what it indexes" in fed["assumed"]


def test_integer_inputs_indexing_nothing_known_are_zeros() -> None:
    sig = Signature(inputs=(spec("ids", "int64", ("batch", 7)),), outputs=())
    samples = synthetic(sig, {}, 16, 0)
    assert not samples.inputs["ids"].any()
    assert samples.plans[0].assumed == ("values in [0, 1): what it indexes is unknown",)


def test_index_bounds_of_a_file_that_is_not_onnx(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xff\xff\xff not protobuf")
    assert index_bounds(junk, ["ids"]) == {}


def test_an_exotic_type_is_refused_naming_input_type_and_shape(tmp_path: Path) -> None:
    path = save(
        tmp_path / "bf16.onnx",
        [helper.make_node("Identity", ["x"], ["y"])],
        [vi("x", BF16, ["n", 4])],
        [vi("y", BF16, ["n", 4])],
    )
    with pytest.raises(SettingsError) as info:
        prepare(job(path))
    message = info.value.message
    assert "input 'x' (tensor(bfloat16) [n, 4])" in message
    assert "cannot make data of type tensor(bfloat16)" in message
    assert "inputs[].value" in (info.value.hint or "")


def test_a_model_that_fails_on_synthetic_data_is_an_input_problem(reshaper: Path) -> None:
    with pytest.raises(InputProblem) as info:
        prepare(job(reshaper))
    assert info.value.exit_code == 2
    assert "the model failed on the synthetic inputs Reef made for it" in info.value.message
    assert "'s' int64 [2] (no batch): uniform values in [0, 1)" in (info.value.hint or "")


# --- the manifest says -------------------------------------------------------------------


def manifest_inputs(**fields: dict[str, Any]) -> list[InputSpec]:
    return [InputSpec(**f) for f in fields.values()]


def test_a_constant_value_fixes_what_synthetic_data_cannot(reshaper: Path) -> None:
    sig = Signature(inputs=(spec("x", "float32", (4,)), spec("s", "int64", (2,))), outputs=())
    specs = [
        InputSpec(name="x", shape=[4], batch_axis=None),
        InputSpec(name="s", element_type="int64", shape=[2], value=[2, 2]),
    ]
    samples = synthetic(sig, {}, 4, 0, specs=specs, file="model.yaml")
    assert samples.constants["s"].tolist() == [2, 2]
    assert samples.single_feeds()[0]["x"].shape == (4,)


def test_range_and_distribution() -> None:
    sig = Signature(
        inputs=(spec("u", "float32", ("b", 1000)), spec("n", "float32", ("b", 1000))), outputs=()
    )
    specs = [
        InputSpec(name="u", shape=[-1, 1000], range=(2.0, 3.0)),
        InputSpec(name="n", shape=[-1, 1000], range=(-1.0, 1.0), distribution="normal"),
    ]
    samples = synthetic(sig, {}, 8, 0, specs=specs, file="model.yaml")
    u, n = samples.inputs["u"], samples.inputs["n"]
    assert u.min() >= 2.0 and u.max() < 3.0
    assert n.min() >= -1.0 and n.max() < 1.0
    assert (
        abs(float(n.mean())) < 0.05 and 0.4 < float(n.std()) < 0.5
    )  # a quarter of the range, clipped


def test_declared_batch_axis_wins_over_inference() -> None:
    sig = Signature(inputs=(spec("x", "float32", (4, "t")),), outputs=())
    specs = [InputSpec(name="x", shape=[4, -1], batch_axis=1)]
    samples = synthetic(sig, {}, 4, 0, specs=specs, file="model.yaml")
    assert samples.feed([0, 1, 2])["x"].shape == (4, 3)


def test_state_naming_no_output_is_refused_with_the_field() -> None:
    sig = Signature(
        inputs=(spec("h", "float32", ("b", 8)),), outputs=(spec("y", "float32", ("b", 8)),)
    )
    specs = [InputSpec(name="h", shape=[-1, 8], state="hn")]
    with pytest.raises(ManifestError) as info:
        plan_inputs(sig, specs, {}, "model.yaml")
    problem = info.value.problems[0]
    assert (problem.file, problem.location) == ("model.yaml", "inputs[0].state")
    assert "'hn', which is not an output of the model" in problem.message
    assert "'y'" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"shape": [2, 3], "batch_axis": 2}, "batch_axis 2 is out of range for shape [2, 3]"),
        ({"shape": [], "batch_axis": 0}, "(a scalar: use null)"),
        ({"element_type": "int64", "shape": [], "value": 1.5}, "is not of the input's type"),
        ({"element_type": "int64", "shape": [], "value": "x"}, "'x' is not of the input's type"),
        ({"element_type": "uint8", "shape": [], "value": -1}, "-1 is negative"),
        ({"shape": [2], "range": [0, 1], "state": "y"}, "range applies to synthetic data"),
        ({"shape": [2], "value": [1.0, 2.0, 3.0]}, "has shape [3] but the input's shape is [2]"),
        ({"shape": [2], "value": [[1.0], [2.0, 3.0]]}, "ragged"),
        ({"shape": [2], "value": [1, 2], "batch_axis": 0}, "batch_axis must be null"),
        ({"shape": [2], "range": [3, 1]}, "low must be below high"),
        ({"element_type": "int64", "shape": [2], "range": [0.5, 3]}, "whole numbers"),
        ({"shape": [2], "state": "y", "value": [1.0, 2.0]}, "cannot be given together"),
    ],
)
def test_bad_manifest_fields(fields: dict[str, Any], says: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"(?s).*" + _escape(says)):
        InputSpec(name="x", **fields)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_generic_input_and_output_names_are_not_a_state() -> None:
    sig = Signature(
        inputs=(spec("input", "float32", ("b", 4)), spec("x", "float32", ("b", 4))),
        outputs=(spec("output", "float32", ("b", 4)), spec("x_next", "float32", ("b", 4))),
    )
    samples = synthetic(sig, {}, 2, 0)
    assert samples.state == {"x": "x_next"}


def test_with_state_is_the_predictor_itself_without_state() -> None:
    sig = Signature(inputs=(spec("x", "float32", ("b", 2)),), outputs=())
    samples = synthetic(sig, {}, 2, 0)

    def predict(feed: dict[str, Any]) -> list[Any]:
        return []

    assert with_state(predict, samples, []) is predict


# --- reef new model --from ---------------------------------------------------------------


def test_new_model_from_a_file_makes_the_inferences_explicit(vad: Path, tmp_path: Path) -> None:
    from reef import api
    from reef.meta.load import load_model_manifest

    folder = tmp_path / "components"
    folder.mkdir()
    manifest_path = api.new("model", "vad", folder, source=vad)
    text = manifest_path.read_text()
    assert "# inferred: a scalar: the constant 1" in text
    manifest = load_model_manifest(manifest_path)
    by_name = {i.name: i for i in manifest.inputs}
    assert by_name["state"].batch_axis == 1 and by_name["state"].state == "stateN"
    assert by_name["sr"].value == 1
    assert by_name["audio"].batch_axis == "auto"
    assert (manifest_path.parent / "vad.onnx").read_bytes() == vad.read_bytes()
    # The manifest feeds the model as the bare file was fed, and reef bench runs it.
    record = run_job(job(manifest_path))
    assert record.status == "valid", record.reasons
    fed = record.samples["inputs"]
    assert fed["state"]["batch_axis"] == 1 and fed["sr"]["value"] == 1


def test_new_from_refuses_other_kinds_and_missing_files(vad: Path, tmp_path: Path) -> None:
    from reef import api
    from reef.errors import ReefError

    with pytest.raises(ReefError, match="--from describes a model file"):
        api.new("dataset", "d", tmp_path, source=vad)
    with pytest.raises(ReefError, match="no such file"):
        api.new("model", "m", tmp_path, source=tmp_path / "missing.onnx")
    assert not (tmp_path / "m").exists() and not (tmp_path / "d").exists()


def test_a_scalar_value_stays_a_scalar() -> None:
    sig = Signature(inputs=(spec("sr", "int64", ()),), outputs=())
    specs = [InputSpec(name="sr", element_type="int64", shape=[], value=16000)]
    samples = synthetic(sig, {}, 2, 0, specs=specs, file="model.yaml")
    assert samples.constants["sr"].shape == ()
    assert samples.single_feeds()[0]["sr"].shape == ()
