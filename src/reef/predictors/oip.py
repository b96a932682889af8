"""A model served over the Open Inference Protocol v2 (the KServe / Triton REST protocol), as
a predictor: ``reef bench http://HOST:PORT/v2/models/NAME`` measures it like a model opened
in this process.

The model's signature is its metadata (``GET /v2/models/NAME[/versions/V]``): each input and
output with its datatype and shape, ``-1`` for any size. Each ``predict`` is one inference
request (``POST .../infer``) on a keep-alive connection of the calling thread's own (LoadGen
issues from one thread, Server's batching worker from another): with the binary tensor data
extension when the server lists it (``GET /v2``'s ``extensions``), else JSON tensors.

Only the standard library speaks HTTP here: the core benchmark needs no HTTP client package.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from reef.errors import PredictorError, SettingsError
from reef.predictors.base import PredictorOptions, Signature, TensorSpec

if TYPE_CHECKING:
    import numpy as np

# The protocol's datatypes as numpy (Reef's element types) names them.
ELEMENT_TYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
}
DATATYPES = {v: k for k, v in ELEMENT_TYPES.items()}
# BYTES tensors (text, encoded images): read in answers, as numpy fixed-width bytes ("S"),
# which LoadGen's accuracy log takes as it takes numbers; never sent (a BYTES input has no
# samples Reef can make: ``reef.bench.inputs`` refuses it).
BYTES = "BYTES"
BYTES_ELEMENT = "bytes"
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_EXTENSION = "binary_tensor_data"
TIMEOUT_S = 60.0  # one request, at most, before the run fails
MAX_ANSWER = 256 << 20  # an answer's body, at most, in bytes: a server's stream is not read on
_MAX_ERROR = 300  # characters of a server's error text kept in a message
URL_FORM = "http://HOST:PORT/v2/models/NAME[/versions/VERSION]"


def is_endpoint(spec: str) -> bool:
    """Whether ``spec`` (what ``reef bench`` was given) is a URL (only http:// and https://
    ones are served models; ``parse_url`` says so of another)."""
    import re

    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", spec) is not None


@dataclass(frozen=True)
class Endpoint:
    """Where a served model answers: ``url`` as given, its parts, and the model's path."""

    url: str
    scheme: str
    host: str
    port: int
    prefix: str  # the path before /v2 (a gateway's route), "" for none
    model: str
    version: str | None

    @property
    def model_path(self) -> str:
        """``{prefix}/v2/models/{model}[/versions/{version}]``, quoted."""
        path = f"{self.prefix}/v2/models/{quote(self.model, safe='')}"
        if self.version is not None:
            path += f"/versions/{quote(self.version, safe='')}"
        return path

    @property
    def server_path(self) -> str:
        return f"{self.prefix}/v2"

    @property
    def address(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_url(url: str) -> Endpoint:
    """``url`` as an Open Inference Protocol model's address, or a SettingsError (exit 2)
    saying what is wrong with it."""
    hint = f"give the model's address: {URL_FORM}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SettingsError(f"{url}: not a valid URL: {exc}", hint=hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{url}: not an http:// or https:// URL with a host", hint=hint)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(
            f"{url}: a model's address takes no query, fragment or credentials", hint=hint
        )
    segments = parts.path.rstrip("/").split("/")
    try:
        at = max(i for i, s in enumerate(segments) if s == "v2")
    except ValueError:
        at = -1
    rest = segments[at + 1 :] if at >= 0 else []
    shaped = (len(rest) == 2 and rest[0] == "models") or (
        len(rest) == 4 and rest[0] == "models" and rest[2] == "versions"
    )
    if at < 0 or not shaped or not all(rest):
        raise SettingsError(f"{url}: not the address of a model served over the Open "
                            "Inference Protocol v2 (…/v2/models/NAME)", hint=hint)  # fmt: skip
    from urllib.parse import unquote

    host = parts.hostname
    return Endpoint(
        url=url,
        scheme=parts.scheme,
        host=f"[{host}]" if ":" in host else host,
        port=port or (443 if parts.scheme == "https" else 80),
        prefix="/".join(segments[:at]),
        model=unquote(rest[1]),
        version=unquote(rest[3]) if len(rest) == 4 else None,
    )


class HttpError(PredictorError):
    """The server answered with an HTTP error status: ``status`` and its ``error`` text."""

    def __init__(self, message: str, status: int, error: str) -> None:
        super().__init__(message)
        self.status, self.error = status, error


class Client:
    """Requests to one server, each thread on a keep-alive connection of its own."""

    def __init__(self, endpoint: Endpoint, timeout: float = TIMEOUT_S) -> None:
        self.endpoint, self.timeout = endpoint, timeout
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            ep = self.endpoint
            host = ep.host.strip("[]")
            if ep.scheme == "https":
                conn = http.client.HTTPSConnection(host, ep.port, timeout=self.timeout)
            else:
                conn = http.client.HTTPConnection(host, ep.port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            # A server closing every connection leaves no trail of them.
            with self._lock, contextlib.suppress(ValueError):
                self._all.remove(conn)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, headers, body). A kept-alive connection the server has closed meanwhile
        is opened again, once; a server that cannot be reached is a PredictorError saying
        why ("connection refused", ...)."""
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                answer = conn.getresponse()
                data = answer.read(MAX_ANSWER + 1)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if attempt == 0:
                    continue
                raise self._unreachable(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise self._unreachable(exc) from exc
            if len(data) > MAX_ANSWER:
                self._drop()  # the rest of the body is never read
                raise PredictorError(
                    f"{self.endpoint.address}{path}: an answer of more than {MAX_ANSWER} bytes",
                    hint="is it a model server's answer? an inference's outputs are far smaller",
                )
            if answer.will_close:
                self._drop()
            return answer.status, answer.headers, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc: BaseException) -> PredictorError:
        if isinstance(exc, TimeoutError):
            return PredictorError(
                f"no answer from {self.endpoint.address} within {self.timeout:g} s",
                hint=f"is the server overloaded or stuck? {self.endpoint.url}",
            )
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return PredictorError(
            f"cannot reach {self.endpoint.address}: {str(reason).lower()}",
            hint=f"is the server running? {self.endpoint.url}",
        )

    def get_json(self, path: str) -> tuple[int, Any]:
        """(status, the JSON answer; None when it is not JSON)."""
        status, _, data = self.request("GET", path, headers={"Accept": "application/json"})
        try:
            return status, json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return status, None

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def error_text(answer: Any, raw: bytes = b"") -> str:
    """The ``error`` of a protocol error answer, else the start of its body."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        text = answer["error"]
    else:
        text = raw.decode("utf-8", "replace").strip() if raw else ""
    text = " ".join(text.split())
    return text[:_MAX_ERROR] + ("…" if len(text) > _MAX_ERROR else "")


def signature_of(metadata: dict[str, Any], where: str) -> Signature:
    """The model's signature from its protocol metadata; a PredictorError names a tensor
    the metadata does not describe as the protocol says."""

    def tensors(key: str) -> tuple[TensorSpec, ...]:
        found = metadata.get(key)
        if not isinstance(found, list) or (key == "inputs" and not found):
            raise PredictorError(f"{where}: the model's metadata lists no {key}")
        specs = []
        for i, item in enumerate(found):
            ok = isinstance(item, dict) and isinstance(item.get("name"), str)
            shape = item.get("shape") if ok else None
            datatype = item.get("datatype") if ok else None
            if not ok or not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
                raise PredictorError(f"{where}: {key}[{i}] of the model's metadata is not a "
                                     "tensor with a name and a shape")  # fmt: skip
            element = BYTES_ELEMENT if datatype == BYTES else ELEMENT_TYPES.get(str(datatype))
            if element is None:
                raise PredictorError(
                    f"{where}: {key}[{i}] {item['name']!r}: datatype {datatype!r} is not one "
                    f"Reef can send or read ({', '.join([*ELEMENT_TYPES, BYTES])})"
                )
            dims = tuple(d if d >= 0 else None for d in shape)
            specs.append(TensorSpec(item["name"], element, dims))
        return tuple(specs)

    return Signature(tensors("inputs"), tensors("outputs"))


class OipPredictor:
    """The model at an Open Inference Protocol URL; ``open``'s path is not read."""

    name = "oip"

    def __init__(self, url: str) -> None:
        self.endpoint = parse_url(url)
        self.client = Client(self.endpoint)
        self.server: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.binary = False
        self._signature: Signature | None = None
        self._failed: PredictorError | None = None  # the first request that failed
        self._infer = ""
        self._outputs_json = b""

    def version(self) -> str:
        name, version = self.server.get("name"), self.server.get("version")
        return " ".join(str(p) for p in (name, version) if p) or "unknown"

    def open(self, model_path: Path, options: PredictorOptions) -> Signature:
        ep = self.endpoint
        status, server = self.client.get_json(ep.server_path)
        self.server = server if status == 200 and isinstance(server, dict) else {}
        status, metadata = self.client.get_json(ep.model_path)
        if status != 200 or not isinstance(metadata, dict):
            raise PredictorError(f"{ep.url}: HTTP {status} for the model's metadata: "
                                 f"{error_text(metadata)}")  # fmt: skip
        self.metadata = metadata
        extensions = self.server.get("extensions")
        self.binary = isinstance(extensions, list) and BINARY_EXTENSION in extensions
        self._signature = signature_of(metadata, ep.url)
        self._infer = ep.model_path + "/infer"
        outputs = [
            {"name": t.name, "parameters": {"binary_data": True}} if self.binary
            else {"name": t.name}
            for t in self._signature.outputs
        ]  # fmt: skip
        self._outputs_json = json.dumps(outputs, separators=(",", ":")).encode()
        return self._signature

    def predict(self, feeds: dict[str, Any]) -> list[Any]:
        """The model's outputs for ``feeds``, from the server. Once a request has failed
        (the server unreachable, silent for the timeout, or answering an error), every later
        call raises that failure at once: the run has failed already, and LoadGen's remaining
        queries must not each wait out the timeout on a stuck server."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._predict(feeds)
        except PredictorError as exc:
            self._failed = exc
            raise

    def _predict(self, feeds: dict[str, Any]) -> list[Any]:
        import numpy as np

        signature = self._signature
        assert signature is not None, "open() first"
        inputs: list[bytes] = []
        blobs: list[bytes] = []
        for spec in signature.inputs:
            value = np.asarray(feeds[spec.name])
            datatype = DATATYPES.get(str(value.dtype))
            if datatype is None:
                raise PredictorError(f"input {spec.name!r}: {value.dtype} has no protocol datatype")
            head = f'{{"name":{json.dumps(spec.name)},"shape":{json.dumps(list(value.shape))},'
            head += f'"datatype":"{datatype}"'
            if self.binary:
                raw = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
                head += f',"parameters":{{"binary_data_size":{len(raw)}}}}}'
                blobs.append(raw)
            else:
                head += f',"data":{json.dumps(value.reshape(-1).tolist())}}}'
            inputs.append(head.encode())
        body = b'{"inputs":[' + b",".join(inputs) + b'],"outputs":' + self._outputs_json + b"}"
        headers = {"Content-Type": "application/json"}
        if self.binary:
            headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(body))}
            body += b"".join(blobs)
        status, answer_headers, data = self.client.request("POST", self._infer, body, headers)
        if status != 200:
            try:
                parsed = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                parsed = None
            text = error_text(parsed, data)
            raise HttpError(
                f"{self.endpoint.url}: HTTP {status}: {text}" if text
                else f"{self.endpoint.url}: HTTP {status}",
                status,
                text,
            )  # fmt: skip
        return decode_response(
            data, answer_headers.get(HEADER_LENGTH), signature, self.endpoint.url
        )

    def close(self) -> None:
        self.client.close()

    def info(self) -> dict[str, Any]:
        return {
            "options": {
                "url": self.endpoint.url,
                "binary_data": self.binary,
                "platform": self.metadata.get("platform"),
            }
        }


def decode_response(
    data: bytes, header_length: str | None, signature: Signature, url: str
) -> list[np.ndarray]:
    """The outputs of an inference answer, in the signature's order."""
    import numpy as np

    if header_length is not None:
        try:
            length = int(header_length)
        except ValueError:
            raise PredictorError(
                f"{url}: {HEADER_LENGTH} {header_length!r} is not a number"
            ) from None
        head, tail = data[:length], data[length:]
    else:
        head, tail = data, b""
    try:
        answer = json.loads(head)
        listed = answer["outputs"]
        by_name = {o["name"]: o for o in listed}  # a TypeError for an output not an object
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise PredictorError(f"{url}: the inference answer is not the protocol's: {exc}") from None
    offset = 0
    blobs: dict[str, bytes] = {}
    for item in listed:  # binary outputs follow the JSON in the order the JSON lists them
        parameters = item.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(tail):
                raise PredictorError(
                    f"{url}: output {item['name']!r}: binary_data_size {size!r} does not fit "
                    f"the {len(tail)} bytes after the answer's JSON"
                )
            blobs[item["name"]] = tail[offset : offset + size]
            offset += size
    outputs = []
    for spec in signature.outputs:
        item = by_name.get(spec.name)
        if item is None:
            raise PredictorError(f"{url}: the answer lacks output {spec.name!r}")
        shape = item.get("shape") or []
        if item.get("datatype") == BYTES or spec.element_type == BYTES_ELEMENT:
            outputs.append(_bytes_output(item, blobs.get(spec.name), shape, url))
            continue
        element = ELEMENT_TYPES.get(str(item.get("datatype")), spec.element_type)
        dtype = np.dtype(element)
        try:
            if spec.name in blobs:
                raw = np.frombuffer(blobs[spec.name], dtype=dtype.newbyteorder("<"))
                value = raw.astype(dtype)
            else:
                value = np.asarray(item.get("data", []), dtype=dtype)
            outputs.append(value.reshape(shape))
        except (ValueError, TypeError) as exc:
            raise PredictorError(
                f"{url}: output {spec.name!r}: its data is not {dtype} of shape {shape}: {exc}"
            ) from None
    return outputs


def _bytes_output(
    item: dict[str, Any], blob: bytes | None, shape: list[Any], url: str
) -> np.ndarray:
    """A BYTES output as fixed-width bytes: binary, each element a 4-byte little-endian
    length and its bytes; JSON, a list of strings (UTF-8)."""
    import numpy as np

    name = item["name"]
    elements: list[bytes] = []
    if blob is not None:
        offset = 0
        while offset < len(blob):
            if offset + 4 > len(blob):
                raise PredictorError(f"{url}: output {name!r}: a BYTES element's length is cut off")
            size = int.from_bytes(blob[offset : offset + 4], "little")
            offset += 4
            if offset + size > len(blob):
                raise PredictorError(
                    f"{url}: output {name!r}: a BYTES element of {size} bytes overruns its data"
                )
            elements.append(blob[offset : offset + size])
            offset += size
    else:
        data = item.get("data", [])
        if not isinstance(data, list) or not all(isinstance(e, str) for e in data):
            raise PredictorError(f"{url}: output {name!r}: BYTES data is not a list of strings")
        elements = [e.encode("utf-8") for e in data]
    try:
        count = math.prod(int(d) for d in shape)
    except (TypeError, ValueError):
        count = -1
    if count != len(elements):
        raise PredictorError(
            f"{url}: output {name!r}: {len(elements)} BYTES elements for shape {shape}"
        )
    return np.array(elements, dtype=bytes).reshape(shape)
