"""reef serve TARGET... [--host 127.0.0.1] [--port 8080] [--max-batch-size N] [--max-delay-ms MS]
[--slo-p99-ms MS] [--workers N]

FastAPI, uvicorn and prometheus-client (``reef-bench[serve]``) are imported inside the
command, never when ``reef`` starts.
"""

from __future__ import annotations

import os
from typing import Any

import typer

from reef.cli._common import stderr
from reef.errors import Terminated

SERVE_EXTRA = "pip install 'reef-bench[serve]'"
DATASET = "dataset"  # --reference dataset: the model's own dataset component


def serve(
    targets: list[str] = typer.Argument(
        ..., metavar="TARGET...", help="models, as reef bench takes them"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on"),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="the port to listen on"),
    max_batch_size: int = typer.Option(
        8, "--max-batch-size", min=1, max=4096, help="rows in one call of a model, at most"
    ),
    max_delay_ms: float = typer.Option(
        2.0,
        "--max-delay-ms",
        min=0.0,
        max=10_000.0,
        help="how long a request waits for others to share its batch, at most",
    ),
    slo_p99_ms: float | None = typer.Option(
        None,
        "--slo-p99-ms",
        min=0.01,
        help="move the batch limit and delay online to keep p99 within this (ms), raising "
        "throughput where it allows",
    ),
    max_queue: int = typer.Option(
        256, "--max-queue", min=1, help="requests waiting, at most: past it, 503 Retry-After"
    ),
    reference: list[str] = typer.Option(
        [],
        "--reference",
        metavar="[MODEL=]FILE.npz|dataset",
        help="check live traffic for drift against this reference (the model's inputs, rows "
        "x features: .npz, .npy or .csv), or 'dataset': the model's own dataset through its "
        "manifest's steps, profiled now; MODEL= names the model where several are served",
    ),
    drift_window: int = typer.Option(
        500, "--drift-window", min=10, help="rows a drift check looks at"
    ),
    drift_detector: str | None = typer.Option(
        None,
        "--drift-detector",
        metavar="NAME",
        help="the reef.drift checker deciding each window (auto, ks, chi2, psi, js, pca, "
        "autoencoder, or a plugin's) [each feature's test and the reference's PCA]",
    ),
    alert_webhook: str | None = typer.Option(
        None, "--alert-webhook", metavar="URL", help="POST each drifted window here (JSON)"
    ),
    log_payloads: float = typer.Option(
        0.0,
        "--log-payloads",
        min=0.0,
        max=1.0,
        metavar="RATE",
        help="keep this share of requests (inputs and outputs) in REEF_HOME/payloads/MODEL/ "
        "as .npz files, for reef drift and replay (0: none)",
    ),
    payload_max_mb: float = typer.Option(
        100.0, "--payload-max-mb", min=0.001, help="the payload log's size a model, at most"
    ),
    max_body_mb: float = typer.Option(
        64.0, "--max-body", min=0.001, help="the largest request body read, in MiB (413 past it)"
    ),
    max_inflight_mb: float = typer.Option(
        512.0,
        "--max-inflight-mb",
        min=0.001,
        help="the request bodies a process answers at once, in MiB, at least --max-body: "
        "past it, 503 Retry-After (health, metadata and /metrics are never refused)",
    ),
    backend: str | None = typer.Option(
        None, "--backend", "-b", help="run the models on this backend instead of their own"
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="the models' threads"),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn's log level"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="processes sharing the port (uvicorn's workers), each with the models, its own "
        "batchers and its own drift checks; /metrics sums them all",
    ),
) -> None:
    """Serve models over the Open Inference Protocol v2 (KServe / Triton REST): metadata,
    health, inference (JSON and binary tensors), adaptive batching and Prometheus /metrics.
    SIGTERM or Ctrl-C drains the requests in flight, then stops."""
    from reef import api

    try:
        import uvicorn

        from reef.serving.app import ServeSettings, create_app
    except ImportError as exc:
        raise typer.BadParameter(
            f"serving needs {exc.name or 'FastAPI and uvicorn'}: {SERVE_EXTRA}"
        ) from exc
    if len(set(targets)) != len(targets):
        raise typer.BadParameter("a target is named twice", param_hint="TARGET")
    if max_inflight_mb < max_body_mb:
        raise typer.BadParameter(
            f"{max_inflight_mb:g} MiB is less than --max-body {max_body_mb:g} MiB: a request "
            "of the largest size allowed could never be answered",
            param_hint="--max-inflight-mb",
        )
    models = []
    try:
        for target in targets:
            models.append(api.open_served(target, backend=backend, threads=threads))
    except BaseException:
        for model in models:
            model.close()
        raise
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        for model in models:
            model.close()
        raise typer.BadParameter(f"two targets are both models named {names}", param_hint="TARGET")
    settings = ServeSettings(
        max_batch_size=max_batch_size,
        max_delay_ms=max_delay_ms,
        max_queue=max_queue,
        slo_p99_ms=slo_p99_ms,
        drift_window=drift_window,
        alert_webhook=alert_webhook,
        max_body=int(max_body_mb * 1024 * 1024),
        max_inflight_bytes=int(max_inflight_mb * 1024 * 1024),
        payload_rate=log_payloads,
        payload_max_bytes=int(payload_max_mb * 1024 * 1024),
        workers=workers,
        drift_detector=drift_detector,
    )
    try:
        references = _references(
            reference,
            models,
            drift_detector,
            drift_window,
            dict(zip(names, targets, strict=True)),
            backend,
        )
    except BaseException:
        for model in models:
            model.close()
        raise
    shown = ", ".join(_shown(m) for m in models)
    processes = f"; {workers} worker processes" if workers > 1 else ""
    if workers > 1:
        # Checked here; each worker opens the models again (the parent keeps none open).
        from reef.cli.server import _check_address

        for model in models:
            model.close()
        _check_address(host, port)  # refused now, not by each worker
    else:
        application = create_app(models, settings, references=references)
    stderr.print(
        f"Reef serving {shown} on http://{host}:{port}/v2 (batches of up to "
        f"{max_batch_size}, {max_delay_ms:g} ms{processes})",
        markup=False,
    )
    try:
        if workers == 1:
            uvicorn.run(application, host=host, port=port, log_level=log_level.lower())
        else:
            _run_workers(targets, settings, references, backend, threads, host, port, log_level)
    except (KeyboardInterrupt, Terminated):
        # uvicorn drained the requests in flight (in every worker), then raised the signal
        # again: a server stopped by Ctrl-C or SIGTERM has ended as it should (exit 0).
        stderr.print("reef serve stopped", markup=False)


def _run_workers(
    targets: list[str],
    settings: Any,
    references: dict[str, Any],
    backend: str | None,
    threads: int | None,
    host: str,
    port: int,
    log_level: str,
) -> None:
    """``workers`` uvicorn processes on one port; the private directory of their metrics and
    references is removed when they have stopped."""
    import uvicorn

    from reef.serving.workers import private_directory, worker_environment

    with private_directory() as root:
        given = worker_environment(
            root, targets, settings, backend=backend, threads=threads, references=references
        )
        saved = {name: os.environ.get(name) for name in given}
        os.environ.update(given)  # the workers (spawned) inherit it
        try:
            uvicorn.run(
                "reef.serving.workers:create_worker_app",
                factory=True,
                workers=settings.workers,
                host=host,
                port=port,
                log_level=log_level.lower(),
            )
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _references(
    given: list[str],
    models: list[Any],
    detector: str | None = None,
    window: int = 500,
    targets: dict[str, str] | None = None,
    backend: str | None = None,
) -> dict[str, Any]:
    """Each --reference's profile, by the name of the model it is for (checked to fit it, and
    to suit --drift-detector)."""
    from reef import api
    from reef.serving.drift import check_reference

    if detector is not None and not given:
        raise typer.BadParameter(
            "it checks live traffic against a reference: give --reference too",
            param_hint="--drift-detector",
        )
    fitted = ("pca", "autoencoder") if detector == "autoencoder" else ("pca",)

    by_name = {m.name: m for m in models}
    found: dict[str, Any] = {}
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or "/" in name or name.endswith((".npz", ".npy", ".csv")):
            name, path = "", item
        if not name:
            if len(models) != 1:
                raise typer.BadParameter(
                    f"{item!r}: name the model it is for (MODEL=FILE): several are served",
                    param_hint="--reference",
                )
            name = models[0].name
        if name not in by_name:
            raise typer.BadParameter(
                f"{item!r}: no model {name!r} is served ({', '.join(by_name)})",
                param_hint="--reference",
            )
        if name in found:
            raise typer.BadParameter(f"two references for {name!r}", param_hint="--reference")
        if path == DATASET:  # the model's own dataset, as it takes it: sketches, no rows
            target = (targets or {}).get(name, name)
            profile = api.drift_dataset_profile(target, reconstruction=fitted, backend=backend)
        else:
            profile = api.drift_profile(path, reconstruction=fitted)
        check_reference(by_name[name], profile)
        if detector is not None:  # made, fitted and calibrated now: refused before serving
            api.drift_detector(
                profile, window=window, min_rows=min(window, 30), checker=detector
            ).close()
        found[name] = profile
    return found


def _shown(model: Any) -> str:
    """A model's name and version, and its ``{m}-pipeline`` where its manifest's processing
    is served too."""
    pipeline = model.processing is not None and not isinstance(model.processing, str)
    return f"{model.name} {model.version}" + (f" (and {model.name}-pipeline)" if pipeline else "")
