"""What goes into the image for a target: its files (each checked against the lock), the
packages to install, the ``reef serve`` target inside the image. Whatever the target asks for
that the image could not give is refused here, naming it (kompose#456: never dropped)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from reef.deploy.options import ExportOptions
from reef.errors import ReefError
from reef.meta.lock import Lock

MODEL_DIR = "/opt/reef/model"
WHEEL_DIR = "/opt/reef/wheels"
CACHE_DIR = "/opt/reef/cache"
LOCK_PATH = "/opt/reef/reef.lock"

# The reef-bench extra that installs each backend's framework (pyproject.toml).
EXTRAS = {"onnxruntime": "cpu", "torch": "torch", "tflite": "tflite", "openvino": "openvino",
          "sklearn": "sklearn"}  # fmt: skip
GPU_EXTRAS = {"onnxruntime": "gpu", "torch": "torch"}
# Execution providers the image's onnxruntime wheel holds: onnxruntime (cpu) has the CPU one,
# onnxruntime-gpu adds CUDA's. TensorRT's needs TensorRT's own libraries, which it does not.
CPU_PROVIDERS = {"CPUExecutionProvider"}
GPU_PROVIDERS = {"CPUExecutionProvider", "CUDAExecutionProvider"}


class DeployError(ReefError):
    """A target or option that the deployment files cannot express (exit 2)."""


@dataclass(frozen=True)
class Artifact:
    """A file copied into the image: from ``source`` (here), checked against ``sha256``, to
    ``image_path``; in the build context it is named by its sha256."""

    source: Path
    sha256: str
    image_path: str

    @property
    def context_name(self) -> str:
        suffix = "".join(Path(self.image_path).suffixes[-1:])
        if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
            suffix = ""
        return f"artifacts/{self.sha256}{suffix}"


@dataclass
class Plan:
    name: str
    version: str
    target: str  # what `reef serve` takes inside the image
    framework: str
    artifacts: list[Artifact] = field(default_factory=list)
    wheels: list[Artifact] = field(default_factory=list)  # installed before the rest
    requirements: list[str] = field(default_factory=list)
    lock: bytes | None = None
    lock_sha256: str | None = None
    manifest_text: str | None = None
    notes: list[str] = field(default_factory=list)


def plan(spec: str, options: ExportOptions) -> Plan:
    """Resolve ``spec`` as ``reef bench`` does and decide what the image holds."""
    import reef
    from reef.bench.target import resolve

    resolved = resolve(spec)
    manifest = resolved.manifest
    framework = manifest.framework.name if manifest else (resolved.backend or "onnxruntime")
    extras = ["serve", _framework_extra(framework, options)]
    if options.with_server:
        extras.append("server")
    wheel = _wheel(options.wheel, reef.__version__)
    pin = f"=={reef.__version__}" if wheel is None else f" @ file://{wheel.image_path}"
    requirements = [f"reef-bench[{','.join(sorted(extras))}]{pin}"]
    if manifest is None or resolved.manifest_path is None:
        out = Plan(
            name=_name(resolved.target.name), version="0.0.0",
            target=f"{MODEL_DIR}/{resolved.model_path.name}", framework=framework,
            requirements=requirements,
        )  # fmt: skip
        out.artifacts.append(
            Artifact(resolved.model_path, resolved.target.sha256 or "", out.target)
        )
        for ref in resolved.components:  # an OpenVINO IR's weights
            out.artifacts.append(
                Artifact(Path(ref.path or ""), ref.sha256 or "", f"{MODEL_DIR}/{ref.name}")
            )
        out.wheels = [wheel] if wheel is not None else []
        out.notes.append(f"{spec}: a bare model file: no manifest and no lock to pin")
        return out
    _check_features(resolved.manifest_path, options)
    lock = resolved.lock or _lock_for(resolved.manifest_path)
    out = Plan(
        name=_name(manifest.name), version=manifest.version,
        target=f"{MODEL_DIR}/{resolved.manifest_path.name}", framework=framework,
        requirements=requirements, manifest_text=resolved.manifest_path.read_text("utf-8"),
    )  # fmt: skip
    out.wheels = [wheel] if wheel is not None else []
    _model_files(out, resolved.manifest_path, lock)
    _sources(out, resolved.manifest_path, resolved.model_path, lock)
    _dataset(out, resolved.manifest_path, lock)
    _python(out, lock, options)
    from reef.components.lockfile import lock_bytes

    out.lock = lock_bytes(lock)
    return out


def _wheel(given: str | None, version: str) -> Artifact | None:
    """The reef-bench wheel ``--wheel`` puts in the image (installed from it rather than from
    the package index); it must be this Reef's version, which made the lock."""
    if given is None:
        return None
    from reef.components.checksums import sha256_file

    path = Path(given).expanduser()
    match = re.fullmatch(r"reef_bench-([^-]+)-[^-]+-[^-]+-[^-]+\.whl", path.name)
    if match is None:
        raise DeployError(
            f"--wheel {given}: not a reef-bench wheel (reef_bench-VERSION-...-none-any.whl)",
            hint="build one with `pip wheel --no-deps -w dist .` in Reef's checkout",
        )
    if match.group(1) != version:
        raise DeployError(
            f"--wheel {given}: reef-bench {match.group(1)}, but this is Reef {version}, which "
            "resolved the lock and wrote the files",
            hint=f"build the wheel of Reef {version}, or export with the Reef of the wheel",
        )
    if not path.is_file():
        raise DeployError(f"--wheel {given}: file not found")
    return Artifact(path, sha256_file(path), f"{WHEEL_DIR}/{path.name}")


def _name(name: str) -> str:
    """A DNS label from a component's name (Kubernetes objects and compose services)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return label or "model"


def _framework_extra(framework: str, options: ExportOptions) -> str:
    if framework not in EXTRAS:
        raise DeployError(
            f"framework.name: {framework!r}: no extra of reef-bench installs it, so the image "
            "could not run the model",
            hint=f"frameworks an image can hold: {', '.join(EXTRAS)}",
        )
    if options.gpu:
        if framework not in GPU_EXTRAS:
            raise DeployError(
                f"--gpu {options.gpu}: the {framework} backend runs on the CPU only",
                hint="leave out --gpu, or use an ONNX or PyTorch model",
            )
        return GPU_EXTRAS[framework]
    return EXTRAS[framework]


def _check_features(manifest_path: Path, options: ExportOptions) -> None:
    """Refuse what a manifest asks for that the image or a replicated service cannot give."""
    from reef.meta.load import load_model_manifest

    manifest = load_model_manifest(manifest_path)
    where = str(manifest_path)
    ort = manifest.framework.options
    if ort is not None:
        have = GPU_PROVIDERS if options.gpu else CPU_PROVIDERS
        for provider in ort.provider_options:
            if provider in have:
                continue
            if provider in GPU_PROVIDERS:
                raise DeployError(
                    f"{where}: framework.options.provider_options.{provider}: needs a GPU, "
                    "and the export has none",
                    hint="give --gpu 1 (the image then installs onnxruntime-gpu)",
                )
            raise DeployError(
                f"{where}: framework.options.provider_options.{provider}: the image's "
                f"onnxruntime{'-gpu' if options.gpu else ''} has no {provider}",
                hint="an exported image runs CPUExecutionProvider, or CUDAExecutionProvider "
                "with --gpu; remove the others from the manifest",
            )
    for i, spec in enumerate(manifest.inputs):
        if spec.state:
            raise DeployError(
                f"{where}: inputs[{i}].state: an output fed back into the next query cannot be "
                "served: requests are independent, batched together and spread over replicas",
                hint="export a model without recurrent state across queries",
            )


def _lock_for(manifest_path: Path) -> Lock:
    from reef.components.resolve import resolve as resolve_lock

    return resolve_lock(str(manifest_path))


def _image_path(manifest_path: Path, rel: str, what: str) -> str:
    image = posixpath.normpath(posixpath.join(MODEL_DIR, rel))
    if not image.startswith(MODEL_DIR + "/"):
        raise DeployError(
            f"{manifest_path}: {what}: {rel!r} is outside the model's folder, which is all the "
            "image holds",
            hint="move the file into the manifest's folder",
        )
    return image


def _model_files(out: Plan, manifest_path: Path, lock: Lock) -> None:
    """Every file of the model's component (what a pack carries), each named by its sha256;
    their listing's hash must be the lock's content hash of the model."""
    import hashlib

    from reef.components.content import format_listing, listing

    locked = lock.root_component
    entries = listing(manifest_path.parent)
    digest = hashlib.sha256(format_listing(entries).encode()).hexdigest()
    if digest != locked.sha256:
        raise DeployError(
            f"{manifest_path.parent}: the model's files have content hash {digest}, the lock "
            f"pins {locked.sha256}: they changed since it was resolved; nothing was written",
            hint=f"run `reef resolve {lock.target}` again if the change is wanted",
        )
    for sha, rel in entries:
        image = _image_path(manifest_path, rel, "a file of the model")
        out.artifacts.append(Artifact(manifest_path.parent / rel, sha, image))


def _sources(out: Plan, manifest_path: Path, model_path: Path, lock: Lock) -> None:
    """A url source is put in the image's cache, where `reef serve` finds it by sha256; a
    package source comes from the package the lock pins."""
    from reef.meta.load import load_model_manifest

    manifest = load_model_manifest(manifest_path)
    for i, source in enumerate(manifest.sources):
        if source.url is not None:
            if i == 0:
                path = model_path
            else:
                from reef.components.checksums import verified_source

                path = verified_source(source, manifest_path.parent, str(manifest_path),
                                       f"sources[{i}]")  # fmt: skip
            out.artifacts.append(Artifact(path, source.sha256, f"{CACHE_DIR}/{source.sha256}"))
        elif source.package is not None:
            wanted = source.package.lower().replace("_", "-")
            pinned = [r for r in lock.python if re.split(r"[\s\[=<>!~;]", r.lower())[0]
                      .replace("_", "-") == wanted]  # fmt: skip
            if not pinned:
                raise DeployError(
                    f"{manifest_path}: sources[{i}].package: {source.package!r} is not among "
                    "the model's python requirements, so the image would not have it",
                    hint="add the package to the manifest's python list, pinned (name==x)",
                )
        else:
            assert source.path is not None
            _image_path(manifest_path, source.path, f"sources[{i}].path")


def _dataset(out: Plan, manifest_path: Path, lock: Lock) -> None:
    """A dataset inside the model's folder travels with it; one built into reef-bench is in
    the image already; any other the image would not have."""
    from reef.components.content import MANIFEST
    from reef.meta.component import split_requirement
    from reef.meta.load import load_model_manifest

    ref = load_model_manifest(manifest_path).dataset
    if not ref:
        return
    local = (manifest_path.parent / ref / MANIFEST).resolve()
    if local.is_file() and local.is_relative_to(manifest_path.parent.resolve()):
        return
    try:
        name = split_requirement(ref)[0]
    except ValueError:
        name = ref
    locked = next((c for c in lock.components if c.name == name), None)
    if locked is not None and locked.repository == "builtin":
        out.notes.append(f"dataset {name}: built into reef-bench, so in the image already")
        return
    where = f"repository {locked.repository!r}" if locked is not None else "no repository"
    raise DeployError(
        f"{manifest_path}: dataset: {ref!r} comes from {where}, which the image would not "
        "have, and reef serve resolves the model with it",
        hint="keep the dataset in a folder inside the model's (dataset: ./data), or export a "
        "manifest without one",
    )


def _python(out: Plan, lock: Lock, options: ExportOptions) -> None:
    """The lock's python requirements, and every package of its environment when it was
    provisioned (`reef init`): exactly those versions are installed."""
    out.requirements.extend(lock.python)
    env = lock.environment
    if env is None:
        return
    match = re.match(r"^python:(\d+\.\d+)", options.base_image)
    wanted = ".".join(env.python.split(".")[:2])
    if match is not None and match.group(1) != wanted:
        raise DeployError(
            f"--base-image {options.base_image}: the lock's environment was built with Python "
            f"{env.python}, so its pins may not install on Python {match.group(1)}",
            hint=f"give --base-image python:{wanted}-slim",
        )
    named = {re.split(r"[\s\[=<>!~;]", r)[0].lower() for r in out.requirements}
    for package, version in sorted(env.packages.items()):
        if package.lower() not in named | {"reef-bench", "reef"}:
            out.requirements.append(f"{package}=={version}")
