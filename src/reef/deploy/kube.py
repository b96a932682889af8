"""Kubernetes objects (Deployment, Service, ConfigMap, HorizontalPodAutoscaler) and KServe's
(a ServingRuntime and an InferenceService speaking protocol v2) for a plan."""

from __future__ import annotations

from typing import Any

from reef.deploy.options import ExportOptions
from reef.deploy.plan import Plan
from reef.deploy.render import INFLIGHT_METRIC, LIVE, METRICS, READY, UID, app_name, image_name

SETTING_ENV = {"--max-batch-size": "REEF_MAX_BATCH_SIZE", "--max-delay-ms": "REEF_MAX_DELAY_MS",
               "--slo-p99-ms": "REEF_SLO_P99_MS", "--max-queue": "REEF_MAX_QUEUE",
               "--max-inflight-mb": "REEF_MAX_INFLIGHT_MB", "--threads": "REEF_THREADS",
               "--workers": "REEF_WORKERS"}  # fmt: skip


def labels(plan: Plan, options: ExportOptions) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": app_name(plan, options),
        "app.kubernetes.io/version": plan.version,
        "app.kubernetes.io/component": "predictor",
        "app.kubernetes.io/managed-by": "reef",
    }


def scrape_annotations(options: ExportOptions) -> dict[str, str]:
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(options.port),
        "prometheus.io/path": METRICS,
    }


def _probe(path: str, port: int, **timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, **timing}


def probes(options: ExportOptions) -> dict[str, Any]:
    """Live: the process answers; ready: the model is loaded and takes requests. The startup
    probe waits for readiness (loading a model can take minutes) before liveness counts."""
    return {
        "startupProbe": _probe(READY, options.port, periodSeconds=5, failureThreshold=60),
        "livenessProbe": _probe(LIVE, options.port, periodSeconds=10, failureThreshold=3),
        "readinessProbe": _probe(READY, options.port, periodSeconds=5, failureThreshold=2),
    }


def resources(options: ExportOptions) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", options.cpu_request_or_default()),
                                  ("memory", options.memory_request)) if v}  # fmt: skip
    limits: dict[str, Any] = {k: v for k, v in (("cpu", options.cpu_limit),
                                                ("memory", options.memory_limit)) if v}  # fmt: skip
    if options.gpu:
        limits["nvidia.com/gpu"] = options.gpu  # extended resources: limits only
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _container(plan: Plan, options: ExportOptions, name: str, configmap: str | None) -> Any:
    args = ["serve", plan.target, "--host", "0.0.0.0", "--port", str(options.port)]
    env = []
    for option in options.serve_settings():
        # From the ConfigMap: changing a setting is an edit there and a rollout, no new image.
        variable = SETTING_ENV[option]
        args += [option, f"$({variable})"]
        env.append(
            {
                "name": variable,
                "valueFrom": {"configMapKeyRef": {"name": configmap, "key": option[2:]}},
            }
        )
    container: dict[str, Any] = {
        "name": name,
        "image": image_name(plan, options),
        "args": args,
        "ports": [{"name": "http", "containerPort": options.port, "protocol": "TCP"}],
    }
    if env and configmap is not None:
        container["env"] = env
    container.update(probes(options))
    res = resources(options)
    if res:
        container["resources"] = res
    container["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    return container


def configmap(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    name = app_name(plan, options)
    data = {option[2:]: value for option, value in options.serve_settings().items()}
    if plan.manifest_text is not None:
        data["reef.yaml"] = plan.manifest_text  # for reference: the image holds its own copy
    annotations = {"reef.dev/lock-sha256": plan.lock_sha256} if plan.lock_sha256 else {}
    meta: dict[str, Any] = {"name": f"{name}-settings", "labels": labels(plan, options)}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def deployment(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    name = app_name(plan, options)
    selector = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(plan, options)},
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": labels(plan, options),
                    # A new ConfigMap's settings change this, so applying them rolls the pods.
                    "annotations": {
                        **scrape_annotations(options),
                        "reef.dev/settings-sha256": _digest(configmap(plan, options)["data"]),
                    },
                },
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "fsGroup": UID},
                    "terminationGracePeriodSeconds": 30,  # reef serve drains what is in flight
                    "containers": [_container(plan, options, "serve", f"{name}-settings")],
                },
            },
        },
    }


def service(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    name = app_name(plan, options)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "labels": labels(plan, options),
            "annotations": scrape_annotations(options),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [
                {"name": "http", "port": options.port, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def hpa(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    """Scaled on the requests in flight per pod (a Pods metric: the Prometheus adapter serves
    ``reef_inflight_requests`` through the custom metrics API)."""
    name = app_name(plan, options)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels(plan, options)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": options.replicas,
            "maxReplicas": options.max_replicas,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": INFLIGHT_METRIC},
                        "target": {
                            "type": "AverageValue",
                            "averageValue": _quantity(options.target_inflight),
                        },
                    },
                }
            ],
        },
    }


def _digest(data: dict[str, str]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _quantity(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def serving_runtime(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    """A ServingRuntime whose container is the exported image running reef serve: KServe
    sets ``protocolVersion`` on a model spec, which names its runtime."""
    name = app_name(plan, options)
    container = _container(plan, options, "kserve-container", None)
    container.pop("env", None)
    container["args"] = options.serve_args(plan.target)
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {"name": f"{name}-runtime", "labels": labels(plan, options)},
        "spec": {
            "annotations": scrape_annotations(options),
            "supportedModelFormats": [{"name": "reef", "version": "1", "autoSelect": False}],
            "protocolVersions": ["v2"],
            "containers": [container],
        },
    }


def inference_service(plan: Plan, options: ExportOptions) -> dict[str, Any]:
    name = app_name(plan, options)
    model: dict[str, Any] = {
        "modelFormat": {"name": "reef", "version": "1"},
        "runtime": f"{name}-runtime",
        "protocolVersion": "v2",
    }
    res = resources(options)
    if res:
        model["resources"] = res
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "labels": labels(plan, options),
            "annotations": {
                **scrape_annotations(options),
                "serving.kserve.io/enable-prometheus-scraping": "true",
            },
        },
        "spec": {
            "predictor": {
                "minReplicas": options.replicas,
                "maxReplicas": options.max_replicas,
                "model": model,
            }
        },
    }
