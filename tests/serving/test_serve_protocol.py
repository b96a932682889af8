"""``reef serve``'s Open Inference Protocol v2, in process (FastAPI's TestClient, lifespan
run): metadata and health; JSON and binary tensors, each answer equal to the model's own;
requested outputs and the id echoed; every bad request a 400 (404 for a model or version
that is not served) with ``{"error"}``, and the server still answering after it; a full
queue, and request bodies past the process's budget, refused with 503 and Retry-After;
Prometheus metrics."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from fastapi.testclient import TestClient

from reef import api
from reef.serving.app import ServeSettings, create_app

MODEL = "digits-classifier"
INFER = f"/v2/models/{MODEL}/infer"


@pytest.fixture(scope="module")
def model() -> Iterator[api.ServedModel]:
    served = api.open_served(MODEL)
    yield served


@pytest.fixture
def client(model: api.ServedModel) -> Iterator[TestClient]:
    reference = api.open_served(MODEL)
    with TestClient(create_app([reference])) as made:
        yield made


def rows(n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, 64)) * 16).astype(np.float32)


def json_request(x: np.ndarray, **extra: Any) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.tolist()}
        ],
        **extra,
    }


def test_metadata_and_health(client: TestClient) -> None:
    assert client.get("/v2").json()["extensions"] == ["binary_tensor_data"]
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    meta = client.get(f"/v2/models/{MODEL}").json()
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]
    assert meta["versions"] == ["1.0.0"] and meta["platform"] == "onnxruntime"
    assert client.get(f"/v2/models/{MODEL}/versions/1.0.0/ready").json()["ready"] is True
    for path in ("/v2/models/nope", f"/v2/models/{MODEL}/versions/9/ready"):
        answer = client.get(path)
        assert answer.status_code == 404 and "error" in answer.json()


def test_a_json_answer_is_the_models_own(client: TestClient, model: api.ServedModel) -> None:
    x = rows(3)
    answer = client.post(INFER, json=json_request(x, id="req-7"))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["id"] == "req-7" and data["model_name"] == MODEL
    (out,) = data["outputs"]
    assert out["shape"] == [3, 10] and out["datatype"] == "FP32"
    got = np.asarray(out["data"], dtype=np.float32).reshape(3, 10)
    assert np.array_equal(got, model.predict({"input": x})["probabilities"])
    versioned = client.post(f"/v2/models/{MODEL}/versions/1.0.0/infer", json=json_request(x))
    assert versioned.status_code == 200 and "id" not in versioned.json()


def binary_body(x: np.ndarray, outputs: list[dict[str, Any]] | None = None) -> tuple[bytes, int]:
    raw = x.astype("<f4").tobytes()
    head: dict[str, Any] = {
        "inputs": [
            {
                "name": "input",
                "shape": list(x.shape),
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(raw)},
            }
        ]
    }
    if outputs is not None:
        head["outputs"] = outputs
    text = json.dumps(head).encode()
    return text + raw, len(text)


def test_binary_tensors_both_ways(client: TestClient, model: api.ServedModel) -> None:
    x = rows(4, seed=1)
    body, length = binary_body(x, [{"name": "probabilities", "parameters": {"binary_data": True}}])
    answer = client.post(
        INFER,
        content=body,
        headers={
            "Inference-Header-Content-Length": str(length),
            "Content-Type": "application/octet-stream",
        },
    )
    assert answer.status_code == 200, answer.text
    head_length = int(answer.headers["inference-header-content-length"])
    head = json.loads(answer.content[:head_length])
    (out,) = head["outputs"]
    assert out["parameters"] == {"binary_data_size": 4 * 10 * 4} and "data" not in out
    got = np.frombuffer(answer.content[head_length:], dtype="<f4").reshape(4, 10)
    assert np.array_equal(got, model.predict({"input": x})["probabilities"])
    # binary_data_output asks every output as binary data.
    answer = client.post(INFER, json=json_request(x, parameters={"binary_data_output": True}))
    assert answer.headers["content-type"] == "application/octet-stream"


def one(**fields: Any) -> bytes:
    """A request of one input tensor: the model's, with ``fields`` changed (None: left out)."""
    tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [1.0] * 64}
    tensor.update(fields)
    return json.dumps({"inputs": [{k: v for k, v in tensor.items() if v is not None}]}).encode()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"inputs": []}).encode(), "'inputs'"),
        (json.dumps(json_request(rows(1)) | {"id": 7}).encode(), "'id' must be a string"),
        (one(name="x"), "unknown input 'x'"),
        (one(datatype="INT64"), "datatype 'INT64', the model takes FP32"),
        (one(shape=[1, 63], data=[1] * 63), "shape [1, 63], the model takes [-1, 64]"),
        (one(shape=[2, 64]), "64 values, the shape [2, 64] holds 128"),
        (one(data=["a"] * 64), "FP32 data must be JSON numbers"),
        (one(data=["1.5"] * 64), "FP32 data must be JSON numbers"),  # no text parsed
        (one(data=[True] * 64), "FP32 data must be JSON numbers"),
        (one(data=[[1.0] * 32, [1.0] * 31]), "data is not FP32"),  # ragged
        (one(data=[1e300] * 64), "a value outside FP32's range"),
        (one(shape=[True, 64]), "'shape' must be a list of sizes"),
        # a product past 64 bits is not wrapped round to a small (or zero) count
        (one(shape=[2**64, 64]), f"{2**70} elements, more than"),
        (one(shape=[2**62, 64]), f"{2**68} elements, more than"),
        (
            json.dumps(json_request(rows(1)) | {"parameters": {"binary_data_output": "no"}}),
            "binary_data_output must be true or false",
        ),
        (
            json.dumps(
                json_request(
                    rows(1), outputs=[{"name": "probabilities", "parameters": {"binary_data": 1}}]
                )
            ).encode(),
            "outputs[0]: parameters.binary_data must be true or false",
        ),
        (one(data=None), "no 'data' and no binary_data_size"),
        (
            json.dumps(json_request(rows(1), outputs=[{"name": "logits"}])).encode(),
            "unknown output 'logits'",
        ),
    ],
)
def test_a_bad_request_is_400_and_harmless(client: TestClient, body: bytes, says: str) -> None:
    answer = client.post(INFER, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]
    assert client.post(INFER, json=json_request(rows(1))).status_code == 200


def test_bad_binary_requests(client: TestClient) -> None:
    x = rows(1)
    body, length = binary_body(x)
    for header, content, says in (
        ("nope", body, "is not a number"),
        (str(len(body) + 1), body, "is not within"),
        (str(length), body[:-4], "ends before"),
        (str(length), body + b"\0\0\0\0", "bytes of binary data after"),
    ):
        answer = client.post(
            INFER, content=content, headers={"Inference-Header-Content-Length": header}
        )
        assert answer.status_code == 400 and says in answer.json()["error"], answer.text
    wrong = json.loads(body[:length])
    wrong["inputs"][0]["parameters"]["binary_data_size"] = 12
    text = json.dumps(wrong).encode()
    answer = client.post(
        INFER,
        content=text + body[length:],
        headers={"Inference-Header-Content-Length": str(len(text))},
    )
    assert answer.status_code == 400 and "binary_data_size 12" in answer.json()["error"]


class SlowModel:
    """A served model whose every call takes a while: to fill the queue."""

    name, version, platform = "slow", "1", "test"
    batchable = True

    def __init__(self) -> None:
        self.inputs = [api.TensorMetadata(name="x", datatype="FP32", shape=[-1, 1])]
        self.outputs = [api.TensorMetadata(name="y", datatype="FP32", shape=[-1, 1])]

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        time.sleep(0.2)
        return {"y": feeds["x"] * 2}

    def close(self) -> None:
        pass


def test_a_full_queue_is_503_with_retry_after() -> None:
    settings = ServeSettings(max_batch_size=1, max_delay_ms=0, max_queue=2)
    answers: list[Any] = []
    with TestClient(create_app([SlowModel()], settings)) as client:  # type: ignore[list-item]
        body = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [1.0]}]}

        def send() -> None:
            answers.append(client.post("/v2/models/slow/infer", json=body))

        threads = [threading.Thread(target=send) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        refused = [a for a in answers if a.status_code == 503]
        assert refused and all(a.headers["retry-after"] == "1" for a in refused)
        assert "overloaded" in refused[0].json()["error"]
        assert any(a.status_code == 200 for a in answers)
        served = next(a for a in answers if a.status_code == 200)
        assert served.json()["outputs"][0]["data"] == [2.0]
        text = client.get("/metrics").text
        assert 'reef_request_failures_total{code="503",model="slow"}' in text


class GatedModel(SlowModel):
    """A served model that answers only once its gate opens: its requests stay in flight."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self.gate.wait(30)
        return {"y": feeds["x"] * 2}


def _gated_body(n: int) -> bytes:
    data = [1.0] * n
    return json.dumps(
        {"inputs": [{"name": "x", "shape": [n, 1], "datatype": "FP32", "data": data}]}
    ).encode()


def _body_bytes(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("reef_inflight_body_bytes "):
            return float(line.split()[1])
    raise AssertionError("no reef_inflight_body_bytes")


def test_request_bodies_past_the_inflight_budget_are_503_and_probes_still_answer() -> None:
    model = GatedModel()
    big, small = _gated_body(400), _gated_body(1)
    settings = ServeSettings(max_inflight_bytes=len(big) + len(small))
    url = "/v2/models/gated/infer"
    headers = {"Content-Type": "application/json"}
    answers: list[Any] = []
    with TestClient(create_app([model], settings)) as client:  # type: ignore[list-item]
        held = threading.Thread(
            target=lambda: answers.append(client.post(url, content=big, headers=headers))
        )
        held.start()
        end = time.monotonic() + 10
        while _body_bytes(client) != len(big):  # the first request holds its body's bytes
            assert time.monotonic() < end
            time.sleep(0.01)
        refused = client.post(url, content=big, headers=headers)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        error = refused.json()["error"]
        assert error.startswith("busy:") and "--max-inflight-mb" in error, error

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams in
            for i in range(0, len(big), 64):
                yield big[i : i + 64]

        streamed = client.post(url, content=chunks(), headers=headers)
        assert streamed.status_code == 503 and streamed.json()["error"].startswith("busy:")
        # Never refused: health, metadata, metrics.
        for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/gated", "/v2"):
            assert client.get(path).status_code == 200, path
        # What is left of the budget still takes a small request.
        small_answer = threading.Thread(
            target=lambda: answers.append(client.post(url, content=small, headers=headers))
        )
        small_answer.start()
        while _body_bytes(client) != len(big) + len(small):  # both held at once
            assert time.monotonic() < end
            time.sleep(0.01)
        model.gate.set()
        held.join()
        small_answer.join()
        assert sorted(a.status_code for a in answers) == [200, 200]
        # Given back once answered: the same request now goes through.
        assert _body_bytes(client) == 0
        assert client.post(url, content=big, headers=headers).status_code == 200
        text = client.get("/metrics").text
        assert 'reef_request_failures_total{code="503",model="gated"} 2.0' in text


class NonFinite(SlowModel):
    """A served model that answers NaN and the infinities."""

    name = "nonfinite"

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"y": np.array([[np.nan], [np.inf], [-np.inf]], dtype=np.float32)}


def test_non_finite_outputs_are_written_as_triton_writes_them_and_exact_in_binary() -> None:
    body = {"inputs": [{"name": "x", "shape": [3, 1], "datatype": "FP32", "data": [1, 2, 3]}]}
    with TestClient(create_app([NonFinite()])) as client:  # type: ignore[list-item]
        answer = client.post("/v2/models/nonfinite/infer", json=body)
        assert answer.status_code == 200
        # JSON has no token for them: NaN, Infinity and -Infinity, as Triton writes them and
        # tritonclient (Python's json) reads them; a strict parser asks for binary data.
        assert '"data":[NaN,Infinity,-Infinity]' in answer.text
        data = answer.json()["outputs"][0]["data"]
        assert np.isnan(data[0]) and data[1:] == [np.inf, -np.inf]
        binary = client.post(
            "/v2/models/nonfinite/infer", json={**body, "parameters": {"binary_data_output": True}}
        )
        head = int(binary.headers["inference-header-content-length"])
        values = np.frombuffer(binary.content[head:], dtype="<f4")
        assert np.isnan(values[0]) and list(values[1:]) == [np.inf, -np.inf]
        # Read in requests the same way.
        text = '{"inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","data":[NaN,Infinity,1]}]}'
        taken = client.post(
            "/v2/models/nonfinite/infer", content=text, headers={"Content-Type": "application/json"}
        )
        assert taken.status_code == 200, taken.text


def test_metrics(client: TestClient) -> None:
    client.post(INFER, json=json_request(rows(2)))
    client.post(INFER, content=b"{", headers={"Content-Type": "application/json"})
    text = client.get("/metrics").text
    for line in (
        f'reef_requests_total{{model="{MODEL}"}} 2.0',
        f'reef_request_failures_total{{code="400",model="{MODEL}"}} 1.0',
        f'reef_batch_size_count{{model="{MODEL}"}} 1.0',
        f'reef_inflight_requests{{model="{MODEL}"}} 0.0',
        "# TYPE reef_request_seconds histogram",
        "# TYPE reef_queue_seconds histogram",
        "# TYPE reef_compute_seconds histogram",
    ):
        assert line in text, line


def test_an_oversized_request_is_413_before_it_is_read() -> None:
    settings = ServeSettings(max_body=4000)
    with TestClient(create_app([api.open_served(MODEL)], settings)) as client:
        big = json_request(rows(8))
        answer = client.post(INFER, json=big)
        assert answer.status_code == 413 and "larger than 4000 bytes" in answer.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams in
            text = json.dumps(big).encode()
            for i in range(0, len(text), 256):
                yield text[i : i + 256]

        answer = client.post(INFER, content=chunks(), headers={"Content-Type": "application/json"})
        assert answer.status_code == 413
        assert 'reef_request_failures_total{code="413"' in client.get("/metrics").text
        assert client.post(INFER, json=json_request(rows(1))).status_code == 200


class Typed:
    """A served model of an INT8 and a BOOL input: JSON data held to each datatype."""

    name, version, platform = "typed", "1", "test"
    batchable = True

    def __init__(self) -> None:
        self.inputs = [
            api.TensorMetadata(name="small", datatype="INT8", shape=[-1, 2]),
            api.TensorMetadata(name="flag", datatype="BOOL", shape=[-1, 2]),
        ]
        self.outputs = [api.TensorMetadata(name="out", datatype="INT8", shape=[-1, 2])]

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"out": np.where(feeds["flag"], feeds["small"], 0).astype(np.int8)}

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("small", "flag", "says"),
    [
        ([1, 300], [True, False], "input 'small': a value outside INT8's range -128..127"),
        ([1, -129], [True, False], "input 'small': a value outside INT8's range"),
        ([1, 2**70], [True, False], "input 'small': INT8 data must be JSON integers within"),
        ([1, 1.5], [True, False], "input 'small': INT8 data must be JSON integers"),
        ([True, False], [True, False], "input 'small': INT8 data must be JSON integers"),
        ([1, 2], [1, 0], "input 'flag': BOOL data must be JSON booleans"),
        ([1, 2], ["true", "false"], "input 'flag': BOOL data must be JSON booleans"),
    ],
)
def test_json_data_is_held_to_its_datatype(small: list[Any], flag: list[Any], says: str) -> None:
    def request(small: list[Any], flag: list[Any]) -> dict[str, Any]:
        return {
            "inputs": [
                {"name": "small", "shape": [1, 2], "datatype": "INT8", "data": small},
                {"name": "flag", "shape": [1, 2], "datatype": "BOOL", "data": flag},
            ]
        }

    with TestClient(create_app([Typed()])) as client:  # type: ignore[list-item]
        answer = client.post("/v2/models/typed/infer", json=request(small, flag))
        assert answer.status_code == 400, answer.text
        assert says in answer.json()["error"]
        good = client.post("/v2/models/typed/infer", json=request([-128, 127], [True, True]))
        assert good.json()["outputs"][0]["data"] == [-128, 127]


def test_no_rows_is_400(client: TestClient) -> None:
    answer = client.post(INFER, content=one(shape=[0, 64], data=[]))
    assert answer.status_code == 400 and "no rows" in answer.json()["error"]


@pytest.mark.slow
def test_no_generated_request_is_a_server_error() -> None:
    """Schemathesis, from the server's own OpenAPI document: every operation, valid and
    schema-breaking requests (derandomized), and never a 5xx."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.openapi import from_asgi

    del schemathesis
    failures: list[str] = []
    calls = 0
    with TestClient(create_app([api.open_served(MODEL)])) as client:
        schema = from_asgi("/openapi.json", client.app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10, [op.path for op in operations]
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=50,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def send(case: Any) -> None:
                    nonlocal calls
                    if "name" in (case.path_parameters or {}) and calls % 2 == 0:
                        case.path_parameters["name"] = MODEL  # reach the model, not only 404s
                    response = case.call()
                    calls += 1
                    try:
                        case.validate_response(response, checks=[not_a_server_error])
                    except Exception:
                        failures.append(f"{response.status_code} {response.text[:300]}")

                with contextlib.suppress(Unsatisfiable):
                    send()
    assert calls >= 400, calls
    assert failures == [], failures[:5]


class TwoInputs:
    """A served model of two inputs: to leave one out."""

    name, version, platform = "pair", "1", "test"
    batchable = True

    def __init__(self) -> None:
        self.inputs = [
            api.TensorMetadata(name="a", datatype="FP32", shape=[-1, 2]),
            api.TensorMetadata(name="b", datatype="FP32", shape=[-1, 2]),
        ]
        self.outputs = [api.TensorMetadata(name="sum", datatype="FP32", shape=[-1, 2])]

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"sum": feeds["a"] + feeds["b"]}

    def close(self) -> None:
        pass


def test_a_missing_input_is_400_naming_it() -> None:
    with TestClient(create_app([TwoInputs()])) as client:  # type: ignore[list-item]
        a = {"name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}
        answer = client.post("/v2/models/pair/infer", json={"inputs": [a]})
        assert answer.status_code == 400 and answer.json() == {"error": "missing input 'b'"}
        b = a | {"name": "b", "shape": [2, 2], "data": [1.0] * 4}
        answer = client.post("/v2/models/pair/infer", json={"inputs": [a, b]})
        assert answer.status_code == 400 and "disagree" in answer.json()["error"]
        answer = client.post("/v2/models/pair/infer", json={"inputs": [a, a | {"name": "b"}]})
        assert answer.json()["outputs"][0]["data"] == [2.0, 4.0]


def test_a_path_or_method_no_route_takes_answers_the_protocols_error(client: TestClient) -> None:
    answer = client.get(INFER)
    assert answer.status_code == 405
    assert answer.json() == {"error": f"Method Not Allowed: GET {INFER}"}
    assert answer.headers["allow"] == "POST"
    answer = client.get("/v2/nope")
    assert answer.status_code == 404
    assert answer.json() == {"error": "Not Found: GET /v2/nope"}


def test_binary_bool_bytes_other_than_0_and_1_are_true_booleans() -> None:
    """The extension's BOOL is a byte each; a byte of 2 must reach the model as True (1), not
    as a numpy bool holding 2."""
    head = json.dumps(
        {
            "inputs": [
                {"name": "small", "shape": [1, 2], "datatype": "INT8", "data": [5, 7]},
                {"name": "flag", "shape": [1, 2], "datatype": "BOOL",
                 "parameters": {"binary_data_size": 2}},
            ]
        }
    ).encode()  # fmt: skip
    seen: list[np.ndarray] = []

    class Seeing(Typed):
        def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            seen.append(feeds["flag"].copy())
            return super().predict(feeds)

    with TestClient(create_app([Seeing()])) as client:  # type: ignore[list-item]
        answer = client.post(
            "/v2/models/typed/infer",
            content=head + b"\x02\x00",
            headers={"Inference-Header-Content-Length": str(len(head))},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [5, 0]
    assert seen[0].dtype == np.bool_ and seen[0].view(np.uint8).tolist() == [[1, 0]]


def _asgi_infer(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, int]:
    """One inference request sent to the app as ASGI messages, a chunk each (what a client
    streaming its body sends); (the status, how many messages the app read)."""
    import asyncio

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/v2/models/{MODEL}/infer", "raw_path": INFER.encode(),
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    read, status = [0], [0]

    async def receive() -> dict[str, Any]:
        if read[0] == len(chunks):
            await asyncio.sleep(3600)  # nothing more comes: the app must not wait for it
        read[0] += 1
        return {"type": "http.request", "body": chunks[read[0] - 1],
                "more_body": read[0] < len(chunks)}  # fmt: skip

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    return status[0], read[0]


def test_a_streamed_body_takes_the_budget_chunk_by_chunk_and_gives_it_all_back() -> None:
    from prometheus_client import generate_latest

    settings = ServeSettings(max_body=4000, max_inflight_bytes=2500)
    app = create_app([api.open_served(MODEL)], settings)

    def held(served: Any) -> float:
        text = generate_latest(served.state.metrics.registry).decode()
        lines = text.splitlines()
        return next(float(x.split()[1]) for x in lines if x.startswith("reef_inflight_body_bytes "))

    chunks = [b"x" * 1000] * 6
    # Over the budget on its third chunk: 503, after reading no more than that.
    assert _asgi_infer(app, chunks, []) == (503, 3)
    assert held(app) == 0
    # Over --max-body on its fifth (a budget that would take it): 413, every byte given back.
    roomy = create_app([api.open_served(MODEL)], ServeSettings(max_body=4000))
    assert _asgi_infer(roomy, chunks, []) == (413, 5)
    assert held(roomy) == 0
    # A declared length the budget cannot take now is refused before a byte is read.
    declared = [(b"content-length", b"3000"), (b"content-type", b"application/json")]
    assert _asgi_infer(app, chunks[:3], declared) == (503, 0)
    assert held(app) == 0
