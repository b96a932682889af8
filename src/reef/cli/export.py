"""reef export compose|k8s|kserve TARGET -o DIR; reef export mlperf RUN... -o DIR | --check DIR"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from reef.cli._common import emit_json, stderr
from reef.errors import EXIT_FAILED

if TYPE_CHECKING:
    from reef.api import ExportReport, MlperfCheck, MlperfExport

app = typer.Typer(
    help="Deployment files for a model (docker-compose, Kubernetes or KServe, run by reef "
    "serve), or an MLPerf submission tree of recorded runs.",
    no_args_is_help=True,
)

_TARGET = typer.Argument(
    ..., metavar="TARGET", help="what `reef bench` takes: a component name[@version], a "
    "manifest, a lock or a model file"
)  # fmt: skip
_OUT = typer.Option(..., "--output", "-o", metavar="DIR", help="the folder to write (new or empty)")
_WHEEL = typer.Option(
    None, "--wheel", metavar="FILE", help="a reef-bench wheel to install in the image instead "
    "of the package index's"
)  # fmt: skip
_FORCE = typer.Option(False, "--force", help="replace a non-empty DIR's contents")
_JSON = typer.Option(False, "--json", help="print the files written and their sha256 as JSON")
_BASE = typer.Option("python:3.11-slim", "--base-image", help="the Dockerfile's FROM")
_PORT = typer.Option(8080, "--port", help="the port reef serve listens on in the container")
_GPU = typer.Option(0, "--gpu", help="GPUs for the model (onnxruntime-gpu or torch)")
_BATCH = typer.Option(None, "--max-batch-size", help="reef serve --max-batch-size")
_DELAY = typer.Option(None, "--max-delay-ms", help="reef serve --max-delay-ms")
_SLO = typer.Option(None, "--slo-p99-ms", help="reef serve --slo-p99-ms")
_QUEUE = typer.Option(None, "--max-queue", help="reef serve --max-queue")
_INFLIGHT = typer.Option(None, "--max-inflight-mb", help="reef serve --max-inflight-mb")
_THREADS = typer.Option(None, "--threads", help="reef serve --threads (the model's threads)")
_WORKERS = typer.Option(
    1, "--workers", help="reef serve --workers (processes, each with the model); on Kubernetes "
    "the CPU request defaults to a core a worker"
)  # fmt: skip
_NAME = typer.Option(None, "--name", help="the service's name [the model's]")
_IMAGE_K8S = typer.Option(
    None, "--image", help="the image the cluster pulls [reef-serve-NAME:VERSION, built locally]"
)
_CPU_REQ = typer.Option(None, "--cpu-request", help="CPU request, e.g. 500m")
_CPU_LIM = typer.Option(None, "--cpu-limit", help="CPU limit, e.g. 2")
_MEM_REQ = typer.Option(None, "--memory-request", help="memory request, e.g. 512Mi")
_MEM_LIM = typer.Option(None, "--memory-limit", help="memory limit, e.g. 2Gi")
_REPLICAS = typer.Option(1, "--replicas", help="replicas at least (the autoscaler's minimum)")
_MAX_REPLICAS = typer.Option(4, "--max-replicas", help="replicas at most")


@app.command("compose")
def compose(
    target: str = _TARGET,
    output: str = _OUT,
    with_server: bool = typer.Option(
        False, "--with-server", help="add a reef server service (results and dashboard)"
    ),
    image: str | None = typer.Option(
        None, "--image", help="the image's tag [reef-serve-NAME:VERSION]"
    ),
    base_image: str = _BASE,
    port: int = _PORT,
    gpu: int = _GPU,
    max_batch_size: int | None = _BATCH,
    max_delay_ms: float | None = _DELAY,
    slo_p99_ms: float | None = _SLO,
    max_queue: int | None = _QUEUE,
    max_inflight_mb: float | None = _INFLIGHT,
    threads: int | None = _THREADS,
    workers: int = _WORKERS,
    cpu_limit: str | None = _CPU_LIM,
    memory_limit: str | None = _MEM_LIM,
    name: str | None = _NAME,
    wheel: str | None = _WHEEL,
    force: bool = _FORCE,
    json_out: bool = _JSON,
) -> None:
    """A Dockerfile, docker-compose.yml (reef serve and Prometheus) and prometheus.yml."""
    options = dict(locals())
    _run("compose", options)


@app.command("k8s")
def k8s(
    target: str = _TARGET,
    output: str = _OUT,
    image: str | None = _IMAGE_K8S,
    base_image: str = _BASE,
    port: int = _PORT,
    gpu: int = _GPU,
    max_batch_size: int | None = _BATCH,
    max_delay_ms: float | None = _DELAY,
    slo_p99_ms: float | None = _SLO,
    max_queue: int | None = _QUEUE,
    max_inflight_mb: float | None = _INFLIGHT,
    threads: int | None = _THREADS,
    workers: int = _WORKERS,
    cpu_request: str | None = _CPU_REQ,
    cpu_limit: str | None = _CPU_LIM,
    memory_request: str | None = _MEM_REQ,
    memory_limit: str | None = _MEM_LIM,
    replicas: int = _REPLICAS,
    max_replicas: int = _MAX_REPLICAS,
    target_inflight: float = typer.Option(
        8.0, "--target-inflight", help="the autoscaler's target of requests in flight per pod"
    ),
    name: str | None = _NAME,
    wheel: str | None = _WHEEL,
    force: bool = _FORCE,
    json_out: bool = _JSON,
) -> None:
    """A Dockerfile and a Deployment, Service, ConfigMap and HorizontalPodAutoscaler."""
    options = dict(locals())
    _run("k8s", options)


@app.command("kserve")
def kserve(
    target: str = _TARGET,
    output: str = _OUT,
    image: str | None = _IMAGE_K8S,
    base_image: str = _BASE,
    port: int = _PORT,
    gpu: int = _GPU,
    max_batch_size: int | None = _BATCH,
    max_delay_ms: float | None = _DELAY,
    slo_p99_ms: float | None = _SLO,
    max_queue: int | None = _QUEUE,
    max_inflight_mb: float | None = _INFLIGHT,
    threads: int | None = _THREADS,
    workers: int = _WORKERS,
    cpu_request: str | None = _CPU_REQ,
    cpu_limit: str | None = _CPU_LIM,
    memory_request: str | None = _MEM_REQ,
    memory_limit: str | None = _MEM_LIM,
    replicas: int = _REPLICAS,
    max_replicas: int = _MAX_REPLICAS,
    name: str | None = _NAME,
    wheel: str | None = _WHEEL,
    force: bool = _FORCE,
    json_out: bool = _JSON,
) -> None:
    """A Dockerfile, a KServe ServingRuntime and an InferenceService (protocol v2)."""
    options = dict(locals())
    _run("kserve", options)


def _run(kind: str, options: dict[str, Any]) -> None:
    from reef import api

    target, output = options.pop("target"), options.pop("output")
    json_out = options.pop("json_out")
    verb = {"compose": api.export_compose, "k8s": api.export_k8s, "kserve": api.export_kserve}
    report = verb[kind](target, output, **options)
    _show(report)
    if json_out:
        emit_json(report.model_dump(mode="json"))


def _show(report: ExportReport) -> None:
    from rich.markup import escape

    stderr.print(f"{report.kind}: {report.name} {report.version} in {escape(report.directory)}")
    for f in report.files:
        stderr.print(f"  wrote {escape(f.path)}")
    for note in report.notes:
        stderr.print(f"[dim]note:[/dim] {escape(note)}", markup=True)


@app.command("mlperf")
def mlperf(
    runs: list[str] | None = typer.Argument(
        None,
        metavar="RUN...",
        help="run ids (a unique prefix is enough), one per benchmark and scenario",
    ),
    output: str | None = typer.Option(
        None, "--output", "-o", metavar="DIR", help="the folder to write the tree in (new or empty)"
    ),
    division: str | None = typer.Option(None, "--division", help="open or closed"),
    submitter: str | None = typer.Option(None, "--submitter", metavar="ORG", help="who submits"),
    system: str | None = typer.Option(
        None, "--system", metavar="NAME", help="the system's name: systems/NAME.json"
    ),
    mlperf_round: str | None = typer.Option(
        None,
        "--round",
        metavar="vX.Y",
        help="the MLPerf round (v5.0, v5.1, v6.0, v6.1) [the "
        "round whose seeds the runs used, else v6.0]",
    ),
    benchmark: str | None = typer.Option(
        None,
        "--benchmark",
        metavar="NAME",
        help="the benchmark the runs' model stands for "
        "(open division, e.g. resnet) [the run's MLPerf model]",
    ),
    system_desc: str | None = typer.Option(
        None,
        "--system-desc",
        metavar="FILE.yaml",
        help="system description fields the "
        "fingerprint cannot know (status, system_type, storage, network, cooling...)",
    ),
    system_type: str | None = typer.Option(
        None, "--system-type", help="datacenter, edge or datacenter,edge"
    ),
    status: str | None = typer.Option(None, "--status", help="available, preview or rdi"),
    check: str | None = typer.Option(
        None,
        "--check",
        metavar="DIR",
        help="check the submission tree in DIR against Reef's "
        "reading of the rules instead of writing one (exit 1 when it breaks one)",
    ),
    force: bool = typer.Option(False, "--force", help="replace a non-empty DIR"),
    json_out: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """An MLPerf inference submission tree of recorded runs, or (--check DIR) a check of one."""
    from reef import api
    from reef.errors import SettingsError

    if check is not None:
        extra = [n for n, v in (("RUN", runs), ("--output", output)) if v]
        if extra:
            raise SettingsError(f"--check takes a folder alone, not {' or '.join(extra)}")
        checked = api.check_mlperf(check, round=mlperf_round)
        _show_check(checked)
        if json_out:
            emit_json(checked.model_dump(mode="json"))
        if not checked.passed:
            raise typer.Exit(EXIT_FAILED)
        return
    needed: list[tuple[str, object]] = [("RUN", runs), ("--output", output)]
    needed += [("--division", division), ("--submitter", submitter), ("--system", system)]
    missing = [n for n, v in needed if not v]
    if missing:
        raise SettingsError(
            "reef export mlperf needs " + ", ".join(missing),
            hint="reef export mlperf RUN... -o DIR --division open --submitter ORG --system NAME",
        )
    assert runs and output and division and submitter and system
    report = api.export_mlperf(
        runs,
        output,
        division=division,
        submitter=submitter,
        system=system,
        round=mlperf_round,
        benchmark=benchmark,
        force=force,
        system_desc=system_desc,
        system_type=system_type,
        status=status,
    )
    _show_export(report)
    if json_out:
        emit_json(report.model_dump(mode="json"))


def _show_export(report: MlperfExport) -> None:
    from rich.markup import escape

    stderr.print(
        f"MLPerf {report.round} {report.division} submission of {escape(report.submitter)} "
        f"on {escape(report.system)} in {escape(report.root)}"
    )
    for r in report.results:
        cut = "truncated; the original stays at" if r.accuracy_log_truncated else "original at"
        stderr.print(
            f"  {r.benchmark} {r.scenario}: run {r.run_id[:8]}, accuracy log {cut} "
            f"{escape(r.accuracy_log_original or '-')}"
        )
    for note in report.notes:
        stderr.print(f"[dim]note:[/dim] {escape(note)}", markup=True)


def _show_check(report: MlperfCheck) -> None:
    from rich.markup import escape

    for f in report.findings:
        stderr.print(
            f"{f.severity}: {escape(f.file)}: \\[{f.rule}] {escape(f.message)}", markup=True
        )
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = len(report.findings) - errors
    verdict = "passes" if report.passed else "FAILS"
    stderr.print(
        f"{escape(report.root)}: MLPerf {report.round}, {len(report.results)} results: {verdict} "
        f"({errors} errors, {warnings} warnings)"
    )
