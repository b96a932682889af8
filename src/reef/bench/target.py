"""Turns what the user typed after ``reef bench`` into verified files and component refs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reef import config
from reef.bench.job import BenchJob, PredictorSettings, preflight
from reef.components.checksums import sha256_file, verified_source
from reef.components.index import MANIFEST, Entry, catalog
from reef.components.lockfile import LOCK_FILE, locate, read_lock
from reef.components.lookup import find
from reef.components.trust import REEF_HOME_LABEL, UntrustedComponent, ensure_trusted, trust_of
from reef.environment.provision import Provisioned, any_provisioned, find_provisioned
from reef.errors import ManifestError, PredictorError, Problem, ReefError, SettingsError
from reef.meta.component import split_requirement
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_dataset_manifest, load_model_manifest
from reef.meta.lock import Lock
from reef.meta.model import ModelManifest
from reef.meta.run import ComponentRef, Target
from reef.meta.settings import BenchSettings
from reef.predictors import registry


@dataclass
class ResolvedTarget:
    target: Target
    model_path: Path
    manifest: ModelManifest | None = None
    manifest_path: Path | None = None
    dataset: DatasetManifest | None = None
    dataset_path: Path | None = None
    components: list[ComponentRef] = field(default_factory=list)
    provisioned: Provisioned | None = None  # the environment `reef init` built for it
    lock: Lock | None = None  # what it resolved to, kept with the run for `reef reproduce`
    # A bare model file's backend, named by its suffix; None: the manifest's framework.
    backend: str | None = None


def job_for(
    resolved: ResolvedTarget,
    settings: BenchSettings,
    *,
    shapes: dict[str, list[int]] | None = None,
    predictor: PredictorSettings | None = None,
    backend: str | None = None,
) -> BenchJob:
    """A job for one scenario of ``resolved``, with a new run id and its folder; ``backend``
    (``--backend``) runs it instead of the manifest's framework or the file's suffix's.

    Settings this machine cannot run, and samples that could not fit in its memory (as far
    as the manifest or --shape tell without opening the model), are refused here, before a
    worker starts: a SettingsError or ManifestError, and nothing is recorded. So are a bare
    file whose backend's framework is not installed, and a backend that would unpickle a
    model from an untrusted repository (``check_backend_allowed``).
    """
    from pydantic import ValidationError

    chosen = backend or resolved.backend
    remote = resolved.target.kind == "endpoint"
    if remote and backend is not None:
        raise SettingsError(
            f"--backend {backend}: {resolved.target.path} is a served model, which its server runs",
            hint="leave --backend out for an endpoint; bench the model itself to choose one",
        )
    if chosen is not None:
        check_backend_allowed(resolved, chosen)
        if resolved.manifest is None:
            _check_runtime(resolved.model_path, chosen)
    run_id = uuid.uuid4().hex
    try:
        job = BenchJob(
            run_id=run_id,
            run_dir=str(config.runs_dir() / run_id),
            target=resolved.target,
            components=resolved.components,
            # An endpoint has no file here: its URL (a Path would fold its //).
            model_path=resolved.target.path if remote else str(resolved.model_path),
            manifest=resolved.manifest,
            manifest_path=str(resolved.manifest_path) if resolved.manifest_path else None,
            dataset=resolved.dataset,
            dataset_path=str(resolved.dataset_path) if resolved.dataset_path else None,
            shapes=shapes or {},
            settings=settings,
            backend=chosen,
            predictor=predictor or PredictorSettings(),
        )
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise SettingsError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from exc
    preflight(job)
    return job


def resolve(spec: str, like: str | None = None) -> ResolvedTarget:
    """``spec`` as a target; ``like`` (``--like``): the Reef model a served model's URL is
    measured as, refused for any other target."""
    from reef.predictors.oip import is_endpoint

    if is_endpoint(spec):  # a model served over the Open Inference Protocol v2
        from reef.bench.endpoint import resolve_endpoint

        return resolve_endpoint(spec, like)
    if like is not None:
        raise SettingsError(
            f"--like {like}: {spec} is not a served model's URL",
            hint="--like describes a model served over the Open Inference Protocol "
            "(http://HOST:PORT/v2/models/NAME); bench a Reef model directly",
        )
    path = Path(spec).expanduser()
    if path.is_dir() and (path / MANIFEST).is_file():
        path = path / MANIFEST
    if path.is_file():
        if path.suffix.lower() == ".onnx":
            return _onnx_file(path.resolve())
        if path.suffix.lower() in (".yaml", ".yml"):
            return _manifest(path.resolve(), load_model_manifest(path.resolve()))
        if path.name == LOCK_FILE or path.suffix.lower() == ".lock":
            return _lock(path.resolve())
        if registry.backend_for_suffix(path) is not None:
            return _model_file(path.resolve())
        suffix = path.suffix or "(none)"
        raise ReefError(
            f"{spec}: suffix {suffix}: not a model manifest (.yaml), a lock file (.lock) or a "
            "model file any backend reads",
            hint=f"model files Reef reads: {registry.suffixes_in_words()}; or give a manifest, "
            "a lock file or a component name",
        )
    known = (".yaml", ".yml", ".lock", *registry.SUFFIXES)
    if path.suffix.lower() in known or "/" in spec:
        from reef.files import check_regular

        check_regular(path)  # a FIFO, a device, a symlink loop: says which
        raise ReefError(f"{spec}: file not found")
    entry = find(spec, kind="model")
    lock = _resolved_lock(spec)
    provisioned = find_provisioned(lock) if lock is not None and any_provisioned() else None
    resolved = _manifest(
        entry.manifest_path,
        load_model_manifest(entry.manifest_path),
        site_packages=provisioned.site_packages if provisioned else (),
    )
    resolved.target = resolved.target.model_copy(update={"kind": "component"})
    resolved.lock = lock
    resolved.provisioned = provisioned
    return resolved


def _resolved_lock(spec: str) -> Lock | None:
    """The lock ``spec`` resolves to now; a target whose requirements do not resolve (it can
    still be measured on its own) has none."""
    from reef.components.resolve import resolve as resolve_lock

    try:
        return resolve_lock(spec)
    except ReefError:
        return None


def _onnx_file(path: Path) -> ResolvedTarget:
    digest = sha256_file(path)
    target = Target(kind="onnx", name=path.stem, path=str(path), sha256=digest)
    return ResolvedTarget(target=target, model_path=path, backend="onnxruntime")


def _model_file(path: Path) -> ResolvedTarget:
    """A bare model file of the backend its suffix names (``.pt``, ``.tflite``, ``.xml``,
    ``.joblib``, ...). An OpenVINO IR's weights (its ``.bin``) are recorded beside it."""
    backend = registry.backend_for_file(path)  # installed, or exit 2 naming the extra
    components: list[ComponentRef] = []
    if backend == "openvino" and path.suffix.lower() == ".xml":
        weights = path.with_suffix(".bin")
        if not weights.is_file():
            raise ReefError(
                f"{path}: an OpenVINO IR is two files, and its weights {weights.name} are not "
                "beside it",
                hint="keep the .bin that was saved with the .xml in the same folder",
            )
        components.append(
            ComponentRef(kind="weights", name=weights.name, path=str(weights),
                         sha256=sha256_file(weights))
        )  # fmt: skip
    digest = sha256_file(path)
    target = Target(kind="file", name=path.stem, path=str(path), sha256=digest)
    resolved = ResolvedTarget(target=target, model_path=path, components=components)
    resolved.backend = backend
    # The user's own file may be unpickled; one inside a repository only if it is trusted.
    check_backend_allowed(resolved, backend)
    return resolved


def _check_runtime(path: Path, backend: str) -> None:
    """A bare file's backend must be installed here: else exit 2, naming the extra."""
    error = registry.missing_runtime(backend)
    if error is not None:
        raise PredictorError(f"{path}: {error.message}", hint=error.hint)


def check_backend_allowed(resolved: ResolvedTarget, backend: str) -> None:
    """Refuse a backend that loads a model by unpickling it (sklearn: running code the file
    names) where the model comes from an untrusted repository or Reef's own folders: an
    ``UntrustedComponent`` (exit 2) naming the manifest and ``framework.name`` (or the model
    file, or ``--backend`` where that chose the backend). A model file or manifest of the
    user's own, outside every repository, is theirs to load."""
    if backend not in registry.PICKLE_BACKENDS:
        return
    where_file = resolved.manifest_path or resolved.model_path
    trusted, where = trust_of(where_file)
    if trusted:
        return
    if resolved.manifest is not None and resolved.manifest.framework.name == backend:
        field = "framework.name"
    elif resolved.manifest is not None or resolved.backend != backend:
        field = f"--backend {backend}"
    else:
        field = "suffix " + resolved.model_path.suffix
    what = f"{where_file}: {field}: the {backend} backend unpickles the model, which runs code"
    if where == REEF_HOME_LABEL:
        raise UntrustedComponent(
            f"{what}, and the model is in Reef's own folders outside any trusted repository",
            hint="only models of a trusted repository may; `reef repo list` shows them",
        )
    raise UntrustedComponent(
        f"{what}, and the model comes from repository {where!r}, which is not trusted",
        hint=f"if you trust its authors: reef repo trust {where}",
    )


def _manifest(
    path: Path,
    manifest: ModelManifest,
    dataset_file: Path | None = None,
    site_packages: Sequence[Path] = (),
) -> ResolvedTarget:
    """A model manifest's target; a ``package`` source is looked for in ``site_packages`` (a
    provisioned environment's), else in this interpreter."""
    model_path = verified_source(
        manifest.sources[0], path.parent, str(path), "sources[0]", site_packages
    )
    digest = manifest.sources[0].sha256
    target = Target(
        kind="manifest", name=manifest.name, version=manifest.version, path=str(path), sha256=digest
    )
    components = [
        ComponentRef(
            kind="model",
            name=manifest.name,
            version=manifest.version,
            path=str(path),
            sha256=sha256_file(path),
        )
    ]
    resolved = ResolvedTarget(
        target=target,
        model_path=model_path,
        manifest=manifest,
        manifest_path=path,
        components=components,
    )
    check_backend_allowed(resolved, manifest.framework.name)
    if manifest.dataset:
        dataset_file = dataset_file or find_dataset(manifest.dataset, path)
        dataset = load_dataset_manifest(dataset_file)
        if dataset.allow_pickle:
            # The model chose the dataset: an untrusted model must not make a trusted loader
            # unpickle a file of its choosing, so both must be trusted.
            wants = "load pickled arrays"
            ensure_trusted(f"dataset {dataset.name!r}", dataset_file, wants)
            ensure_trusted(f"model {manifest.name!r}", path, f"have its dataset {wants}")
        resolved.dataset = dataset
        resolved.dataset_path = verified_source(
            dataset.sources[0], dataset_file.parent, str(dataset_file), "sources[0]"
        )
        if dataset.format == "npz":
            from reef.bench.samples import check_npz

            # Its headers say now, before a worker starts, whether it could be loaded.
            check_npz(dataset, resolved.dataset_path)
        resolved.components.append(
            ComponentRef(
                kind="dataset",
                name=dataset.name,
                version=dataset.version,
                path=str(dataset_file),
                sha256=sha256_file(dataset_file),
            )
        )
    return resolved


def find_dataset(ref: str, manifest_path: Path) -> Path:
    """The manifest of a dataset a model names: a folder inside the model's, or a component."""
    folder = manifest_path.parent.resolve()
    local = (folder / ref).resolve()
    if local.is_dir() and (local / MANIFEST).is_file():
        local = local / MANIFEST
    if local.is_file():
        # A component travels with what is inside its folder only; and a path out of it could
        # reach into another repository or Reef's cache. Only the user's own files may.
        if not local.is_relative_to(folder) and trust_of(manifest_path)[1] is not None:
            raise ManifestError(
                [Problem(str(manifest_path), "dataset", f"{ref!r} is outside the model's folder")],
                hint="name a dataset component, or a folder inside the model's folder",
            )
        return local
    try:
        return find(ref, kind="dataset").manifest_path
    except ReefError as exc:
        raise ManifestError(
            [Problem(str(manifest_path), "dataset", exc.message)], hint=exc.hint
        ) from exc


def _lock(path: Path) -> ResolvedTarget:
    """Exactly what a lock pins: every component found by its content hash, the model's
    dataset taken from the lock rather than searched for."""
    lock = read_lock(path)
    root = lock.root_component
    if root.kind != "model":
        raise ReefError(
            f"{path}: the lock's root {root.name!r} is a {root.kind}, not a model",
            hint="reef bench takes the lock of a model or a solution: `reef resolve NAME` "
            "writes one",
        )
    return locked_model(lock, root.name, str(path))


def locked_model(lock: Lock, model_name: str, where: str, kind: str = "lock") -> ResolvedTarget:
    """The model ``model_name`` of ``lock`` (its root, or a model a solution requires) with
    everything the lock pins found by content hash; ``where`` names the lock in messages."""
    entries = catalog()
    located = {c.name: locate(c, entries) for c in lock.components}
    model = located[model_name]
    manifest = load_model_manifest(model.manifest_path)
    dataset_file = None
    if manifest.dataset:
        dataset_file = _locked_dataset(where, lock, manifest.dataset, model, located)
    provisioned = find_provisioned(lock)
    if provisioned is None and lock.environment is not None:
        # Running on the host instead would measure other versions than the lock pins.
        pins = sorted(lock.environment.packages.items())
        shown = ", ".join(f"{n}=={v}" for n, v in pins[:3]) + (", …" if len(pins) > 3 else "")
        raise ReefError(
            f"{where}: this lock was provisioned ({shown}) but its environment is not here: "
            f"run `reef init {where}`",
            hint="reef init builds the environment from the lock's pins, then reef bench runs "
            "in it",
        )
    site = provisioned.site_packages if provisioned else ()
    resolved = _manifest(model.manifest_path, manifest, dataset_file, site)
    resolved.target = resolved.target.model_copy(update={"kind": kind, "path": where})
    resolved.lock = lock
    resolved.provisioned = provisioned
    # The content hashes say exactly what ran, every file of every component included.
    resolved.components = [
        ComponentRef(
            kind=c.kind,
            name=c.name,
            version=c.version,
            path=str(located[c.name].manifest_path),
            sha256=c.sha256,
        )
        for c in sorted(lock.components, key=lambda c: c.name != model_name)
    ]
    return resolved


def _locked_dataset(
    path: str, lock: Lock, ref: str, model: Entry, located: dict[str, Entry]
) -> Path:
    """The manifest of the dataset the model names: the locked one, or a folder of the model's."""
    try:
        name = split_requirement(ref)[0]
    except ValueError:
        name = None
    locked = next((c for c in lock.components if c.name == name), None)
    if locked is not None:
        if locked.kind != "dataset":
            raise ReefError(f"{path}: {model.name} names {ref!r} as its dataset, a {locked.kind}")
        return located[locked.name].manifest_path
    # A dataset folder inside the model's is part of the model, never locked apart.
    local = (model.directory / ref / MANIFEST).resolve()
    if local.is_file() and local.is_relative_to(model.directory.resolve()):
        return local
    raise ReefError(
        f"{path}: the lock holds no dataset {ref!r}, which {model.name} names",
        hint=f"run `reef resolve {lock.target}` again",
    )
