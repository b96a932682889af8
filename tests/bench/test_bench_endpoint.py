"""`reef bench http://HOST:PORT/v2/models/NAME`: the URL's parsing, the target resolved with the
server (its metadata, the model's, its readiness), the OIP predictor's requests (binary and
JSON tensors, a keep-alive connection per thread), and what goes wrong: a URL that is not a
model's, an unknown model, a server that cannot be reached (exit 2, nothing written), and a
server that fails during the run (a failed run naming the HTTP status and the server's
error). The server here is a small stand-in speaking the protocol with the standard library."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.bench.runner import run_job
from reef.bench.target import job_for, resolve
from reef.errors import EXIT_USAGE, PredictorError, ReefError, SettingsError
from reef.meta.settings import BenchSettings
from reef.predictors.base import PredictorOptions
from reef.predictors.oip import HttpError, OipPredictor, is_endpoint, parse_url, signature_of

WEIGHTS = np.arange(8, dtype=np.float32).reshape(4, 2) / 8
TINY = signature_of(
    {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
    },
    "the stand-in",
)
DIGITS_CNN_SHA = "d8b9b6ce8caf426d0fdf7af134ec915ebae7f96a238bab291ea5ac58fd97bac9"


@dataclass
class Fake:
    """What the stand-in server says and does."""

    binary: bool = True
    parameters: dict[str, str] = field(default_factory=dict)
    platform: str = "numpy"
    input_datatype: str = "FP32"
    ready: bool = True
    fail_after: int | None = None  # infer requests answered before it answers 500
    infers: int = 0
    connections: set[tuple[str, int]] = field(default_factory=set)
    bodies: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    fake: Fake

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def do_GET(self) -> None:
        fake = self.fake
        extensions = ["binary_tensor_data"] if fake.binary else []
        if self.path == "/v2":
            self._json(200, {"name": "fake", "version": "9.9", "extensions": extensions})
        elif self.path == "/v2/models/tiny":
            meta: dict[str, Any] = {
                "name": "tiny",
                "versions": ["3"],
                "platform": fake.platform,
                "inputs": [{"name": "x", "datatype": fake.input_datatype, "shape": [-1, 4]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
            }
            if fake.parameters:
                meta["parameters"] = fake.parameters
            self._json(200, meta)
        elif self.path == "/v2/models/tiny/ready":
            self._json(200 if fake.ready else 503, {"name": "tiny", "ready": fake.ready})
        else:
            self._json(404, {"error": f"no model at {self.path}"})

    def do_POST(self) -> None:
        fake = self.fake
        fake.connections.add(self.client_address)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fake.bodies.append((dict(self.headers), body))
        fake.infers += 1
        if fake.fail_after is not None and fake.infers > fake.fail_after:
            self._json(500, {"error": "the model failed: out of cheese"})
            return
        length = int(self.headers.get("Inference-Header-Content-Length") or len(body))
        head = json.loads(body[:length])
        item = head["inputs"][0]
        if "parameters" in item:
            x = np.frombuffer(body[length:], dtype="<f4").reshape(item["shape"])
        else:
            x = np.asarray(item["data"], dtype=np.float32).reshape(item["shape"])
        y = x @ WEIGHTS
        wants_binary = head["outputs"][0].get("parameters", {}).get("binary_data", False)
        out: dict[str, Any] = {"name": "y", "datatype": "FP32", "shape": list(y.shape)}
        if wants_binary:
            raw = y.astype("<f4").tobytes()
            out["parameters"] = {"binary_data_size": len(raw)}
            answer = json.dumps({"model_name": "tiny", "outputs": [out]}).encode()
            headers = {
                "Content-Type": "application/octet-stream",
                "Inference-Header-Content-Length": str(len(answer)),
            }
            self._send(200, answer + raw, headers)
        else:
            out["data"] = y.reshape(-1).tolist()
            self._json(200, {"model_name": "tiny", "outputs": [out]})


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()
    handler = type("H", (Handler,), {"fake": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/v2/models/tiny"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the URL ---------------------------------------------------------------------------------


def test_a_model_url_is_parsed_into_its_server_and_model() -> None:
    ep = parse_url("http://host:8000/v2/models/resnet")
    assert (ep.host, ep.port, ep.prefix, ep.model, ep.version) == ("host", 8000, "", "resnet", None)
    assert ep.model_path == "/v2/models/resnet" and ep.server_path == "/v2"
    ep = parse_url("https://gw.example/serving/a/v2/models/m%201/versions/2/")
    assert (ep.port, ep.prefix, ep.model, ep.version) == (443, "/serving/a", "m 1", "2")
    assert ep.model_path == "/serving/a/v2/models/m%201/versions/2"
    assert parse_url("http://[::1]:9/v2/models/m").host == "[::1]"
    assert is_endpoint("HTTP://x/v2/models/m") and is_endpoint("ftp://x")
    assert not is_endpoint("digits-cnn") and not is_endpoint("./model.onnx")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://h:1/v2/models", "not the address of a model"),
        ("http://h:1/v2/models/m/infer", "not the address of a model"),
        ("http://h:1/v2/models/m/versions", "not the address of a model"),
        ("http://h:1/models/m", "not the address of a model"),
        ("http://h:1/v2/health/ready", "not the address of a model"),
        ("http://h:1/v2/models/m?x=1", "takes no query"),
        ("http://u:p@h:1/v2/models/m", "credentials"),
        ("ftp://h/v2/models/m", "not an http:// or https:// URL"),
        ("http:///v2/models/m", "not an http:// or https:// URL"),
        ("http://h:99999/v2/models/m", "not a valid URL"),
    ],
)
def test_a_url_that_is_not_a_models_is_refused_naming_it(url: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve(url)
    assert caught.value.message.startswith(url) and says in caught.value.message
    assert "/v2/models/NAME" in (caught.value.hint or "")
    assert caught.value.exit_code == EXIT_USAGE


# --- resolving with the server -------------------------------------------------------------------


def test_an_endpoint_resolves_to_a_remote_target_hashing_its_metadata(
    fake: tuple[Fake, str],
) -> None:
    _, url = fake
    resolved = resolve(url)
    target = resolved.target
    assert (target.kind, target.name, target.version, target.path) == ("endpoint", "tiny", "3", url)
    assert target.remote and resolved.manifest is None and resolved.dataset is None
    info = target.endpoint
    assert info is not None
    assert (info.server_name, info.server_version, info.platform) == ("fake", "9.9", "numpy")
    assert info.extensions == ["binary_tensor_data"] and "metadata" in info.sha256_of
    assert len(target.sha256) == 64
    # The hash follows the metadata: the same model answers the same, another does not.
    assert resolve(url).target.sha256 == target.sha256
    job = job_for(resolved, BenchSettings(duration_s=0.2))
    assert job.model_path == url and job.target.endpoint == info


def test_the_served_files_sha256_and_reef_model_feed_the_run_its_dataset(
    fake: tuple[Fake, str],
) -> None:
    state, url = fake
    state.parameters = {"reef_model": "digits-cnn@1.0.0", "reef_sha256": DIGITS_CNN_SHA}
    resolved = resolve(url)
    assert resolved.target.sha256 == DIGITS_CNN_SHA
    assert resolved.manifest is not None and resolved.manifest.name == "digits-cnn"
    assert resolved.dataset is not None and resolved.dataset_path is not None
    assert resolved.target.endpoint is not None
    assert resolved.target.endpoint.local_model == "digits-cnn@1.0.0"
    assert "served model file" in resolved.target.endpoint.sha256_of
    # Another file under the same name: its sha256 is kept, its dataset is not used.
    state.parameters = {"reef_model": "digits-cnn@1.0.0", "reef_sha256": "0" * 64}
    other = resolve(url)
    assert other.target.sha256 == "0" * 64 and other.manifest is None
    assert other.target.endpoint is not None and other.target.endpoint.local_model is None


def test_an_unknown_model_is_exit_2_with_the_servers_words(fake: tuple[Fake, str]) -> None:
    _, url = fake
    unknown = url.replace("/tiny", "/nope")
    with pytest.raises(SettingsError) as caught:
        resolve(unknown)
    assert caught.value.message == (
        f"{unknown}: the server has no model 'nope': no model at /v2/models/nope"
    )
    with pytest.raises(SettingsError, match="version '7'"):
        resolve(url + "/versions/7")


@pytest.mark.parametrize(
    ("platform", "hint"),
    [("reef-pipeline", "its URL without -pipeline"), ("numpy", "a model of the server's")],
)
def test_a_bytes_input_is_refused_naming_it(
    fake: tuple[Fake, str], platform: str, hint: str
) -> None:
    state, url = fake
    state.platform, state.input_datatype = platform, "BYTES"
    with pytest.raises(SettingsError) as caught:
        resolve(url)
    assert caught.value.message.startswith(f"{url}: input 'x' is BYTES (encoded images or text")
    assert caught.value.hint is not None and hint in caught.value.hint
    assert state.infers == 0


def test_like_on_a_reef_pipeline_is_refused(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.platform = "reef-pipeline"
    with pytest.raises(SettingsError) as caught:
        resolve(url, like="digits-classifier")
    assert "is a Reef pipeline, which applies its model's input steps" in caught.value.message
    # The platform reef serve gives a pipeline.
    from reef.bench.endpoint import PIPELINE_PLATFORM
    from reef.serving.pipeline import PLATFORM

    assert PIPELINE_PLATFORM == PLATFORM


def test_a_model_that_is_not_ready_is_refused(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.ready = False
    with pytest.raises(SettingsError, match=r"the model is not ready \(HTTP 503\)"):
        resolve(url)


def test_an_unreachable_server_is_exit_2_and_nothing_is_written(reef_home: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v2/models/m"
    with pytest.raises(SettingsError) as caught:
        resolve(url)
    assert caught.value.message.startswith("cannot reach http://127.0.0.1:")
    assert caught.value.message.endswith("connection refused")
    from reef import api

    with pytest.raises(SettingsError, match="cannot reach"):
        api.bench(url, scenarios=["SingleStream"], duration_s=0.2)
    assert not (reef_home / "runs").exists() or not any((reef_home / "runs").iterdir())


def test_backend_is_refused_for_an_endpoint(fake: tuple[Fake, str]) -> None:
    _, url = fake
    with pytest.raises(SettingsError, match=r"--backend onnxruntime: .* is a served model"):
        job_for(resolve(url), BenchSettings(duration_s=0.2), backend="onnxruntime")


# --- the predictor ----------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
def test_the_predictor_answers_as_the_model_binary_or_json(
    fake: tuple[Fake, str], binary: bool
) -> None:
    state, url = fake
    state.binary = binary
    predictor = OipPredictor(url)
    signature = predictor.open(Path(), PredictorOptions())
    assert [(t.name, t.element_type, t.shape) for t in signature.inputs] == [
        ("x", "float32", (None, 4))
    ]
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    (y,) = predictor.predict({"x": x})
    np.testing.assert_array_equal(y, x @ WEIGHTS)
    headers, body = state.bodies[-1]
    assert ("Inference-Header-Content-Length" in headers) is binary
    assert (b'"data"' in body) is not binary
    assert predictor.binary is binary and predictor.version() == "fake 9.9"
    predictor.close()


def test_each_thread_keeps_one_connection_alive(fake: tuple[Fake, str]) -> None:
    state, url = fake
    predictor = OipPredictor(url)
    predictor.open(Path(), PredictorOptions())
    x = np.ones((1, 4), dtype=np.float32)

    def calls() -> None:
        for _ in range(5):
            predictor.predict({"x": x})

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls()
    assert state.infers == 20
    assert len(state.connections) == 4  # one per thread, kept alive across its calls
    predictor.close()


def test_a_server_error_names_the_status_and_its_error_text(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.fail_after = 0
    predictor = OipPredictor(url)
    predictor.open(Path(), PredictorOptions())
    with pytest.raises(HttpError) as caught:
        predictor.predict({"x": np.ones((1, 4), dtype=np.float32)})
    assert caught.value.status == 500
    assert str(caught.value) == f"{url}: HTTP 500: the model failed: out of cheese"
    predictor.close()


def test_a_vanished_server_is_a_predictor_error_saying_why() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v2/models/m"
    with pytest.raises(PredictorError, match=r"cannot reach .*: connection refused"):
        OipPredictor(url).open(Path(), PredictorOptions())


# --- whole runs ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_against_the_endpoint_is_recorded_as_remote(fake: tuple[Fake, str]) -> None:
    state, url = fake
    job = job_for(resolve(url), BenchSettings(scenario="Offline", duration_s=0.2, batch_size=4))
    record = run_job(job)
    assert record.status == "valid", record.reasons
    assert record.target.kind == "endpoint" and record.target.endpoint is not None
    assert record.predictor is not None and record.predictor.name == "oip"
    assert record.predictor.options["url"] == url
    assert record.performance is not None and record.performance.latency_ms.p50 > 0
    assert record.samples["synthetic"] is True
    shapes = {json.loads(b[: int(h["Inference-Header-Content-Length"])])["inputs"][0]["shape"][0]
              for h, b in state.bodies}  # fmt: skip
    assert 4 in shapes  # Offline's batches of --batch-size


@pytest.mark.slow
def test_server_scenario_batches_on_loadgens_worker_thread(fake: tuple[Fake, str]) -> None:
    state, url = fake
    settings = BenchSettings(
        scenario="Server", duration_s=0.3, batch_size=2, latency_bound_ms=100.0, target_qps=200
    )
    record = run_job(job_for(resolve(url), settings))
    assert record.status in ("valid", "invalid"), record.reasons
    assert record.performance is not None and record.performance.latency_ms.p99 > 0
    assert record.performance.queries > 0
    # The warm-up's thread and the Server worker's each kept one connection alive.
    assert 1 <= len(state.connections) <= 3


@pytest.mark.slow
def test_a_server_failing_during_the_run_fails_it_naming_the_status(
    fake: tuple[Fake, str],
) -> None:
    state, url = fake
    job = job_for(resolve(url), BenchSettings(duration_s=0.2, mode="performance"))
    state.fail_after = 60  # the probe and the warm-up pass, the measured phase does not
    record = run_job(job)
    assert record.status == "failed"
    assert record.reasons == [f"HttpError: {url}: HTTP 500: the model failed: out of cheese"]


def test_the_metadata_hash_is_of_the_models_metadata(fake: tuple[Fake, str]) -> None:
    _, url = fake
    meta = {
        "name": "tiny",
        "versions": ["3"],
        "platform": "numpy",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
    }
    expected = hashlib.sha256(
        json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert resolve(url).target.sha256 == expected


# --- what reef serve says of what it serves ------------------------------------------------------


def test_reef_serve_names_the_model_and_file_it_serves(fake: tuple[Fake, str]) -> None:
    from reef import api
    from reef.errors import ReefError

    served = api.open_served("digits-cnn")
    try:
        assert served.parameters == {
            "reef_model": "digits-cnn@1.0.0",
            "reef_sha256": DIGITS_CNN_SHA,
        }
    finally:
        served.close()
    _, url = fake
    with pytest.raises(ReefError, match="a model another server serves"):
        api.open_served(url)


def test_a_server_that_never_answers_is_named_with_the_time_waited() -> None:
    from reef.predictors.oip import Client

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)  # accepts the connection, never answers
        port = listening.getsockname()[1]
        client = Client(parse_url(f"http://127.0.0.1:{port}/v2/models/m"), timeout=0.3)
        with pytest.raises(PredictorError) as caught:
            client.get_json("/v2")
    assert caught.value.message == f"no answer from http://127.0.0.1:{port} within 0.3 s"


def test_after_a_failed_request_the_predictor_fails_at_once(fake: tuple[Fake, str]) -> None:
    """LoadGen keeps issuing queries after one failed; on a stuck server each would wait out
    the timeout, so a run of hundreds of queries would hang for hours, not fail."""
    state, url = fake
    predictor = OipPredictor(url)
    predictor.open(Path(), PredictorOptions())
    x = np.ones((1, 4), dtype=np.float32)
    predictor.predict({"x": x})
    state.fail_after = state.infers
    with pytest.raises(HttpError) as first:
        predictor.predict({"x": x})
    sent = state.infers
    state.fail_after = None  # the server recovers; the run has failed all the same
    with pytest.raises(HttpError) as again:
        predictor.predict({"x": x})
    assert again.value is first.value
    assert state.infers == sent  # nothing more was sent
    predictor.close()


def test_a_stuck_server_fails_each_later_query_without_waiting() -> None:
    import time

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)  # accepts connections, never answers
        port = listening.getsockname()[1]
        predictor = OipPredictor(f"http://127.0.0.1:{port}/v2/models/m")
        predictor.client.timeout = 0.3
        predictor._signature = TINY  # as open() leaves it, without asking the silent server
        predictor._infer = "/v2/models/m/infer"
        x = {"x": np.ones((1, 4), dtype=np.float32)}
        with pytest.raises(PredictorError, match=r"no answer from .* within 0.3 s"):
            predictor.predict(x)
        started = time.perf_counter()
        for _ in range(20):
            with pytest.raises(PredictorError, match="no answer"):
                predictor.predict(x)
        assert time.perf_counter() - started < 0.3  # not 20 more timeouts
        predictor.close()


def test_a_server_closing_each_connection_leaves_no_trail_of_them(fake: tuple[Fake, str]) -> None:
    from reef.predictors.oip import Client

    _, url = fake
    client = Client(parse_url(url))
    for _ in range(5):
        status, _ = client.get_json("/v2")
        assert status == 200
        client._drop()  # as after an answer with Connection: close
    assert client._all == []
    client.close()


@pytest.mark.parametrize(
    ("answer", "tail", "says"),
    [
        ({"outputs": ["y"]}, b"", "not the protocol's"),
        (
            {"outputs": [{"name": "y", "shape": [1, 2], "parameters": {"binary_data_size": "8"}}]},
            b"\0" * 8,
            "binary_data_size '8' does not fit the 8 bytes",
        ),
        (
            {"outputs": [{"name": "y", "shape": [1, 2], "parameters": {"binary_data_size": 16}}]},
            b"\0" * 8,
            "binary_data_size 16 does not fit the 8 bytes",
        ),
        (
            {"outputs": [{"name": "y", "shape": [1, 2], "parameters": {"binary_data_size": 7}}]},
            b"\0" * 7,
            "output 'y': its data is not float32 of shape [1, 2]",
        ),
        (
            {"outputs": [{"name": "y", "shape": [1, 2], "data": [{"a": 1}, 2]}]},
            b"",
            "output 'y': its data is not float32",
        ),
    ],
)
def test_a_malformed_answer_is_a_predictor_error(answer: Any, tail: bytes, says: str) -> None:
    from reef.predictors.oip import decode_response

    head = json.dumps(answer).encode()
    with pytest.raises(PredictorError) as caught:
        decode_response(head + tail, str(len(head)), TINY, "http://h/v2/models/y")
    assert says in caught.value.message


LABELS = signature_of(
    {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "labels", "datatype": "BYTES", "shape": [-1, 2]}],
    },
    "the stand-in",
)


def _prefixed(*elements: bytes) -> bytes:
    return b"".join(len(e).to_bytes(4, "little") + e for e in elements)


def test_bytes_outputs_are_read_binary_or_json_as_fixed_width_bytes() -> None:
    from reef.predictors.oip import decode_response

    assert LABELS.outputs[0].element_type == "bytes"
    raw = _prefixed(b"seven", b"1", "é".encode(), b"")
    item = {"name": "labels", "datatype": "BYTES", "shape": [2, 2]}
    listed = [{**item, "parameters": {"binary_data_size": len(raw)}}]
    head = json.dumps({"outputs": listed}).encode()
    [binary] = decode_response(head + raw, str(len(head)), LABELS, "http://h/v2/models/y")
    assert binary.dtype.kind == "S" and binary.shape == (2, 2)
    assert binary.tolist() == [[b"seven", b"1"], ["é".encode(), b""]]
    answer = {"outputs": [{**item, "data": ["seven", "1", "é", ""]}]}
    [as_json] = decode_response(json.dumps(answer).encode(), None, LABELS, "http://h/v2/models/y")
    assert as_json.tolist() == binary.tolist()


@pytest.mark.parametrize(
    ("tail", "data", "says"),
    [
        (_prefixed(b"ab") + b"\1\0", None, "a BYTES element's length is cut off"),
        (b"\x09\0\0\0abc", None, "a BYTES element of 9 bytes overruns its data"),
        (_prefixed(b"a", b"b", b"c"), None, "3 BYTES elements for shape [1, 2]"),
        (b"", [1, 2], "BYTES data is not a list of strings"),
    ],
)
def test_a_malformed_bytes_output_is_a_predictor_error(
    tail: bytes, data: list[Any] | None, says: str
) -> None:
    from reef.predictors.oip import decode_response

    item: dict[str, Any] = {"name": "labels", "datatype": "BYTES", "shape": [1, 2]}
    if data is None:
        item["parameters"] = {"binary_data_size": len(tail)}
    else:
        item["data"] = data
    head = json.dumps({"outputs": [item]}).encode()
    with pytest.raises(PredictorError) as caught:
        decode_response(head + tail, str(len(head)), LABELS, "http://h/v2/models/y")
    assert says in caught.value.message


def test_an_answer_past_the_bound_is_refused_not_read_on(
    fake: tuple[Fake, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reef.predictors import oip

    _, url = fake
    monkeypatch.setattr(oip, "MAX_ANSWER", 40)  # the stand-in's /v2 answer is longer
    client = oip.Client(parse_url(url))
    with pytest.raises(PredictorError) as caught:
        client.get_json("/v2")
    port = parse_url(url).port
    assert caught.value.message == f"http://127.0.0.1:{port}/v2: an answer of more than 40 bytes"
    monkeypatch.setattr(oip, "MAX_ANSWER", 1 << 20)
    assert client.get_json("/v2")[0] == 200  # a fresh connection, the server still answers
    client.close()


# --- --like: a Reef model describing what another server serves ------------------------------


def like_model(
    folder: Path,
    *,
    name: str = "x",
    element: str = "float32",
    dims: str = "-1, 4",
    output: str = "y",
) -> Path:
    """A Reef model like the stand-in's: input x [-1, 4], output y scored top1 on a dataset
    of 16 rows whose answer (the argmax of x @ WEIGHTS for x >= 0) is 1."""
    (folder / "data").mkdir(parents=True)
    rows = np.random.default_rng(0).random((16, 4), dtype=np.float32)
    np.savez(folder / "data" / "rows.npz", features=rows, labels=np.ones(16, dtype=np.int64))
    data_sha = hashlib.sha256((folder / "data" / "rows.npz").read_bytes()).hexdigest()
    (folder / "data" / "reef.yaml").write_text(
        "kind: dataset\nname: rows\nversion: 1.0.0\nformat: npz\n"
        f"sources:\n- path: rows.npz\n  sha256: {data_sha}\n"
        "features: features\nlabels: labels\nsamples: 16\n"
    )
    (folder / "model.onnx").write_bytes(b"not served from here")
    model_sha = hashlib.sha256(b"not served from here").hexdigest()
    manifest = folder / "reef.yaml"
    manifest.write_text(
        "kind: model\nname: tiny-like\nversion: 2.0.0\nframework:\n  name: onnxruntime\n"
        f"sources:\n- path: model.onnx\n  sha256: {model_sha}\n"
        f"inputs:\n- name: {name}\n  element_type: {element}\n  shape: [{dims}]\n"
        f"outputs:\n- name: {output}\n  type: probability\n"
        "dataset: data\naccuracy:\n  metric: top1\n  reference: 1.0\n"
    )
    return manifest


def test_like_feeds_a_server_that_names_no_model_real_samples_and_accuracy(
    fake: tuple[Fake, str], tmp_path: Path
) -> None:
    state, url = fake
    manifest = like_model(tmp_path / "m")
    resolved = resolve(url, like=str(manifest))
    target = resolved.target
    assert resolved.manifest is not None and resolved.manifest.name == "tiny-like"
    assert resolved.dataset is not None and resolved.dataset.name == "rows"
    # Still the served model: its name, version and metadata hash, not the like model's file.
    assert (target.kind, target.name, target.version) == ("endpoint", "tiny", "3")
    assert target.sha256 == resolve(url).target.sha256
    assert target.endpoint is not None and target.endpoint.local_model == "tiny-like@2.0.0"
    assert "metadata" in target.endpoint.sha256_of
    record = run_job(job_for(resolved, BenchSettings(scenario="Offline", duration_s=0.2)))
    assert record.status == "valid", record.reasons
    assert record.samples["synthetic"] is False
    assert record.accuracy is not None and record.accuracy.value == 1.0
    sent = {json.loads(b[: int(h["Inference-Header-Content-Length"])])["inputs"][0]["name"]
            for h, b in state.bodies}  # fmt: skip
    assert sent == {"x"}


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"name": "pixels"}, "input 'pixels' of tiny-like is not one of the served model's (x)"),
        ({"element": "int64"}, "input 'x' is int64 in tiny-like but float32 where it is served"),
        ({"dims": "-1, 5"}, "input 'x' has shape [-1, 5] in tiny-like but [-1, 4] where it is"),
        ({"dims": "-1, 2, 2"}, "input 'x' has shape [-1, 2, 2] in tiny-like but [-1, 4]"),
    ],
)
def test_like_whose_inputs_are_not_the_served_ones_is_exit_2_naming_the_input(
    fake: tuple[Fake, str], tmp_path: Path, reef_home: Path, kwargs: dict[str, str], says: str
) -> None:
    _, url = fake
    manifest = like_model(tmp_path / "m", **kwargs)
    from reef import api

    with pytest.raises(SettingsError) as caught:
        api.bench(url, scenarios=["SingleStream"], duration_s=0.2, like=str(manifest))
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.message.startswith(f"--like {manifest}: ")
    assert says in caught.value.message
    assert not (reef_home / "runs").exists() or not any((reef_home / "runs").iterdir())


def test_like_whose_outputs_are_not_served_is_exit_2_before_anything_is_measured(
    fake: tuple[Fake, str], tmp_path: Path, reef_home: Path
) -> None:
    """The worker checks the --like model's outputs against the served ones before it
    measures: the accuracy cannot fail later on a name the server does not answer with."""
    state, url = fake
    manifest = like_model(tmp_path / "m", output="probs")
    from reef import api

    with pytest.raises(ReefError) as caught:
        api.bench(url, scenarios=["SingleStream"], duration_s=0.2, like=str(manifest))
    assert caught.value.exit_code == EXIT_USAGE
    assert "outputs[0].name: 'probs' is not in the model (it has 'y')" in caught.value.message
    assert state.infers == 0  # no query was sent
    assert not (reef_home / "runs").exists() or not any((reef_home / "runs").iterdir())


def test_like_a_served_input_the_model_lacks_is_named(fake: tuple[Fake, str]) -> None:
    # digits-cnn's input is 'input'; the stand-in's is 'x'.
    _, url = fake
    with pytest.raises(SettingsError, match=r"input 'input' of digits-cnn is not one of the "):
        resolve(url, like="digits-cnn")


@pytest.mark.parametrize(
    ("like", "says"),
    [
        ("no-such-model-here", "--like no-such-model-here: "),
        ("http://127.0.0.1:1/v2/models/m", "a served model's URL; --like names a Reef model"),
        ("digits", "--like digits: "),  # a dataset, not a model
    ],
)
def test_like_an_unknown_model_is_exit_2(
    fake: tuple[Fake, str], reef_home: Path, like: str, says: str
) -> None:
    _, url = fake
    from reef import api

    with pytest.raises(SettingsError) as caught:
        api.bench(url, scenarios=["SingleStream"], duration_s=0.2, like=like)
    assert caught.value.exit_code == EXIT_USAGE and says in caught.value.message
    assert not (reef_home / "runs").exists() or not any((reef_home / "runs").iterdir())


def reef_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """``reef ARGS`` in this process: its exit status."""
    from reef.cli import main

    monkeypatch.setattr("sys.argv", ["reef", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code if isinstance(exited.value.code, int) else 1


def test_like_on_a_target_that_is_not_served_is_exit_2(
    fake: tuple[Fake, str],
    reef_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, url = fake
    rc = reef_cli(monkeypatch, "bench", "digits-cnn", "--like", "digits-cnn", "--duration", "0.2")
    assert rc == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert "--like digits-cnn: digits-cnn is not a served model's URL" in err
    # Through the command too, a mismatch is exit 2 naming the input.
    rc = reef_cli(monkeypatch, "bench", url, "--like", "digits-cnn", "--duration", "0.2")
    assert rc == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert "input 'input' of digits-cnn is not one of the served model's (x)" in err
    assert not (reef_home / "runs").exists() or not any((reef_home / "runs").iterdir())
