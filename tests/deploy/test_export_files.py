"""reef export compose|k8s|kserve for the built-in digits-classifier: the files, the
Dockerfile's lines, and the model in the build context being exactly what the lock pins."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from deploy_support import reef, sha256, tree

COMMON = {".dockerignore", "Dockerfile", "SHA256SUMS", "reef.lock", "requirements.txt"}
KIND_FILES = {
    "compose": {"docker-compose.yml", "prometheus.yml"},
    "k8s": {"configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml"},
    "kserve": {"servingruntime.yaml", "inferenceservice.yaml"},
}
MODEL_SHA = "3ba1233570ed00fe80091a9dbcd6711a7ed2f122b40312ca66fc3fdbe332bbd6"


@pytest.mark.parametrize("kind", ["compose", "k8s", "kserve"])
def test_each_export_writes_its_files(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    done = reef(capsys, "export", kind, "digits-classifier", "-o", str(out), "--json")
    assert done.code == 0, done.err
    top = {p.name for p in out.iterdir() if p.is_file()}
    assert top == COMMON | KIND_FILES[kind]
    report = json.loads(done.out)
    listed = {f["path"]: f["sha256"] for f in report["files"]}
    on_disk = [p for p in tree(out) if (out / p).is_file()]
    assert sorted(listed) == on_disk
    assert all(sha256(out / p) == digest for p, digest in listed.items())
    for path in listed:  # the list of files written is on stderr too
        assert f"wrote {path}" in done.err
    assert report["image"] == "reef-serve-digits-classifier:1.0.0"


def test_the_dockerfile_pins_the_lock_and_copies_the_model_by_sha256(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["export", "compose", "digits-classifier", "-o", str(out), "--max-batch-size", "8"]
    assert reef(capsys, *args).code == 0
    lines = (out / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in lines
    assert "COPY reef.lock /opt/reef/reef.lock" in lines
    assert f"COPY artifacts/{MODEL_SHA}.onnx /opt/reef/model/model.onnx" in lines
    assert "RUN sha256sum --check --strict /opt/reef/SHA256SUMS" in lines
    assert "USER 10001:10001" in lines
    assert lines.index("USER 10001:10001") > lines.index(
        "RUN pip install -r /opt/reef/requirements.txt"
    )
    assert "EXPOSE 8080" in lines
    check = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK"))
    assert "/v2/health/ready" in lines[check + 1] and "urllib.request" in lines[check + 1]
    assert "curl" not in "\n".join(lines)
    cmd = json.loads(lines[-1].removeprefix("CMD "))
    assert cmd == ["serve", "/opt/reef/model/reef.yaml", "--host", "0.0.0.0", "--port", "8080",
                   "--max-batch-size", "8"]  # fmt: skip
    assert lines[-2] == 'ENTRYPOINT ["reef"]'
    import reef as reef_package

    requirements = (out / "requirements.txt").read_text().splitlines()
    assert requirements == [f"reef-bench[cpu,serve]=={reef_package.__version__}"]


def test_the_copied_model_is_what_the_lock_pins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert reef(capsys, "export", "k8s", "digits-classifier", "-o", str(out)).code == 0
    lock = json.loads((out / "reef.lock").read_text())
    model = next(c for c in lock["components"] if c["name"] == "digits-classifier")
    pinned = model["sources"][0]["sha256"]
    copied = out / "artifacts" / f"{pinned}.onnx"
    assert sha256(copied) == pinned == MODEL_SHA
    # What the image checks at build time: every file it copies, and the lock.
    sums = dict(
        reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    assert sums["/opt/reef/model/model.onnx"] == pinned
    assert sums["/opt/reef/reef.lock"] == sha256(out / "reef.lock")
    manifest = sums["/opt/reef/model/reef.yaml"]
    assert yaml.safe_load((out / "artifacts" / f"{manifest}.yaml").read_text())["name"] == (
        "digits-classifier"
    )


def test_gpu_maps_to_the_gpu_extra_and_device_reservations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["export", "compose", "digits-classifier", "-o", str(out), "--gpu", "1",
            "--with-server"]  # fmt: skip
    assert reef(capsys, *args).code == 0
    assert (out / "requirements.txt").read_text().startswith("reef-bench[gpu,serve,server]==")
    compose = yaml.safe_load((out / "docker-compose.yml").read_text())
    devices = compose["services"]["serve"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert compose["services"]["server"]["command"][0] == "server"
    scrape = yaml.safe_load((out / "prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"][0]["targets"] == ["serve:8080"]


def test_force_replaces_a_folder_and_the_python_verb_returns_the_report(tmp_path: Path) -> None:
    from reef import api

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("left from before")
    report = api.export_kserve("digits-classifier", out, force=True, image="registry/r:1")
    assert not (out / "old.txt").exists()
    assert report.image == "registry/r:1"
    assert {f.path for f in report.files} >= {"inferenceservice.yaml", "Dockerfile"}


def test_a_lock_and_a_bare_model_file_are_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reef import api

    lock = tmp_path / "reef.lock"
    assert reef(capsys, "resolve", "digits-classifier", "-o", str(lock)).code == 0
    report = api.export_compose(str(lock), tmp_path / "from-lock")
    assert (tmp_path / "from-lock" / "reef.lock").read_bytes() == lock.read_bytes()
    assert report.name == "digits-classifier"

    onnx = Path(api.__file__).parents[1] / "builtin" / "digits-cnn" / "model.onnx"
    report = api.export_k8s(str(onnx), tmp_path / "bare")
    assert not (tmp_path / "bare" / "reef.lock").exists()
    assert f"artifacts/{sha256(onnx)}.onnx" in {f.path for f in report.files}
    assert any("a bare model file" in note for note in report.notes)


@pytest.mark.parametrize("kind", ["compose", "k8s", "kserve"])
def test_reef_serve_takes_the_command_line_each_export_gives_it(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract with reef serve: its own parser (types, ranges) takes the exported
    arguments; the ConfigMap's values stand in for the $(VARIABLES) Kubernetes expands."""
    import typer

    from reef.cli import app

    out = tmp_path / "out"
    settings = ["--max-batch-size", "16", "--max-delay-ms", "0", "--slo-p99-ms", "50",
                "--max-queue", "64", "--max-inflight-mb", "128", "--threads", "2",
                "--workers", "3"]  # fmt: skip
    assert reef(capsys, "export", kind, "digits-classifier", "-o", str(out), *settings).code == 0
    if kind == "compose":
        args = yaml.safe_load((out / "docker-compose.yml").read_text())["services"]["serve"]
        args = args["command"]
    elif kind == "k8s":
        deployment = yaml.safe_load((out / "deployment.yaml").read_text())
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        data = yaml.safe_load((out / "configmap.yaml").read_text())["data"]
        env = {
            e["name"]: data[e["valueFrom"]["configMapKeyRef"]["key"]]
            for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        args = [env.get(a[2:-1], a) if a.startswith("$(") else a for a in args]
    else:
        runtime = yaml.safe_load((out / "servingruntime.yaml").read_text())
        args = runtime["spec"]["containers"][0]["args"]
    dockerfile = (out / "Dockerfile").read_text().splitlines()
    assert json.loads(dockerfile[-1].removeprefix("CMD ")) == args
    assert args[0] == "serve"
    serve = typer.main.get_command(app).get_command(None, "serve")  # type: ignore[attr-defined]
    ctx = serve.make_context("serve", list(args[1:]))  # parses and checks every value
    assert ctx.params["max_batch_size"] == 16 and ctx.params["threads"] == 2
    assert ctx.params["workers"] == 3
    assert ctx.params["max_inflight_mb"] == 128
    # An export checks --max-inflight-mb against the --max-body the server will have.
    from reef.deploy.options import SERVE_MAX_BODY_MB

    assert ctx.params["max_body_mb"] == SERVE_MAX_BODY_MB
    assert ctx.params["host"] == "0.0.0.0" and ctx.params["port"] == 8080


@pytest.mark.parametrize(
    ("options", "cpu"),
    [
        ([], None),  # one worker: no request unless asked
        (["--workers", "3"], "3"),  # a core a worker
        (["--workers", "3", "--cpu-limit", "2"], "2"),  # no more than the limit
        (["--workers", "3", "--cpu-request", "500m"], "500m"),  # the user's own
    ],
)
@pytest.mark.parametrize("kind", ["k8s", "kserve"])
def test_several_workers_request_a_core_each_unless_told(
    kind: str, options: list[str], cpu: str | None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "out"
    assert reef(capsys, "export", kind, "digits-classifier", "-o", str(out), *options).code == 0
    if kind == "k8s":
        doc = yaml.safe_load((out / "deployment.yaml").read_text())
        container = doc["spec"]["template"]["spec"]["containers"][0]
    else:
        container = yaml.safe_load((out / "servingruntime.yaml").read_text())["spec"]
        container = container["containers"][0]
    assert container.get("resources", {}).get("requests", {}).get("cpu") == cpu
    workers = "--workers" in options
    assert ("--workers" in container["args"]) is workers


def test_a_wheel_is_put_in_the_image_and_installed_from_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import reef as reef_package

    version = reef_package.__version__
    wheel = tmp_path / f"reef_bench-{version}-py3-none-any.whl"
    wheel.write_bytes(b"a wheel's bytes")
    out = tmp_path / "out"
    args = ["export", "compose", "digits-classifier", "-o", str(out), "--wheel", str(wheel)]
    done = reef(capsys, *args)
    assert done.code == 0, done.err
    inside = f"/opt/reef/wheels/{wheel.name}"
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert requirements[0] == f"reef-bench[cpu,serve] @ file://{inside}"
    lines = (out / "Dockerfile").read_text().splitlines()
    copy = lines.index(f"COPY artifacts/{sha256(wheel)}.whl {inside}")
    assert lines[copy + 1] == f'RUN echo "{sha256(wheel)}  {inside}" | sha256sum --check --strict'
    assert copy < lines.index("RUN pip install -r /opt/reef/requirements.txt")
    assert (out / "artifacts" / f"{sha256(wheel)}.whl").read_bytes() == b"a wheel's bytes"

    other = tmp_path / "reef_bench-0.0.1-py3-none-any.whl"
    other.write_bytes(b"x")
    done = reef(capsys, "export", "k8s", "digits-classifier", "-o", str(tmp_path / "o2"),
                "--wheel", str(other))  # fmt: skip
    assert done.code == 2 and "reef-bench 0.0.1, but this is Reef" in done.err
    assert not (tmp_path / "o2").exists()


def test_a_url_source_goes_into_the_images_cache(
    tmp_path: Path,
    make_onnx: Callable[..., Path],
    write_manifest: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fetched already (no network here), it is copied where reef serve looks it up by sha256."""
    from reef import config

    model = make_onnx(tmp_path / "elsewhere" / "model.onnx")
    digest = sha256(model)
    cached = config.cache_dir() / digest
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(model.read_bytes())
    url = {"url": "https://models.example/model.onnx", "sha256": digest}
    manifest = write_manifest(model, tmp_path / "m" / "reef.yaml", sources=[url])
    out = tmp_path / "out"
    done = reef(capsys, "export", "k8s", str(manifest), "-o", str(out))
    assert done.code == 0, done.err
    lines = (out / "Dockerfile").read_text().splitlines()
    assert f"COPY artifacts/{digest} /opt/reef/cache/{digest}" in lines
    assert any("REEF_CACHE=/opt/reef/cache" in line for line in lines)
    assert sha256(out / "artifacts" / digest) == digest
