"""``reef bench http://HOST:PORT/v2/models/NAME``: a model served over the Open Inference
Protocol v2 (``reef serve``, Triton, KServe, MLServer) as a benchmark target.

Before anything runs, the server is asked for its metadata (``GET /v2``), the model's
(``GET /v2/models/NAME[/versions/V]``) and whether the model is ready: a URL that is not a
model's, a server that cannot be reached, an unknown model or one that is not ready is a
SettingsError (exit 2), and nothing is recorded.

The target's ``sha256`` is the served model file's when the server says it (``reef serve``
lists ``reef_sha256`` in the model's ``parameters``), so that ``reef compare`` lays the run
beside in-process runs of the same file; otherwise it is a hash of the model's metadata,
and ``target.endpoint.sha256_of`` says which. When the server names a Reef model
(``reef_model``) that is found here with the same sha256, its manifest and dataset feed the
run (real samples, accuracy); otherwise inputs are made from the signature, as for a bare
model file.

``like`` (``reef bench URL --like MODEL``) names a Reef model, a component ``name[@version]``
or a manifest, that describes what a server that does not name one serves (Triton, KServe,
MLServer): its inputs' steps, its dataset and accuracy metric feed the run as they would the
model's own. Its inputs must be the served model's (names, element types, shapes), checked
against the metadata now: a mismatch, an unknown model, or one without a dataset is a
SettingsError (exit 2), and nothing is recorded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from reef.bench.target import ResolvedTarget
from reef.errors import PredictorError, ReefError, SettingsError
from reef.meta.run import EndpointInfo, Target
from reef.predictors.base import TensorSpec
from reef.predictors.oip import (
    BYTES_ELEMENT,
    URL_FORM,
    Client,
    Endpoint,
    error_text,
    parse_url,
    signature_of,
)

# What ``reef serve`` says of a model it serves, in its metadata's ``parameters``.
PARAM_SHA256 = "reef_sha256"
PARAM_MODEL = "reef_model"
# The platform `reef serve` gives a {m}-pipeline in its metadata (reef.serving.pipeline).
PIPELINE_PLATFORM = "reef-pipeline"
# An endpoint has no model file here; its job's model_path is the URL.
_NO_FILE = Path()


def resolve_endpoint(url: str, like: str | None = None) -> ResolvedTarget:
    """The served model at ``url`` as a target, checked with the server now; ``like`` names
    the Reef model whose manifest and dataset describe it (``--like``)."""
    endpoint = parse_url(url)
    client = Client(endpoint, timeout=10.0)
    try:
        return _resolve(endpoint, client, like)
    except PredictorError as exc:
        raise SettingsError(exc.message, hint=exc.hint) from exc
    finally:
        client.close()


def _resolve(endpoint: Endpoint, client: Client, like: str | None = None) -> ResolvedTarget:
    url = endpoint.url
    status, server = client.get_json(endpoint.server_path)
    if status != 200 or not isinstance(server, dict):
        raise SettingsError(
            f"{url}: {endpoint.address}{endpoint.server_path} answered HTTP {status}, not the "
            "server metadata of the Open Inference Protocol v2",
            hint=f"is it an OIP v2 (KServe / Triton) server? the address: {URL_FORM}",
        )
    status, metadata = client.get_json(endpoint.model_path)
    if status == 404:
        raise SettingsError(
            f"{url}: the server has no model {endpoint.model!r}"
            + (f" version {endpoint.version!r}" if endpoint.version else "")
            + f": {error_text(metadata)}",
            hint=f"the server's repository lists its models; the address: {URL_FORM}",
        )
    if status != 200 or not isinstance(metadata, dict):
        raise SettingsError(f"{url}: HTTP {status} for the model's metadata: "
                            f"{error_text(metadata) or 'not JSON'}")  # fmt: skip
    signature = signature_of(metadata, url)  # a PredictorError (exit 2) for what Reef cannot send
    encoded = [t.name for t in signature.inputs if t.element_type == BYTES_ELEMENT]
    if encoded:
        pipeline = metadata.get("platform") == PIPELINE_PLATFORM
        raise SettingsError(
            f"{url}: input {encoded[0]!r} is BYTES (encoded images or text, one element a "
            "sample), for which Reef has no samples to send: it sends tensors of numbers",
            hint="bench the model it wraps, which takes the decoded tensors (its URL without "
            "-pipeline), with --like for its dataset"
            if pipeline
            else "bench a model of the server's that takes the decoded tensors",
        )
    if like is not None and metadata.get("platform") == PIPELINE_PLATFORM:
        raise SettingsError(
            f"--like {like}: {url} is a Reef pipeline, which applies its model's input steps "
            "and post-processing itself: its inputs are the dataset's rows and its outputs "
            "the post-processed answers, which --like's samples and accuracy metric are not",
            hint="bench the pipeline without --like (synthetic rows, performance only), or "
            "bench the model it wraps (its URL without -pipeline) with --like",
        )
    alike = _like_model(like, signature.inputs, url) if like is not None else None
    status, ready = client.get_json(endpoint.model_path + "/ready")
    if status != 200 or (isinstance(ready, dict) and ready.get("ready") is False):
        raise SettingsError(
            f"{url}: the model is not ready (HTTP {status}"
            + (f": {error_text(ready)}" if error_text(ready) else "")
            + ")",
            hint="wait until the server has loaded it",
        )
    parameters = metadata.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    served = parameters.get(PARAM_SHA256)
    if isinstance(served, str) and len(served) == 64:
        digest, sha256_of = served, "the served model file (the server's reef_sha256)"
    else:
        canonical = json.dumps(
            {k: metadata.get(k) for k in ("name", "versions", "platform", "inputs", "outputs")},
            sort_keys=True,
            separators=(",", ":"),
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        sha256_of = "the model's metadata (the server does not say its file's)"
    versions = metadata.get("versions")
    version = endpoint.version or (
        str(versions[0]) if isinstance(versions, list) and len(versions) == 1 else None
    )
    extensions = server.get("extensions")
    info = EndpointInfo(
        url=url,
        server_name=_text(server.get("name")),
        server_version=_text(server.get("version")),
        extensions=[str(e) for e in extensions] if isinstance(extensions, list) else [],
        platform=_text(metadata.get("platform")),
        sha256_of=sha256_of,
    )
    name = _text(metadata.get("name")) or endpoint.model
    local = alike or _local_model(parameters.get(PARAM_MODEL), served)
    if local is not None and alike is None:  # the file reef serve serves: its version
        version = local.target.version or version
    target = Target(
        kind="endpoint", name=name, version=version, path=url, sha256=digest, endpoint=info
    )
    resolved = ResolvedTarget(target=target, model_path=_NO_FILE)
    if local is not None:
        info.local_model = f"{local.target.name}@{local.target.version}"
        resolved.manifest, resolved.manifest_path = local.manifest, local.manifest_path
        resolved.dataset, resolved.dataset_path = local.dataset, local.dataset_path
        resolved.components = local.components
    return resolved


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _local_model(named: Any, sha256: Any) -> ResolvedTarget | None:
    """The Reef model the server names, found here with the same model file; None when it
    names none, or it is not here, or its file differs."""
    if not isinstance(named, str) or not isinstance(sha256, str):
        return None
    from reef.bench.target import _manifest
    from reef.components.lookup import find
    from reef.meta.load import load_model_manifest

    try:
        entry = find(named, kind="model")
        manifest = load_model_manifest(entry.manifest_path)
        if manifest.sources[0].sha256 != sha256:
            return None
        return _manifest(entry.manifest_path, manifest)
    except ReefError:
        return None


def _like_model(spec: str, served: tuple[TensorSpec, ...], url: str) -> ResolvedTarget:
    """The Reef model ``--like`` names, its inputs checked against the served model's."""
    from reef.bench.target import resolve
    from reef.predictors.oip import is_endpoint

    if is_endpoint(spec):
        raise SettingsError(
            f"--like {spec}: a served model's URL; --like names a Reef model here",
            hint="a model component name[@version] or a model manifest (reef.yaml)",
        )
    try:
        local = resolve(spec)
    except ReefError as exc:
        raise SettingsError(f"--like {spec}: {exc.message}", hint=exc.hint) from exc
    manifest = local.manifest
    if manifest is None:
        raise SettingsError(
            f"--like {spec}: a bare model file, which has no dataset or accuracy metric",
            hint="a model component name[@version] or a model manifest (reef.yaml)",
        )
    if local.dataset is None:
        raise SettingsError(
            f"--like {spec}: model {manifest.name} names no dataset to take samples from",
            hint="name a model whose manifest has a dataset",
        )
    by_name = {t.name: t for t in served}
    for spec_input in manifest.inputs:
        name = spec_input.name
        tensor = by_name.pop(name, None)
        if tensor is None:
            raise SettingsError(
                f"--like {spec}: input {name!r} of {manifest.name} is not one of the served "
                f"model's ({', '.join(t.name for t in served)})",
                hint=f"name a model whose inputs are {url}'s",
            )
        shape = [d if isinstance(d, int) else -1 for d in tensor.shape]
        if tensor.element_type != spec_input.element_type:
            raise SettingsError(
                f"--like {spec}: input {name!r} is {spec_input.element_type} in "
                f"{manifest.name} but {tensor.element_type} where it is served",
                hint=f"name a model whose inputs are {url}'s",
            )
        if len(shape) != len(spec_input.shape) or any(
            a != b and -1 not in (a, b) for a, b in zip(shape, spec_input.shape, strict=False)
        ):
            raise SettingsError(
                f"--like {spec}: input {name!r} has shape {spec_input.shape} in "
                f"{manifest.name} but {shape} where it is served",
                hint=f"name a model whose inputs are {url}'s",
            )
    if by_name:
        raise SettingsError(
            f"--like {spec}: the served model's input {next(iter(by_name))!r} is not one of "
            f"{manifest.name}'s ({', '.join(i.name for i in manifest.inputs)})",
            hint=f"name a model whose inputs are {url}'s",
        )
    return local
