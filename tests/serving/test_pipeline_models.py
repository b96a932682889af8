"""``reef serve``'s ``{m}-pipeline`` models: the manifest's pre- and post-processing around
``{m}``. Their metadata (raw inputs: an FP32 row of the dataset, or JPEG bytes; post-processed
outputs: top_k's indices, scores and labels); an end-to-end answer equal to the steps and the
model run in process as ``reef bench`` runs them; ``{m}`` still serving raw tensors; a 404 for
a model without processing; a 400 naming an input the steps cannot take; batched pipeline
answers equal to unbatched ones; BYTES tensors in JSON and binary; Triton's client."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from fastapi.testclient import TestClient

from reef import api
from reef.bench.target import resolve
from reef.predictors.steps import build_pipeline
from reef.serving.app import ServeSettings, create_app
from reef.serving.protocol import HEADER_LENGTH

TABLE = "digits-classifier"  # input steps: scale (raw: a dataset row, FP32 [64])
PHOTOS = "digits-cnn-photos"  # input steps: decode, resize, ... (raw: JPEG bytes)
BUILTIN = Path(__file__).resolve().parents[2] / "src" / "reef" / "builtin"
TOP_K = ["probabilities.indices", "probabilities.scores", "probabilities.labels"]


def table_rows(n: int, start: int = 0) -> np.ndarray:
    return np.asarray(np.load(BUILTIN / "digits" / "digits.npz")["features"][start : start + n])


def photos(n: int, start: int = 0) -> list[bytes]:
    """The dataset's photos as reef bench feeds them to decode (the zero-padded bytes)."""
    images = np.load(BUILTIN / "digit-photos" / "digit-photos.npz")["images"]
    return [images[i].tobytes() for i in range(start, start + n)]


def in_process(model: api.ServedModel, target: str, raw: list[Any]) -> list[dict[str, Any]]:
    """What reef bench makes of ``raw``: each row through the input's steps, the model, each
    answer's row through the output's steps."""
    manifest = resolve(target).manifest
    assert manifest is not None
    spec, out = manifest.inputs[0], manifest.outputs[0]
    pre = build_pipeline(spec.steps)
    x = np.stack([np.asarray(pre(row), dtype=spec.element_type) for row in raw])
    scores = model.predict({spec.name: x})[out.name]
    post = build_pipeline(out.steps, labels=out.labels)
    return [post(scores[i]) for i in range(len(raw))]


def top_k_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's rows as top_k's mappings."""
    by_name = {o["name"]: o for o in answer["outputs"]}
    rows = by_name["probabilities.indices"]["shape"][0]
    k = by_name["probabilities.indices"]["shape"][1]
    cut = {key: by_name[f"probabilities.{key}"]["data"] for key in ("indices", "scores", "labels")}
    return [{key: value[i * k : (i + 1) * k] for key, value in cut.items()} for i in range(rows)]


def table_request(x: np.ndarray, **extra: Any) -> dict[str, Any]:
    tensor = {"name": "input", "shape": list(x.shape), "datatype": "FP32"}
    return {"inputs": [{**tensor, "data": x.reshape(-1).tolist()}], **extra}


def photo_request(images: list[bytes], **extra: Any) -> dict[str, Any]:
    data = [base64.b64encode(b).decode() for b in images]
    tensor = {"name": "input", "shape": [len(images)], "datatype": "BYTES"}
    return {"inputs": [{**tensor, "parameters": {"content_type": "base64"}, "data": data}], **extra}


def binary_photo_request(images: list[bytes], binary_out: bool) -> tuple[bytes, dict[str, str]]:
    blob = b"".join(len(b).to_bytes(4, "little") + b for b in images)
    head = {
        "inputs": [
            {"name": "input", "shape": [len(images)], "datatype": "BYTES",
             "parameters": {"binary_data_size": len(blob)}}
        ],
        "parameters": {"binary_data_output": binary_out},
    }  # fmt: skip
    text = json.dumps(head).encode()
    return text + blob, {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(text))}


@pytest.fixture(scope="module")
def models() -> dict[str, api.ServedModel]:
    return {name: api.open_served(name) for name in (TABLE, PHOTOS)}


@pytest.fixture
def client() -> Iterator[TestClient]:
    bare = api.open_served(str(BUILTIN / "digits-classifier" / "model.onnx"))
    served = [api.open_served(TABLE), api.open_served(PHOTOS), bare]
    with TestClient(create_app(served)) as made:
        yield made


def test_a_pipelines_metadata_declares_raw_inputs_and_processed_outputs(
    client: TestClient,
) -> None:
    top_k = [
        {"name": "probabilities.indices", "datatype": "INT64", "shape": [-1, 5]},
        {"name": "probabilities.scores", "datatype": "FP64", "shape": [-1, 5]},
        {"name": "probabilities.labels", "datatype": "BYTES", "shape": [-1, 5]},
    ]
    meta = client.get(f"/v2/models/{TABLE}-pipeline").json()
    assert meta["name"] == f"{TABLE}-pipeline" and meta["versions"] == ["1.0.0"]
    assert meta["platform"] == "reef-pipeline"
    # the digits dataset's rows as its npz header says: 64 FP32 values
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}]
    assert meta["outputs"] == top_k
    meta = client.get(f"/v2/models/{PHOTOS}-pipeline/versions/1.0.0").json()
    assert meta["inputs"] == [{"name": "input", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"] == top_k
    assert client.get(f"/v2/models/{PHOTOS}-pipeline/ready").json()["ready"] is True
    # the raw model keeps its own tensors
    raw = client.get(f"/v2/models/{PHOTOS}").json()
    assert raw["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 32, 32]}]
    listed = {m["name"]: m["state"] for m in client.post("/v2/repository/index").json()}
    assert listed == {
        TABLE: "READY", PHOTOS: "READY", "model": "READY",
        f"{TABLE}-pipeline": "READY", f"{PHOTOS}-pipeline": "READY",
    }  # fmt: skip


def test_an_end_to_end_answer_is_the_steps_and_the_models_in_process(
    client: TestClient, models: dict[str, api.ServedModel]
) -> None:
    x = table_rows(4)
    answer = client.post(f"/v2/models/{TABLE}-pipeline/infer", json=table_request(x, id="e2e"))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["id"] == "e2e" and data["model_name"] == f"{TABLE}-pipeline"
    assert [o["name"] for o in data["outputs"]] == TOP_K
    assert top_k_of(data) == in_process(models[TABLE], TABLE, list(x))

    images = photos(3)
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", json=photo_request(images))
    assert answer.status_code == 200, answer.text
    expected = in_process(models[PHOTOS], PHOTOS, images)
    assert top_k_of(answer.json()) == expected
    labels = np.load(BUILTIN / "digit-photos" / "digit-photos.npz")["labels"][:3]
    assert [row["indices"][0] for row in expected] == labels.tolist()  # it reads the digits


def test_binary_bytes_in_and_out(client: TestClient, models: dict[str, api.ServedModel]) -> None:
    images = photos(2, start=10)
    expected = in_process(models[PHOTOS], PHOTOS, images)
    body, headers = binary_photo_request(images, binary_out=False)
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert top_k_of(answer.json()) == expected
    body, headers = binary_photo_request(images, binary_out=True)
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    length = int(answer.headers[HEADER_LENGTH])
    head, tail = json.loads(answer.content[:length]), answer.content[length:]
    sizes = [o["parameters"]["binary_data_size"] for o in head["outputs"]]
    assert sum(sizes) == len(tail)
    indices = np.frombuffer(tail[: sizes[0]], dtype="<i8").reshape(2, 5)
    scores = np.frombuffer(tail[sizes[0] : sizes[0] + sizes[1]], dtype="<f8").reshape(2, 5)
    labels, at, blob = [], 0, tail[sizes[0] + sizes[1] :]
    while at < len(blob):  # BYTES: each element's 4-byte little-endian length, then itself
        n = int.from_bytes(blob[at : at + 4], "little")
        labels.append(blob[at + 4 : at + 4 + n].decode())
        at += 4 + n
    for i, row in enumerate(expected):
        assert indices[i].tolist() == row["indices"] and scores[i].tolist() == row["scores"]
        assert labels[i * 5 : (i + 1) * 5] == row["labels"]


def test_the_raw_model_still_takes_tensors(
    client: TestClient, models: dict[str, api.ServedModel]
) -> None:
    x = table_rows(2) * 0.0625  # what the scale step makes of them
    answer = client.post(f"/v2/models/{TABLE}/infer", json=table_request(x.astype(np.float32)))
    assert answer.status_code == 200, answer.text
    (out,) = answer.json()["outputs"]
    assert out["name"] == "probabilities" and out["shape"] == [2, 10]
    own = models[TABLE].predict({"input": x.astype(np.float32)})["probabilities"]
    assert np.array_equal(np.asarray(out["data"], dtype=np.float32).reshape(2, 10), own)
    # a raw request to the pipeline is refused: it takes the rows before pre-processing
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", json=table_request(x))
    assert answer.status_code == 400
    assert answer.json()["error"] == "input 'input': datatype 'FP32', the model takes BYTES"


def test_a_model_without_processing_has_no_pipeline(client: TestClient) -> None:
    for path in ("/v2/models/model-pipeline", "/v2/models/model-pipeline/ready"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"] == (
            "model 'model' has no pipeline: its manifest declares no pre- or post-processing "
            "(serve it raw as 'model')"
        )
    answer = client.post("/v2/models/model-pipeline/infer", json=table_request(table_rows(1)))
    assert answer.status_code == 404 and "declares no pre- or post-processing" in answer.text
    answer = client.get("/v2/models/nope-pipeline")
    assert answer.status_code == 404
    assert answer.json()["error"].startswith("no model named 'nope-pipeline' (this server has ")
    assert f"{TABLE}-pipeline" in answer.json()["error"]


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (
            {"shape": [2], "data": ["bm90IGFuIGltYWdl", "bm9wZQ=="],
             "parameters": {"content_type": "base64"}},
            "input 'input': row 0: decode: the input is not an image Pillow can read",
        ),
        (
            {"shape": [1], "data": ["&&&"], "parameters": {"content_type": "base64"}},
            "input 'input': element 0 is not base64",
        ),
        ({"shape": [1], "data": [3]}, "input 'input': BYTES data in JSON must be strings"),
        ({"shape": [2], "data": ["a"]}, "input 'input': 1 elements, the shape [2] holds 2"),
        (
            {"shape": [1], "data": ["a"], "parameters": {"content_type": "hex"}},
            "input 'input': content_type 'hex': BYTES data in JSON is text (str) or base64",
        ),
    ],
)  # fmt: skip
def test_a_raw_input_the_steps_cannot_take_is_a_400_naming_it(
    client: TestClient, tensor: dict[str, Any], message: str
) -> None:
    body = {"inputs": [{"name": "input", "datatype": "BYTES", **tensor}]}
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith(message), answer.json()["error"]
    text = client.get("/metrics").text
    assert f'reef_request_failures_total{{code="400",model="{PHOTOS}-pipeline"}} 1.0' in text
    # the server still answers
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", json=photo_request(photos(1)))
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("blob", "size", "message"),
    [
        (b"\x01\x00", 2, "an element's 4-byte length is cut short"),
        (
            b"\x09\x00\x00\x00abc",
            7,
            "element 0 of 9 bytes runs past the 7 bytes of binary_data_size",
        ),
        (b"\x01\x00\x00\x00a", 9, "the binary data ends before its 9 bytes"),
    ],
)
def test_malformed_binary_bytes_are_a_400(
    client: TestClient, blob: bytes, size: int, message: str
) -> None:
    head = {
        "inputs": [
            {"name": "input", "shape": [1], "datatype": "BYTES",
             "parameters": {"binary_data_size": size}}
        ]
    }  # fmt: skip
    text = json.dumps(head).encode()
    answer = client.post(
        f"/v2/models/{PHOTOS}-pipeline/infer",
        content=text + blob,
        headers={HEADER_LENGTH: str(len(text))},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == f"input 'input': {message}"


def _answers(settings: ServeSettings, requests: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Each request's JSON answer, all sent at once from threads of their own, and the
    server's metrics."""
    served = [api.open_served(TABLE), api.open_served(PHOTOS)]
    answers: list[Any] = [None] * len(requests)
    with TestClient(create_app(served, settings)) as client:
        start = threading.Barrier(len(requests))

        def send(i: int) -> None:
            name, body = requests[i]
            start.wait()
            answer = client.post(f"/v2/models/{name}/infer", json=body)
            answers[i] = (answer.status_code, answer.json())

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        metrics = client.get("/metrics").text
    return [*answers, metrics]


def test_batched_pipeline_answers_equal_unbatched_ones() -> None:
    requests: list[tuple[str, dict[str, Any]]] = []
    for i in range(12):
        n = 1 + i % 3
        if i % 3 == 2:  # raw requests share the model's batches with pipeline ones
            x = (table_rows(n, start=5 * i) * 0.0625).astype(np.float32)
            requests.append((TABLE, table_request(x, id=f"raw-{i}")))
        else:
            requests.append((f"{TABLE}-pipeline", table_request(table_rows(n, 5 * i), id=f"{i}")))
        requests.append((f"{PHOTOS}-pipeline", photo_request(photos(n, start=3 * i), id=f"p{i}")))
    *batched, metrics = _answers(ServeSettings(max_batch_size=16, max_delay_ms=200), requests)
    *unbatched, _ = _answers(ServeSettings(max_batch_size=1, max_delay_ms=0), requests)
    for i, (got, own) in enumerate(zip(batched, unbatched, strict=True)):
        assert got[0] == 200, got
        assert got == own, requests[i][0]  # the same JSON: every value bit for bit
    calls = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("reef_batch_size_count{")
    }
    assert calls[TABLE] + calls[PHOTOS] < len(requests), calls  # some requests shared a call
    assert f'reef_requests_total{{model="{PHOTOS}-pipeline"}} 12.0' in metrics


@pytest.mark.slow
def test_reef_serve_and_tritons_client(tmp_path: Path, models: dict[str, api.ServedModel]) -> None:
    http = pytest.importorskip("tritonclient.http")
    from e2e_support import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(tmp_path / "home")
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reef", "serve", PHOTOS, "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"127.0.0.1:{port}"
            end = time.monotonic() + 60
            while time.monotonic() < end:
                try:
                    with urllib.request.urlopen(f"http://{url}/v2/health/ready", timeout=2):
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"reef serve did not start: {(tmp_path / 'serve.log').read_text()}")
            started = (tmp_path / "serve.log").read_text()
            assert f"Reef serving {PHOTOS} 1.0.0 (and {PHOTOS}-pipeline) on http://" in started
            client = http.InferenceServerClient(url=url)
            name = f"{PHOTOS}-pipeline"
            assert client.is_model_ready(name)
            assert client.get_model_metadata(name)["inputs"][0]["datatype"] == "BYTES"
            index = {m["name"] for m in client.get_model_repository_index()}
            assert index == {PHOTOS, name}
            images = photos(2, start=40)
            expected = in_process(models[PHOTOS], PHOTOS, images)
            for binary in (True, False):  # the outputs (JPEG bytes go as binary data: not text)
                tensor = http.InferInput("input", [2], "BYTES")
                tensor.set_data_from_numpy(np.array(images, dtype=object), binary_data=True)
                asked = [http.InferRequestedOutput(o, binary_data=binary) for o in TOP_K]
                result = client.infer(name, [tensor], outputs=asked, request_id="t-2")
                assert result.get_response()["id"] == "t-2"
                labels = result.as_numpy("probabilities.labels")
                assert labels is not None
                indices = result.as_numpy("probabilities.indices")
                scores = result.as_numpy("probabilities.scores")
                assert indices is not None and scores is not None
                for i, row in enumerate(expected):
                    assert indices[i].tolist() == row["indices"]
                    assert scores[i].tolist() == row["scores"]
                    # binary BYTES come back as bytes, JSON ones as text
                    text = [v.decode() if isinstance(v, bytes) else v for v in labels[i]]
                    assert text == row["labels"]
            client.close()
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0


def test_no_generated_pipeline_request_is_a_server_error(client: TestClient) -> None:
    """Hypothesis: tensors of any datatype, shape, JSON data, content_type and binary tail to
    both pipelines: each answer a 200 or a 4xx with its error, never a 5xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    text = st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
    leaf = st.one_of(st.text(max_size=20), text, st.integers(), st.floats(), st.none())
    failures: list[str] = []
    statuses: list[int] = []

    @settings(
        max_examples=200, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(
        model=st.sampled_from([f"{PHOTOS}-pipeline", f"{TABLE}-pipeline"]),
        shape=st.lists(st.integers(min_value=0, max_value=4), max_size=3),
        data=st.recursive(leaf, lambda inner: st.lists(inner, max_size=4), max_leaves=8),
        content_type=st.sampled_from([None, "base64", "str", "hex", 3]),
        datatype=st.sampled_from(["BYTES", "FP32", "UINT8"]),
        tail=st.one_of(st.none(), st.binary(max_size=40)),
        size=st.one_of(st.none(), st.integers(min_value=-2, max_value=60)),
    )
    def send(
        model: str, shape: list[int], data: Any, content_type: Any, datatype: str,
        tail: bytes | None, size: int | None,
    ) -> None:  # fmt: skip
        parameters: dict[str, Any] = {}
        if content_type is not None:
            parameters["content_type"] = content_type
        if tail is not None and size is not None:
            parameters["binary_data_size"] = size
        tensor = {"name": "input", "shape": shape, "datatype": datatype, "data": data}
        head = json.dumps({"inputs": [{**tensor, "parameters": parameters}]}).encode()
        headers = {} if tail is None else {HEADER_LENGTH: str(len(head))}
        answer = client.post(
            f"/v2/models/{model}/infer", content=head + (tail or b""), headers=headers
        )
        statuses.append(answer.status_code)
        if answer.status_code >= 500 or (
            answer.status_code != 200 and "error" not in answer.json()
        ):
            failures.append(f"{answer.status_code} {answer.text[:300]}")

    send()
    assert len(statuses) >= 100 and 400 in statuses, len(statuses)
    assert failures == [], failures[:5]


def png_header(width: int, height: int) -> bytes:
    """A PNG declaring ``width`` x ``height`` pixels and holding none: Pillow reads its size
    from the header (a decompression bomb's shape, without its bytes)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ([png_header(7000, 7000)], "input 'input': row 0: an image of 7000 x 7000 pixels, more "
         "than the 40,000,000 a served image may have"),
        ([png_header(20000, 20000)], "input 'input': row 0: Image size (400000000 pixels) exceeds"),
        ([png_header(6000, 6000)] * 8, "input 'input': row 7: the request's images hold more "
         "than 256,000,000 pixels in all"),
    ],
)  # fmt: skip
def test_an_image_too_large_to_decode_is_a_400_before_it_is_decoded(
    client: TestClient, images: list[bytes], message: str
) -> None:
    """A decompression bomb (a few bytes declaring gigapixels) is refused from its header."""
    answer = client.post(f"/v2/models/{PHOTOS}-pipeline/infer", json=photo_request(images))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith(message), answer.json()["error"]


def test_pre_processing_past_max_queue_is_503_not_an_unbounded_wait() -> None:
    """The pre-processing threads' queue is bounded like the batcher's: past ``max_waiting``
    requests in pre-processing, a new one is ``Overloaded`` (503) at once."""
    import asyncio
    from types import SimpleNamespace

    from reef.serving.batcher import Overloaded
    from reef.serving.pipeline import PipelineModel

    release = threading.Event()

    class Stuck:
        def __init__(self) -> None:
            self.inputs: list[Any] = []
            self.outputs: list[Any] = []

        def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            release.wait(10)
            return inputs

    served = SimpleNamespace(name="m", version="1")
    pipeline = PipelineModel(served, Stuck())  # type: ignore[arg-type]

    async def main() -> None:
        feeds = {"x": np.zeros((1, 1))}
        waiting = [asyncio.create_task(pipeline.preprocess(feeds, 2)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert pipeline.preprocessing == 2
        with pytest.raises(Overloaded, match="2 requests are being pre-processed already"):
            await pipeline.preprocess(feeds, 2)
        release.set()
        assert all(r is feeds for r in await asyncio.gather(*waiting))
        assert pipeline.preprocessing == 0
        assert await pipeline.preprocess(feeds, 2) is feeds

    asyncio.run(main())


def test_a_pipeline_request_past_max_queue_is_503_with_retry_after() -> None:
    release = threading.Event()
    x = api.TensorMetadata(name="x", datatype="FP32", shape=[-1, 1])

    class SlowSteps:
        def __init__(self) -> None:
            self.inputs, self.outputs = [x], [x]

        def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            release.wait(10)
            return inputs

        def postprocess(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return outputs

    class Echo:
        name, version, platform = "echo", "1", "test"
        batchable = True

        def __init__(self) -> None:
            self.inputs, self.outputs, self.processing = [x], [x], SlowSteps()

        def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return feeds

        def close(self) -> None:
            pass

    answers: list[Any] = []
    body = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [1.0]}]}
    settings = ServeSettings(max_queue=2)
    with TestClient(create_app([Echo()], settings)) as client:  # type: ignore[list-item]

        def send() -> None:
            answers.append(client.post("/v2/models/echo-pipeline/infer", json=body))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(answers) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)  # the four past the two being pre-processed are refused at once
        release.set()
        for thread in threads:
            thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 503, 503, 503, 503], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.headers["retry-after"] == "1"
    assert "2 requests are being pre-processed already" in refused.json()["error"]


@pytest.mark.parametrize("kind", ["EPS", "TGA"])
def test_an_image_format_outside_the_served_ones_is_a_400_before_decoding(
    client: TestClient, kind: str
) -> None:
    """EPS would run Ghostscript on the network's bytes; only common formats are decoded."""
    import io

    from PIL import Image

    encoded = io.BytesIO()
    Image.new("L", (8, 8)).save(encoded, kind)
    answer = client.post(
        f"/v2/models/{PHOTOS}-pipeline/infer", json=photo_request([encoded.getvalue()])
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == (
        f"input 'input': row 0: an image in {kind} format; a served pipeline decodes "
        "BMP, GIF, JPEG, MPO, PNG, PPM, TIFF, WEBP only"
    )


def test_a_pipelines_drift_state_is_its_models(tmp_path: Path) -> None:
    """Pipeline requests are checked as the model's tensors, in the model's windows; asking
    for the pipeline's drift answers that same state, and a model with no reference names
    the model, not the pipeline."""
    rows = table_rows(200) / 16.0  # as the scale step leaves them
    profile = api.drift_profile(rows.astype(np.float32))
    served = [api.open_served(TABLE), api.open_served(PHOTOS)]
    settings = ServeSettings(drift_window=20)
    with TestClient(create_app(served, settings, references={TABLE: profile})) as client:
        answer = client.post(
            f"/v2/models/{TABLE}-pipeline/infer", json=table_request(table_rows(20))
        )
        assert answer.status_code == 200, answer.text
        end = time.monotonic() + 20
        while (state := client.get(f"/v2/models/{TABLE}-pipeline/drift").json())["windows"] < 1:
            assert time.monotonic() < end, state
            time.sleep(0.05)
        assert state["model"] == TABLE and state["latest"]["rows"] == 20
        assert client.get(f"/v2/models/{TABLE}/drift").json()["windows"] == 1
        missing = client.get(f"/v2/models/{PHOTOS}-pipeline/drift")
        assert missing.status_code == 404
        assert missing.json() == {
            "error": f"model {PHOTOS!r} has no drift reference (reef serve --reference)"
        }
