"""``reef.api.served_pipeline``: a served model's processing as ``{m}-pipeline`` declares and
runs it, from manifests built here (no model is opened): inputs without steps passed through,
an input with steps and no dataset taking the model's own tensor, decode taking BYTES; outputs
read from the steps' answer to a row of zeros (a scalar class, text of a dynamic output, a
mapping split by key, JSON text for what fits nothing else); a probe the steps refuse is a
sentence, not a pipeline; a row the steps refuse is a ProcessingError naming the input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.api.served_pipeline import Processing, ProcessingError, open_processing
from reef.api.serving import TensorMetadata
from reef.bench.target import ResolvedTarget
from reef.meta.model import ModelManifest
from reef.meta.run import Target


def resolved(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> ResolvedTarget:
    manifest = ModelManifest.model_validate(
        {
            "kind": "model",
            "name": "m",
            "version": "1.0.0",
            "framework": {"name": "onnxruntime"},
            "sources": [{"path": "model.onnx", "sha256": "0" * 64}],
            "inputs": inputs,
            "outputs": outputs,
        }
    )
    target = Target(kind="manifest", name="m", version="1.0.0", path="/x/reef.yaml", sha256="0")
    return ResolvedTarget(target=target, model_path=Path("/x/model.onnx"), manifest=manifest)


def meta(name: str, datatype: str, shape: list[int]) -> TensorMetadata:
    return TensorMetadata(name=name, datatype=datatype, shape=shape)


def dumped(tensors: list[TensorMetadata]) -> list[tuple[str, str, list[int]]]:
    return [(t.name, t.datatype, t.shape) for t in tensors]


def test_no_steps_is_no_pipeline() -> None:
    target = resolved([{"name": "x", "shape": [-1, 4]}], [{"name": "y", "labels": ["a", "b"]}])
    assert open_processing(target, [meta("x", "FP32", [-1, 4])], []) is None


def test_inputs_and_outputs_as_the_pipeline_declares_them() -> None:
    target = resolved(
        [
            {"name": "image", "element_type": "uint8", "shape": [-1, 4, 4, 1],
             "steps": [{"decode": {"mode": "L"}}, {"resize": {"size": [4, 4]}}]},
            {"name": "x", "shape": [-1, 3], "steps": [{"scale": {"factor": 2.0}}]},
            {"name": "flag", "element_type": "int64", "shape": [-1, 1]},
        ],
        [
            {"name": "scores", "steps": ["softmax", "argmax"]},
            {"name": "ctc", "labels": ["-", "a", "b"], "steps": [{"ctc_decode": {"blank": 0}}]},
            {"name": "ranked", "labels": ["a", "b", "c"], "steps": [{"top_k": {"k": 2}}]},
            {"name": "raw"},
        ],
    )  # fmt: skip
    inputs = [
        meta("image", "UINT8", [-1, 4, 4, 1]),
        meta("x", "FP32", [-1, 3]),
        meta("flag", "INT64", [-1, 1]),
    ]
    outputs = [
        meta("scores", "FP32", [-1, 3]),
        meta("ctc", "FP32", [-1, -1, 3]),
        meta("ranked", "FP32", [-1, 3]),
        meta("raw", "FP32", [-1, 2]),
    ]
    processing = open_processing(target, inputs, outputs)
    assert isinstance(processing, Processing)
    assert dumped(processing.inputs) == [
        ("image", "BYTES", [-1]),
        ("x", "FP32", [-1, 3]),  # no dataset: the model's own
        ("flag", "INT64", [-1, 1]),  # no steps: passed through
    ]
    assert dumped(processing.outputs) == [
        ("scores", "INT64", [-1]),
        ("ctc", "BYTES", [-1]),
        ("ranked.indices", "INT64", [-1, 2]),
        ("ranked.scores", "FP64", [-1, 2]),
        ("ranked.labels", "BYTES", [-1, 2]),
        ("raw", "FP32", [-1, 2]),
    ]

    from PIL import Image

    def png(value: int) -> bytes:
        out = io.BytesIO()
        Image.fromarray(np.full((4, 4), value, dtype=np.uint8)).save(out, format="PNG")
        return out.getvalue()

    images = np.empty(2, dtype=object)
    images[:] = [png(7), png(200)]
    feeds = processing.preprocess(
        {
            "image": images,
            "x": np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32),
            "flag": np.array([[1], [0]], dtype=np.int64),
        }
    )
    assert feeds["image"].dtype == np.uint8 and feeds["image"].shape == (2, 4, 4, 1)
    assert feeds["image"][0].max() == 7 and feeds["image"][1].min() == 200
    assert feeds["x"].tolist() == [[2, 4, 6], [8, 10, 12]]
    assert feeds["flag"].tolist() == [[1], [0]]

    ctc = np.zeros((2, 5, 3), dtype=np.float32)
    ctc[0, [0, 1, 3], [1, 1, 2]] = 1  # a a - b -> "ab"
    ctc[1, :, 2] = 1  # b b b b b -> "b"
    answer = processing.postprocess(
        {
            "scores": np.array([[0.1, 0.7, 0.2], [3, 1, 2]], dtype=np.float32),
            "ctc": ctc,
            "ranked": np.array([[0.1, 0.7, 0.2], [3, 1, 2]], dtype=np.float32),
            "raw": np.array([[1, 2], [3, 4]], dtype=np.float32),
        }
    )
    assert answer["scores"].tolist() == [1, 0]
    assert answer["ctc"].tolist() == [b"ab", b"b"]
    assert answer["ranked.indices"].tolist() == [[1, 2], [0, 2]]
    assert answer["ranked.labels"].tolist() == [[b"b", b"c"], [b"a", b"c"]]
    assert answer["raw"].tolist() == [[1, 2], [3, 4]]


def test_a_row_the_steps_cannot_take_names_the_input() -> None:
    target = resolved(
        [{"name": "image", "element_type": "uint8", "shape": [-1, 4, 4, 3],
          "steps": [{"decode": {"mode": "RGB"}}]}],
        [{"name": "y"}],
    )  # fmt: skip
    processing = open_processing(
        target, [meta("image", "UINT8", [-1, 4, 4, 3])], [meta("y", "FP32", [-1, 2])]
    )
    assert isinstance(processing, Processing)
    bad = np.empty(1, dtype=object)
    bad[:] = [b"GIF89a?"]
    with pytest.raises(ProcessingError) as caught:
        processing.preprocess({"image": bad})
    assert caught.value.input == "image"
    assert str(caught.value).startswith(
        "input 'image': row 0: decode: the input is not an image Pillow can read"
    )

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (5, 5)).save(out, format="PNG")  # decodes, but not to 4x4
    bad[:] = [out.getvalue()]
    with pytest.raises(ProcessingError) as caught:
        processing.preprocess({"image": bad})
    assert str(caught.value) == (
        "input 'image': pre-processing gave rows of shape [5, 5, 3], the model takes [-1, 4, 4, 3]"
    )


def test_a_probe_the_steps_refuse_is_a_sentence() -> None:
    # top_k needs a vector of scores; a [2, 3] row is refused when the model opens
    target = resolved(
        [{"name": "x", "shape": [-1, 2]}],
        [{"name": "y", "steps": [{"top_k": {"k": 1}}]}],
    )
    found = open_processing(target, [meta("x", "FP32", [-1, 2])], [meta("y", "FP32", [-1, 2, 3])])
    assert found == (
        "output 'y': its post-processing refused a row of zeros of shape [2, 3]: top_k: "
        "expected a vector of scores, got an output of shape (2, 3)"
    )


def test_a_value_that_fits_no_tensor_is_json_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import reef.api.served_pipeline as module

    def build_pipeline(steps: Any, labels: Any = None) -> Any:
        return lambda row: [{"box": [float(v) for v in row]}]  # a list of mappings

    monkeypatch.setattr("reef.predictors.steps.build_pipeline", build_pipeline)
    target = resolved([{"name": "x", "shape": [-1, 2]}], [{"name": "y", "steps": ["softmax"]}])
    processing = module.open_processing(
        target, [meta("x", "FP32", [-1, 2])], [meta("y", "FP32", [-1, 2])]
    )
    assert isinstance(processing, Processing)
    assert dumped(processing.outputs) == [("y", "BYTES", [-1])]
    answer = processing.postprocess({"y": np.array([[1, 2], [3, 4]], dtype=np.float32)})
    assert [json.loads(v) for v in answer["y"]] == [[{"box": [1.0, 2.0]}], [{"box": [3.0, 4.0]}]]
