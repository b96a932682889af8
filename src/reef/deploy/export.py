"""``reef export compose|k8s|kserve``: every file rendered and checked first, then the folder
written whole (staged beside it and renamed into place), so that bad input leaves nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from reef.deploy import kube, render
from reef.deploy.options import ExportOptions
from reef.deploy.plan import Artifact, DeployError, Plan, plan
from reef.errors import ChecksumError


class ExportedFile(BaseModel):
    """A file ``reef export`` wrote."""

    path: str = Field(description="relative to the output folder, posix")
    sha256: str
    bytes: int


class ExportReport(BaseModel):
    """What ``reef export compose|k8s|kserve`` wrote, and where (``--json`` prints it)."""

    kind: str = Field(description="compose, k8s or kserve")
    target: str = Field(description="what was exported, as given")
    name: str
    version: str
    image: str = Field(description="the image the files build or run")
    directory: str
    files: list[ExportedFile]
    notes: list[str] = Field(default_factory=list)


def export(spec: str, out_dir: Path, options: ExportOptions) -> ExportReport:
    """Write the deployment files for ``spec`` into ``out_dir`` (created; a non-empty one only
    with ``options.force``, and then replaced whole)."""
    from reef.files import check_output_folder

    options.check()
    check_output_folder(out_dir, "export folder")  # a file, a link: refused
    if out_dir.is_dir() and any(out_dir.iterdir()) and not options.force:
        raise DeployError(
            f"{out_dir}: the folder is not empty; reef export writes only a new or empty one",
            hint="name another folder, or give --force to replace its contents",
        )
    the_plan = plan(spec, options)
    if the_plan.lock is not None:
        the_plan.lock_sha256 = hashlib.sha256(the_plan.lock).hexdigest()
    texts = _texts(the_plan, options)
    files = _write(out_dir, texts, [*the_plan.wheels, *the_plan.artifacts])
    notes = list(the_plan.notes)
    if not the_plan.wheels:
        notes.append(
            f"{the_plan.requirements[0]} is installed from the package index pip uses in the "
            "build (PIP_INDEX_URL); --wheel FILE puts a reef-bench wheel in the image instead"
        )
    if options.image is None and options.kind != "compose":
        notes.append(
            f"no --image: the files name {render.image_name(the_plan, options)}; build it with "
            f"`docker build -t {render.image_name(the_plan, options)} {out_dir}` and push it "
            "where the cluster pulls from"
        )
    return ExportReport(
        kind=options.kind, target=spec, name=the_plan.name, version=the_plan.version,
        image=render.image_name(the_plan, options), directory=str(out_dir.resolve()),
        files=files, notes=notes,
    )  # fmt: skip


def _texts(the_plan: Plan, options: ExportOptions) -> dict[str, bytes]:
    kind = options.kind
    texts: dict[str, str] = {
        "Dockerfile": render.dockerfile(the_plan, options, kind),
        "requirements.txt": render.requirements_txt(the_plan),
        "SHA256SUMS": render.checksums_txt(the_plan),
        ".dockerignore": "*\n!Dockerfile\n!requirements.txt\n!SHA256SUMS\n!reef.lock\n"
        "!artifacts/\n",
    }
    head = render.header(the_plan, kind)
    if kind == "compose":
        texts["docker-compose.yml"] = render.compose(the_plan, options)
        texts["prometheus.yml"] = render.prometheus(the_plan, options)
    elif kind == "k8s":
        texts["configmap.yaml"] = render.yaml_text(kube.configmap(the_plan, options), header=head)
        texts["deployment.yaml"] = render.yaml_text(kube.deployment(the_plan, options), header=head)
        texts["service.yaml"] = render.yaml_text(kube.service(the_plan, options), header=head)
        texts["hpa.yaml"] = render.yaml_text(kube.hpa(the_plan, options), header=head)
    else:
        texts["servingruntime.yaml"] = render.yaml_text(
            kube.serving_runtime(the_plan, options), header=head
        )
        texts["inferenceservice.yaml"] = render.yaml_text(
            kube.inference_service(the_plan, options), header=head
        )
    out = {name: text.encode("utf-8") for name, text in texts.items()}
    if the_plan.lock is not None:
        out["reef.lock"] = the_plan.lock
    return out


def _write(out_dir: Path, texts: dict[str, bytes], artifacts: list[Artifact]) -> list[ExportedFile]:
    from reef.files import staged_folder

    written: dict[str, tuple[str, int]] = {}
    with staged_folder(out_dir, "export folder") as staging:
        for name, data in texts.items():
            (staging / name).write_bytes(data)
            written[name] = (hashlib.sha256(data).hexdigest(), len(data))
        (staging / "artifacts").mkdir()
        for artifact in artifacts:
            if artifact.context_name in written:
                continue  # the same content twice: one copy serves both
            copy = staging / artifact.context_name
            shutil.copyfile(artifact.source, copy)
            # The copy is what the image gets: it, not the file it came from, is checked.
            digest = _sha256(copy)
            if digest != artifact.sha256:
                raise ChecksumError(str(artifact.source), artifact.sha256, digest)
            written[artifact.context_name] = (digest, os.path.getsize(copy))
    return [ExportedFile(path=p, sha256=s, bytes=b) for p, (s, b) in sorted(written.items())]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
