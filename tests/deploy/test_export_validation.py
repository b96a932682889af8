"""The exported objects validated offline: Kubernetes' against its OpenAPI schemas
(kubernetes-validate, strict), the compose file against the compose specification's JSON
schema and KServe's objects against KServe's CRD schemas (vendored in tests/deploy/data); and
``docker compose config`` where a docker CLI with the compose plugin is here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import reef

KUBERNETES = "1.37.0"  # the newest schemas kubernetes-validate ships
DATA = Path(__file__).parent / "data"
OPTIONS = ["--gpu", "1", "--cpu-request", "500m", "--cpu-limit", "2", "--memory-request",
           "512Mi", "--memory-limit", "2Gi", "--max-batch-size", "16", "--max-delay-ms", "2.5",
           "--replicas", "2", "--max-replicas", "6"]  # fmt: skip


def export(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, *extra: str) -> Path:
    out = tmp_path / kind
    done = reef(capsys, "export", kind, "digits-classifier", "-o", str(out), *extra)
    assert done.code == 0, done.err
    return out


def test_kubernetes_objects_validate_strictly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import kubernetes_validate

    out = export(capsys, tmp_path, "k8s", *OPTIONS, "--target-inflight", "4.5")
    objects = {}
    for name in ("configmap", "deployment", "service", "hpa"):
        obj = yaml.safe_load((out / f"{name}.yaml").read_text())
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)  # raises on any error
        objects[obj["kind"]] = obj
    assert set(objects) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"}
    pod = objects["Deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": 1},
    }
    assert container["securityContext"]["runAsNonRoot"] is True
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    # reef serve's settings come from the ConfigMap
    assert container["args"][-4:] == [
        "--max-batch-size", "$(REEF_MAX_BATCH_SIZE)", "--max-delay-ms", "$(REEF_MAX_DELAY_MS)"
    ]  # fmt: skip
    data = objects["ConfigMap"]["data"]
    assert data["max-batch-size"] == "16" and data["max-delay-ms"] == "2.5"
    assert yaml.safe_load(data["reef.yaml"])["name"] == "digits-classifier"
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "reef_inflight_requests"},
                "target": {"type": "AverageValue", "averageValue": "4500m"},
            },
        }
    ]
    assert objects["Service"]["spec"]["ports"][0]["port"] == 8080


def strict(schema: Any) -> Any:
    """A CRD's schema as ``kubectl --validate=strict`` reads it: an object's unknown field is
    an error (the API server would otherwise prune it silently)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        open_ended = "additionalProperties" in out or out.get(
            "x-kubernetes-preserve-unknown-fields"
        )
        if "properties" in out and not open_ended:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def crd_validator(name: str) -> Any:
    import jsonschema

    schema = json.loads((DATA / name).read_text())
    return jsonschema.Draft4Validator(strict(schema))


def test_kserve_objects_validate_against_kserves_crds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """kubernetes-validate has no schema for a CRD: KServe's own (vendored) are used, strictly."""
    import jsonschema
    import kubernetes_validate

    out = export(capsys, tmp_path, "kserve", *OPTIONS, "--image", "registry.example/reef:1")
    isvc = yaml.safe_load((out / "inferenceservice.yaml").read_text())
    runtime = yaml.safe_load((out / "servingruntime.yaml").read_text())
    crd_validator("kserve-inferenceservice.schema.json").validate(isvc)
    crd_validator("kserve-servingruntime.schema.json").validate(runtime)
    wrong = json.loads(json.dumps(isvc))
    wrong["spec"]["predictor"]["model"]["protocolVersio"] = "v2"  # a typo is caught
    with pytest.raises(jsonschema.ValidationError):
        crd_validator("kserve-inferenceservice.schema.json").validate(wrong)
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert isvc["metadata"]["name"] == "digits-classifier"
    model = isvc["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "v2"
    assert model["modelFormat"]["name"] == "reef"
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert (runtime["apiVersion"], runtime["kind"]) == (
        "serving.kserve.io/v1alpha1", "ServingRuntime"
    )  # fmt: skip
    assert runtime["spec"]["protocolVersions"] == ["v2"]
    assert runtime["spec"]["supportedModelFormats"][0]["name"] == "reef"
    container = runtime["spec"]["containers"][0]
    assert container["name"] == "kserve-container"
    assert container["image"] == "registry.example/reef:1"
    assert container["args"][:2] == ["serve", "/opt/reef/model/reef.yaml"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    # The container is a core v1 Container: Kubernetes' own schema checks it.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [container]}}  # fmt: skip
    kubernetes_validate.validate(pod, KUBERNETES, strict=True)


def compose_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    return export(capsys, tmp_path, "compose", *OPTIONS[:2], "--cpu-limit", "1500m",
                  "--memory-limit", "1Gi", "--with-server")  # fmt: skip


def test_compose_file_validates_against_the_compose_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    out = compose_file(capsys, tmp_path)
    schema = json.loads((DATA / "compose-spec.json").read_text())
    doc = yaml.safe_load((out / "docker-compose.yml").read_text())
    jsonschema.Draft7Validator(schema).validate(doc)
    serve = doc["services"]["serve"]
    assert serve["build"]["context"] == "."
    assert serve["restart"] == "unless-stopped"
    assert serve["healthcheck"]["test"][0] == "CMD"
    assert "/v2/health/ready" in serve["healthcheck"]["test"][-1]
    assert serve["deploy"]["resources"]["limits"] == {"cpus": "1.5", "memory": "1073741824b"}
    prometheus = doc["services"]["prometheus"]
    assert "./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    # The schema itself catches what it should: the check is not vacuous.
    doc["services"]["serve"]["restart"] = ["always"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(doc)


def _compose_cli() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=20)
        if probe.returncode == 0:
            return command
    return None


def test_docker_compose_config_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _compose_cli()
    if command is None:
        pytest.skip("no docker CLI with the compose plugin here (docker compose version failed)")
    out = compose_file(capsys, tmp_path)
    done = subprocess.run(
        [*command, "-f", str(out / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
