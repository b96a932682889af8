"""The benchmark job: everything one scenario run needs, typed and JSON-serialisable.

A job is complete on its own so that it can run in this process, in a worker process started
with another interpreter (``python -m reef.bench.worker < job.json``), or on another machine.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from reef.errors import ManifestError, Problem, SettingsError
from reef.meta.dataset import DatasetManifest
from reef.meta.model import ModelManifest
from reef.meta.ort_options import ExecutionMode, OrtOptions, ProviderOptions, SessionConfig
from reef.meta.run import ComponentRef, Target, TraceLevel
from reef.meta.settings import BenchSettings, machine_problems

# LoadGen keeps a record of every sample of every query it pre-generates (the query's sample
# list, each sample's metadata and response bookkeeping): about 110 bytes a sample, measured
# with LoadGen 6.0.17 over 662 MultiStream queries of 1,000 and 10,000 samples.
LOADGEN_BYTES_PER_SAMPLE = 128
# Every sample of a batch is also named by an index: a Python list entry and a numpy int64.
INDEX_BYTES = 16
# Samples of random data fed to a model without a dataset, unless --samples says otherwise.
SYNTHETIC_SAMPLES = 64
# A bare ONNX file's inputs are only known once the worker opens the model: before that, a
# --shape is sized at one byte per element, the least any element type takes.
MIN_ITEMSIZE = 1
# The bytes of one element of each type a manifest declares.
ITEMSIZES = {
    "float16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "uint8": 1,
    "uint16": 2,
    "uint32": 4,
    "uint64": 8,
    "bool": 1,
}


# How the predictor runs the model: ONNX Runtime's options (docs/benchmarking.md). A model
# manifest's ``framework.options`` give defaults, which these override.
class PredictorSettings(BaseModel):
    graph_optimization: Literal["none", "basic", "extended", "all"] = "all"
    providers: list[str] | None = Field(None, description="None: the best available")
    provider_options: ProviderOptions = Field(
        default_factory=dict,
        description="per execution provider name, its options (device_id, ...)",
    )
    session_config: SessionConfig = Field(
        default_factory=dict,
        description="session config entries (session.intra_op.allow_spinning, ...)",
    )
    inter_op_threads: int | None = Field(
        None, ge=1, description="inter-op threads; None: 1 when threads are set"
    )
    execution_mode: ExecutionMode | None = Field(
        None, description="how independent nodes run; None: ONNX Runtime's default, sequential"
    )

    @field_validator("inter_op_threads")
    @classmethod
    def _on_this_machine(cls, threads: int | None) -> int | None:
        from reef.meta.settings import THREADS_PER_CORE, max_threads

        if threads is not None and threads > max_threads():
            raise ValueError(f"at most {max_threads()} ({THREADS_PER_CORE} per usable core)")
        return threads

    def ort_only(self) -> list[str]:
        """The options given that only ONNX Runtime takes, as ``reef bench`` names them."""
        given = {
            "--graph-optimization": self.graph_optimization != "all",
            "--provider": bool(self.providers),
            "--provider-option": bool(self.provider_options),
            "--session-config": bool(self.session_config),
            "--inter-op-threads": self.inter_op_threads is not None,
            "--execution-mode": self.execution_mode is not None,
        }
        return [option for option, set_ in given.items() if set_]

    def over(self, defaults: OrtOptions | None) -> PredictorSettings:
        """These settings over a manifest's ``framework.options``: each session config key
        and provider option given here wins, and so does each other option given."""
        if defaults is None:
            return self
        providers = {p: dict(o) for p, o in defaults.provider_options.items()}
        for name, values in self.provider_options.items():
            providers[name] = {**providers.get(name, {}), **values}
        return self.model_copy(
            update={
                "provider_options": providers,
                "session_config": {**defaults.session_config, **self.session_config},
                "inter_op_threads": self.inter_op_threads or defaults.inter_op_threads,
                "execution_mode": self.execution_mode or defaults.execution_mode,
            }
        )


def backend_settings(job: BenchJob, backend: str) -> PredictorSettings:
    """The predictor settings ``backend`` runs ``job`` with: the job's over the manifest's
    ``framework.options`` when the manifest's framework is that backend. ONNX Runtime's
    options for another backend are refused."""
    manifest = job.manifest
    if backend != "onnxruntime":
        given = job.predictor.ort_only()
        if given:
            raise SettingsError(
                f"{', '.join(given)}: ONNX Runtime's option{'s' if len(given) > 1 else ''}, "
                f"but the backend is {backend}",
                hint="give them with --backend onnxruntime only",
            )
        return job.predictor
    if manifest is None or manifest.framework.name != backend:
        return job.predictor
    return job.predictor.over(manifest.framework.options)


class TraceSettings(BaseModel):
    """What to trace and the bounds of the trace file (see docs/tracing.md)."""

    level: TraceLevel = "none"
    first_queries: int = Field(1000, ge=1, description="queries kept in full from the start")
    sampled_queries: int = Field(
        1000, ge=1, description="at most this many later queries, every k-th one"
    )
    system_interval_ms: float = Field(100.0, gt=0, description="system sampling period")
    max_system_samples: int = Field(10_000, ge=2, description="then the period is doubled")


class BenchJob(BaseModel):
    run_id: str
    run_dir: str = Field(description="where LoadGen's logs and raw samples are written")
    target: Target
    components: list[ComponentRef] = Field(default_factory=list)
    model_path: str = Field(description="the verified model file")
    manifest: ModelManifest | None = None
    manifest_path: str | None = None
    dataset: DatasetManifest | None = None
    dataset_path: str | None = Field(None, description="the verified dataset file")
    shapes: dict[str, list[int]] = Field(
        default_factory=dict, description="zero-config: input name -> shape override"
    )
    settings: BenchSettings
    backend: str | None = Field(
        None,
        description="the predictor that runs the model; None: the manifest's framework.name, "
        "else chosen by the model file's suffix",
    )
    predictor: PredictorSettings = Field(default_factory=PredictorSettings)
    trace: TraceSettings = Field(default_factory=TraceSettings)

    @field_validator("settings")
    @classmethod
    def _runnable(cls, settings: BenchSettings) -> BenchSettings:
        # A job runs on this machine: it arrives from the CLI, a solution, reef reproduce or
        # another process's stdin, and each must be refused before the worker measures.
        from pydantic_core import PydanticCustomError

        problems = machine_problems(settings)
        if problems:
            name, message = problems[0]
            value = getattr(settings, name)
            raise PydanticCustomError("out_of_range", f"{name} {value}: {message}")
        return settings

    @model_validator(mode="after")
    def _mlperf_model(self) -> BenchJob:
        # The model's key in the MLPerf configs: the target's name unless --mlperf-model.
        if self.settings.mlperf_model is None:
            named = self.settings.model_copy(update={"mlperf_model": self.target.name})
            object.__setattr__(self, "settings", named)
        return self

    @field_validator("shapes")
    @classmethod
    def _positive(cls, shapes: dict[str, list[int]]) -> dict[str, list[int]]:
        for name, dims in shapes.items():
            if not dims or any(d <= 0 for d in dims):
                raise ValueError(f"{name}: expected positive dimensions, got {dims}")
        return shapes


def available_memory() -> int:
    """Bytes this machine can give a new allocation now without swapping."""
    import psutil

    return int(psutil.virtual_memory().available)


def too_big(needed: int) -> str | None:
    """``"372.5 GiB, more than the 22.9 GiB of memory available"`` when ``needed`` bytes
    would not fit; None when they would."""
    from reef.files import human_size

    available = available_memory()
    if needed <= available:
        return None
    return f"{human_size(needed)}, more than the {human_size(available)} of memory available"


def batch_of(settings: BenchSettings, fixed_batch: int | None) -> int:
    """The samples of one predict call: a fixed batch dimension wins over the settings."""
    if fixed_batch:
        return fixed_batch
    if settings.scenario == "MultiStream":
        return min(settings.batch_size, settings.samples_per_query)
    if settings.scenario in ("Offline", "Server"):
        return settings.batch_size
    return 1


def footprint_problem(
    sample_bytes: int,
    count: int,
    fixed_batch: int | None,
    settings: BenchSettings | None,
    what: str,
    *,
    loaded: bool = False,
    at_least: bool = False,
) -> tuple[str, str] | None:
    """("sample" | "samples" | "batch", message) when a run's samples would not fit in memory.

    What a run holds (``reef.bench.samples``, ``calibrate``): ``count`` samples of
    ``sample_bytes``; with a fixed batch dimension above 1, one ready feed per sample holding
    it repeated ``fixed_batch`` times; and, given ``settings``, the warm-up's batches, which
    cover every sample (or one whole batch, if larger), each sample named by an index. With
    ``loaded`` the samples are in memory already and only the batches are judged; with
    ``at_least`` the sizes are lower bounds, and the message says so.
    """
    from reef.files import human_size

    fill = fixed_batch if fixed_batch and fixed_batch > 1 else 1
    each = ("at least " if at_least else "") + human_size(sample_bytes)
    held = 0
    if not loaded:
        problem = too_big(fill * sample_bytes)
        if problem and fill > 1:
            return "sample", (
                f"{what}: one batch of {fill:,} samples (the model's fixed batch dimension) "
                f"of {each} each is {problem}"
            )
        if problem:
            return "sample", f"{what}: one sample is {'at least ' if at_least else ''}{problem}"
        held = count * sample_bytes * (1 + fill if fill > 1 else 1)
        problem = too_big(held)
        if problem:
            return "samples", f"{what}: {count:,} samples of {each} each are {problem}"
    batch = batch_of(settings, fixed_batch) if settings is not None else 1
    if batch > 1:
        batches = math.ceil(max(count, batch) / batch) * batch
        problem = too_big(held + batches * (sample_bytes + INDEX_BYTES))
        if problem:
            option = f"--batch-size {batch:,}: " if not fixed_batch else ""
            return "batch", (
                f"{option}batches of {batch:,} samples of {what} ({each} each) are {problem}"
            )
    return None


def loadgen_problem(settings: BenchSettings) -> str | None:
    """What LoadGen itself would need and cannot have: MultiStream pre-generates every
    query's samples before the first is issued."""
    if settings.scenario != "MultiStream":
        return None
    from reef.bench.calibrate import MAX_GENERATED_QUERIES, MIN_QUERIES

    queries = min(settings.queries or MIN_QUERIES["MultiStream"], MAX_GENERATED_QUERIES)
    spq = settings.samples_per_query
    problem = too_big(queries * spq * LOADGEN_BYTES_PER_SAMPLE)
    if problem is None:
        return None
    return (
        f"--samples-per-query {spq:,}: LoadGen pre-generates {queries:,} queries of {spq:,} "
        f"samples each, about {problem}"
    )


def preflight(job: BenchJob) -> None:
    """Refuse, before the worker starts, a job whose samples or LoadGen's queries cannot fit
    in memory, judged from what is known without opening the model: the manifest's declared
    input shapes, or a --shape at one byte per element. The worker checks again with the
    model's own types (``reef.bench.samples``, ``runner``)."""
    from reef.bench.mlperf_conf import check

    check(job.settings, job.target.name)  # the MLPerf configs parse; --compliant breaks no rule
    problem = loadgen_problem(job.settings)
    if problem:
        raise SettingsError(problem, hint="ask for fewer samples per query")
    from reef.bench.audit import check_applicable

    check_applicable(job)  # an audit the model cannot take (TEST06 without token outputs)
    settings = job.settings
    count = settings.sample_count
    if job.manifest is not None:
        if count is None and job.dataset is not None:
            count = job.dataset.samples
        where = job.manifest_path or job.model_path
        for i, spec in enumerate(job.manifest.inputs):
            dims = [max(d, 1) for d in spec.shape]
            said, axis = spec.declared_batch_axis()
            if not said:
                axis = 0 if spec.shape else None  # as the worker will most often infer
            fixed = None
            if axis is not None:
                fixed = spec.shape[axis] if spec.shape[axis] > 0 else None
                del dims[axis]
            sample_bytes = _product(dims) * ITEMSIZES.get(spec.element_type, MIN_ITEMSIZE)
            what = f"input {spec.name!r} {spec.shape} {spec.element_type}"
            found = footprint_problem(
                sample_bytes, count or SYNTHETIC_SAMPLES, fixed, settings, what
            )
            if found and found[0] == "sample":
                raise ManifestError([Problem(where, f"inputs[{i}].shape", found[1])])
            raise_footprint(found)
    for name, dims in job.shapes.items():
        what = f"input {name!r} of --shape {name}={'x'.join(map(str, dims))}"
        sample_bytes = _product(dims[1:]) * MIN_ITEMSIZE
        found = footprint_problem(
            sample_bytes, count or SYNTHETIC_SAMPLES, None, settings, what, at_least=True
        )
        if found and found[0] == "sample":
            raise SettingsError(found[1], hint="give --shape smaller dimensions")
        raise_footprint(found)


def raise_footprint(found: tuple[str, str] | None) -> None:
    """``footprint_problem``'s answer as the error a user sees, with what to change."""
    if found is None:
        return
    kind, message = found
    hints = {
        "sample": "the model's input is larger than this machine's memory",
        "samples": "--samples N loads fewer samples",
        "batch": "give a smaller --batch-size",
    }
    raise SettingsError(message, hint=hints[kind])


def _product(dims: list[int]) -> int:
    return math.prod(dims) if dims else 1
