"""A real ``reef serve`` (two models) in a process of its own on a free port of 127.0.0.1:
concurrent requests of mixed models, row counts, ids, JSON or binary tensors and requested
outputs are coalesced into batches, and every answer equals the model's own unbatched answer
bit for bit (a property test); Triton's own HTTP client works with it unchanged; SIGTERM
stops it, exit 0."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from e2e_support import reef_serve

from reef import api

MODELS = {"digits-classifier": (64,), "digits-cnn": (1, 32, 32)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("serve-home")
    with reef_serve(home, *MODELS, "--max-batch-size", "16", "--max-delay-ms", "20") as url:
        yield url


@pytest.fixture(scope="module")
def reference() -> dict[str, api.ServedModel]:
    return {name: api.open_served(name) for name in MODELS}


def post(url: str, model: str, body: bytes, headers: dict[str, str]) -> tuple[bytes, Any]:
    request = urllib.request.Request(
        f"{url}/v2/models/{model}/infer", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.read(), answer.headers


def build(x: np.ndarray, binary_in: bool, binary_out: bool, ask: bool, rid: str) -> Any:
    tensor: dict[str, Any] = {"name": "input", "shape": list(x.shape), "datatype": "FP32"}
    raw = b""
    if binary_in:
        raw = x.astype("<f4").tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
    else:
        tensor["data"] = x.reshape(-1).tolist()
    head: dict[str, Any] = {"id": rid, "inputs": [tensor]}
    if ask:
        head["outputs"] = [{"name": "probabilities", "parameters": {"binary_data": binary_out}}]
    else:
        head["parameters"] = {"binary_data_output": binary_out}
    text = json.dumps(head).encode()
    headers = {"Content-Type": "application/octet-stream" if binary_in else "application/json"}
    if binary_in:
        headers["Inference-Header-Content-Length"] = str(len(text))
    return text + raw, headers


def answer_of(content: bytes, headers: Any) -> tuple[dict[str, Any], np.ndarray]:
    length = headers.get("inference-header-content-length")
    head = json.loads(content[: int(length)] if length else content)
    (out,) = head["outputs"]
    if "data" in out:
        value = np.asarray(out["data"], dtype=np.float32)
    else:
        value = np.frombuffer(content[int(length) :], dtype="<f4")
    return head, value.reshape(out["shape"])


request_specs = st.lists(
    st.tuples(
        st.sampled_from(sorted(MODELS)),
        st.integers(1, 4),  # rows
        st.booleans(),  # binary input
        st.booleans(),  # binary output
        st.booleans(),  # outputs asked by name
    ),
    min_size=8,
    max_size=24,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=request_specs, seed=st.integers(0, 2**32 - 1))
def test_batched_answers_equal_unbatched_bit_for_bit(
    server: str, reference: dict[str, api.ServedModel], specs: list[Any], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    inputs = [(rng.random((n, *MODELS[model])) * 16).astype(np.float32) for model, n, *_ in specs]
    answers: dict[int, tuple[dict[str, Any], np.ndarray]] = {}
    start = threading.Barrier(len(specs))

    def send(i: int) -> None:
        model, _, binary_in, binary_out, ask = specs[i]
        body, headers = build(inputs[i], binary_in, binary_out, ask, f"req-{i}")
        start.wait(30)
        answers[i] = answer_of(*post(server, model, body, headers))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(specs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == len(specs)
    for i, (model, *_rest) in enumerate(specs):
        head, got = answers[i]
        assert head["id"] == f"req-{i}" and head["model_name"] == model
        own = reference[model].predict({"input": inputs[i]})["probabilities"]
        assert got.shape == own.shape and np.array_equal(got, own), (i, specs[i])


def test_requests_were_batched(server: str) -> None:
    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith("reef_batch_size_count") or line.startswith("reef_requests_total"):
            name, value = line.rsplit(" ", 1)
            counts[name] = float(value)
    requests = sum(v for k, v in counts.items() if k.startswith("reef_requests_total"))
    batches = sum(v for k, v in counts.items() if k.startswith("reef_batch_size_count"))
    assert requests > batches > 0, counts  # fewer calls of the models than requests


def test_tritons_client_works_unchanged(server: str, reference: dict[str, api.ServedModel]) -> None:
    http = pytest.importorskip("tritonclient.http")
    client = http.InferenceServerClient(url=server.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("digits-cnn")
    meta = client.get_model_metadata("digits-cnn")
    assert meta["inputs"][0]["shape"] == [-1, 1, 32, 32]
    x = (np.random.default_rng(3).random((2, 1, 32, 32)) * 16).astype(np.float32)
    for binary in (True, False):
        tensor = http.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=binary)
        wanted = http.InferRequestedOutput("probabilities", binary_data=binary)
        result = client.infer("digits-cnn", [tensor], outputs=[wanted], request_id="t-1")
        got = result.as_numpy("probabilities")
        own = reference["digits-cnn"].predict({"input": x})["probabilities"]
        assert np.array_equal(got, own)
        assert result.get_response()["id"] == "t-1"
    client.close()
