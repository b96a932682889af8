"""Shared fixtures: a temporary REEF_HOME for every test, tiny ONNX models and their manifests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from onnx import helper, numpy_helper

pytest_plugins = ["databases"]  # db_url and friends: SQLite, and PostgreSQL where it runs
Dim = int | str | None


@pytest.fixture(autouse=True)
def reef_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty REEF_HOME, so nothing touches the real one."""
    home = tmp_path_factory.mktemp("reef-home")
    monkeypatch.setenv("REEF_HOME", str(home))
    monkeypatch.delenv("REEF_DB_URL", raising=False)
    return home


def _dims(shape: Sequence[Dim]) -> list[int | str]:
    """``None`` becomes a symbolic dimension: ``batch`` first, ``d<i>`` after it."""
    return [("batch" if i == 0 else f"d{i}") if d is None else d for i, d in enumerate(shape)]


def build_onnx(
    path: Path,
    input_shape: Sequence[Dim] = (None, 4),
    output_dim: int = 3,
    *,
    dtype: str = "float32",
    input_name: str = "x",
    output_name: str = "y",
    softmax: bool = True,
    seed: int = 0,
) -> Path:
    """A tiny ``y = softmax(x @ W + b)`` model (opset 17, IR 8) written to ``path``.

    ``input_shape`` holds ints (fixed), strings (symbolic names) or None (symbolic, named for
    you); the output has the input's leading dimensions and ``output_dim`` last.
    """
    dims = _dims(input_shape)
    last = dims[-1]
    if not isinstance(last, int):
        raise ValueError("the last input dimension must be fixed: it sizes the weights")
    np_type = np.dtype(dtype)
    elem = helper.np_dtype_to_tensor_dtype(np_type)
    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(
        rng.standard_normal((last, output_dim)).astype(np_type), name="W"
    )
    bias = numpy_helper.from_array(rng.standard_normal(output_dim).astype(np_type), name="b")
    nodes = [
        helper.make_node("MatMul", [input_name, "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits" if softmax else output_name]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], [output_name], axis=-1))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(input_name, elem, dims)],
        [helper.make_tensor_value_info(output_name, elem, [*dims[:-1], output_dim])],
        initializer=[weights, bias],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="reef-tests"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_for(model_path: Path, **fields: Any) -> dict[str, Any]:
    """A valid model manifest (as a dict) describing ``model_path``; ``fields`` replace keys."""
    model = onnx.load(str(model_path))
    inputs = []
    for value in model.graph.input:
        t = value.type.tensor_type
        np_type = helper.tensor_dtype_to_np_dtype(t.elem_type)
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        inputs.append({"name": value.name, "element_type": np_type.name, "shape": shape})
    outputs = [{"name": value.name, "type": "probability"} for value in model.graph.output]
    data: dict[str, Any] = {
        "kind": "model",
        "name": "tiny",
        "version": "1.0.0",
        "framework": {"name": "onnxruntime", "version": ">=1.17"},
        "sources": [{"path": model_path.name, "sha256": sha256(model_path)}],
        "inputs": inputs,
        "outputs": outputs,
    }
    data.update(fields)
    return data


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_onnx(tmp_path: Path) -> Callable[..., Path]:
    """``make_onnx(path=None, input_shape=[None, 4], output_dim=3, **options) -> Path``."""

    def make(
        path: Path | None = None,
        input_shape: Sequence[Dim] = (None, 4),
        output_dim: int = 3,
        **options: Any,
    ) -> Path:
        return build_onnx(path or tmp_path / "model.onnx", input_shape, output_dim, **options)

    return make


@pytest.fixture
def write_manifest() -> Callable[..., Path]:
    """``write_manifest(model_path, path=None, **fields) -> Path``: a manifest next to the model
    with the model's real sha256, inputs and outputs; ``fields`` replace top-level keys."""

    def write(model_path: Path, path: Path | None = None, **fields: Any) -> Path:
        target = path or model_path.with_name("model.yaml")
        return write_yaml(target, manifest_for(model_path, **fields))

    return write


# What the local HTTP server below needs; kept beside it, since it was added after the rest.
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import http.server  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402


class HttpServer:
    """A real HTTP server on 127.0.0.1 serving scripted replies from memory.

    ``route(path, *replies)`` sets what ``path`` answers: each request takes the next reply and
    the last one repeats. A reply is ``bytes`` (200 with that body), an ``int`` (that status,
    empty body) or an ``HttpServer.Reply`` (status, body, headers, a ``length`` announced as
    Content-Length that may exceed the body to cut it short, a ``delay_s`` before answering).
    Unknown paths answer 404.
    Every request is recorded in ``requests`` as ``(path, headers)``; ``hits(path)`` counts.
    """

    @dataclasses.dataclass(frozen=True)
    class Reply:
        status: int = 200
        body: bytes = b""
        headers: dict[str, str] = dataclasses.field(default_factory=dict)
        length: int | None = None  # Content-Length sent; None: the body's true length
        delay_s: float = 0.0  # wait before answering, to make a client time out

    @dataclasses.dataclass(frozen=True)
    class Request:
        path: str
        headers: dict[str, str]

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, list[HttpServer.Reply]] = {}
        self.requests: list[HttpServer.Request] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = owner._take(self.path, dict(self.headers.items()))
                time.sleep(reply.delay_s)
                self.close_connection = True
                # The client may have given up already (a timeout test): that is not an error.
                with contextlib.suppress(OSError):
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    length = len(reply.body) if reply.length is None else reply.length
                    self.send_header("Content-Length", str(length))
                    self.end_headers()
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        # A short poll keeps shutdown (at every teardown) from costing half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._closed = False
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *replies: HttpServer.Reply | bytes | int) -> str:
        """Script the replies of ``path``; returns its full URL."""
        if not replies:
            raise ValueError("give at least one reply")
        script = [self._reply(r) for r in replies]
        with self._lock:
            self._routes[path] = script
        return self.url(path)

    def _reply(self, reply: HttpServer.Reply | bytes | int) -> HttpServer.Reply:
        if isinstance(reply, bytes):
            return self.Reply(body=reply)
        if isinstance(reply, int):
            return self.Reply(status=reply)
        return reply

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def _take(self, path: str, headers: dict[str, str]) -> HttpServer.Reply:
        with self._lock:
            self.requests.append(self.Request(path, headers))
            script = self._routes.get(path)
            if not script:
                return self.Reply(status=404, body=b"not found")
            return script.pop(0) if len(script) > 1 else script[0]

    def close(self) -> None:
        """Stop serving; later requests are refused. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A running ``HttpServer``, shut down after the test."""
    server = HttpServer()
    try:
        yield server
    finally:
        server.close()


# A real small or read-only file system, for the tests of a full disk and a read-only folder:
# permission bits prove nothing when the tests run as root, and a monkeypatched OSError proves
# only that the seam is there.
import subprocess  # noqa: E402


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """``tmpfs(size="1m", read_only=False, fill=None) -> Path``: mount a tmpfs of ``size``
    under ``tmp_path`` (``fill(path)`` writes into it before a read-only remount); unmounted
    after the test. Skips where mounting is not permitted (not root, no CAP_SYS_ADMIN)."""
    mounted: list[Path] = []

    def mount(
        size: str = "1m", read_only: bool = False, fill: Callable[[Path], None] | None = None
    ) -> Path:
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(point)
        if fill is not None:
            fill(point)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
        return point

    try:
        yield mount
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
