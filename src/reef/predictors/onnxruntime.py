"""The ONNX Runtime backend, Reef's default predictor."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from reef.errors import PredictorError
from reef.predictors.base import FrameworkProfile, PredictorOptions, Signature, TensorSpec

# ONNX Runtime spells element types as 'tensor(float)'; Reef uses numpy's names.
ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
}

# Providers Reef picks on its own, best first. Others (TensorRT, OpenVINO, ...) need
# configuration of their own and are used only when asked for by name.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")

_OPT_LEVELS = ("none", "basic", "extended", "all")
_EXECUTION_MODES = {"sequential": "ORT_SEQUENTIAL", "parallel": "ORT_PARALLEL"}


def choose_providers(requested: list[str] | None, available: list[str]) -> list[str]:
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise PredictorError(
                f"execution provider(s) not available: {', '.join(missing)}",
                hint=f"this onnxruntime offers: {', '.join(available)}",
            )
        return list(requested)
    return [p for p in PREFERRED_PROVIDERS if p in available]


def _spec(arg: Any) -> TensorSpec:
    shape = tuple(d if isinstance(d, int | str) else None for d in (arg.shape or ()))
    return TensorSpec(arg.name, ORT_TYPES.get(arg.type, arg.type), shape)


def _check_threads(threads: int | None, kind: str = "intra-op") -> None:
    """ONNX Runtime starts every intra-op thread as the session opens: a count far past the
    cores hangs or crashes the process, and one past a C int is a TypeError."""
    from reef.meta.settings import THREADS_PER_CORE, max_threads

    if threads is not None and not 1 <= threads <= max_threads():
        raise PredictorError(
            f"{threads} {kind} threads: at most {max_threads()} "
            f"({THREADS_PER_CORE} per usable core)",
        )


class OnnxRuntimePredictor:
    name = "onnxruntime"

    def __init__(self) -> None:
        self._session: Any = None
        self._output_names: list[str] = []
        self._options = PredictorOptions()
        self._profiling = False

    def version(self) -> str:
        import onnxruntime

        return str(onnxruntime.__version__)

    def open(self, model_path: Path, options: PredictorOptions) -> Signature:
        import onnxruntime as ort

        if options.graph_optimization not in _OPT_LEVELS:
            raise PredictorError(
                f"unknown graph optimisation level {options.graph_optimization!r}",
                hint=f"choose one of {', '.join(_OPT_LEVELS)}",
            )
        so = ort.SessionOptions()
        _check_threads(options.threads)
        _check_threads(options.inter_op_threads, "inter-op")
        if options.threads:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        if options.inter_op_threads:
            so.inter_op_num_threads = options.inter_op_threads
        if options.execution_mode is not None:
            if options.execution_mode not in _EXECUTION_MODES:
                raise PredictorError(
                    f"execution mode {options.execution_mode!r}: expected one of "
                    f"{', '.join(_EXECUTION_MODES)}"
                )
            so.execution_mode = getattr(ort.ExecutionMode, _EXECUTION_MODES[options.execution_mode])
        so.graph_optimization_level = {
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[options.graph_optimization]
        so.log_severity_level = 3  # warnings from ORT would interleave with Reef's progress
        if options.profile_dir:
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(options.profile_dir) / "onnxruntime_profile")
        for key, value in options.session_config.items():
            try:
                so.add_session_config_entry(key, value)
            except Exception as exc:  # ORT refuses an empty or over-long key or value
                raise PredictorError(
                    f"session config {key}={value}: onnxruntime refused it: {_one_line(exc)}"
                ) from exc
        providers = choose_providers(options.providers, ort.get_available_providers())
        unused = [name for name in options.provider_options if name not in providers]
        if unused:
            raise PredictorError(
                f"provider options for {', '.join(unused)}, which this run does not use "
                f"(it uses {', '.join(providers)})",
                hint=f"ask for it with --provider {unused[0]}, or drop its options",
            )
        provider_options = [dict(options.provider_options.get(p, {})) for p in providers]
        try:
            self._session = ort.InferenceSession(
                str(model_path), so, providers=providers, provider_options=provider_options
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise _open_error(model_path, options, providers, exc) from exc
        self._options = options
        self._profiling = bool(options.profile_dir)
        signature = Signature(
            inputs=tuple(_spec(a) for a in self._session.get_inputs()),
            outputs=tuple(_spec(a) for a in self._session.get_outputs()),
        )
        self._output_names = [o.name for o in signature.outputs]
        # On the hot path a bound partial of session.run saves a Python frame per query.
        self.predict = partial(self._session.run, self._output_names)  # type: ignore[method-assign]
        return signature

    def predict(self, feeds: dict[str, Any]) -> list[Any]:
        result: list[Any] = self._session.run(self._output_names, feeds)
        return result

    def end_profiling(self) -> FrameworkProfile | None:
        """Stop ONNX Runtime's profiler and write its profile (Chrome trace events whose
        ``ts`` are microseconds from the profiler's start, an epoch time in nanoseconds)."""
        if not self._profiling or self._session is None:
            return None
        self._profiling = False
        start = int(self._session.get_profiling_start_time_ns())
        path = self._session.end_profiling()
        return FrameworkProfile(Path(path), "onnxruntime", start)

    def close(self) -> None:
        self._session = None

    def info(self) -> dict[str, Any]:
        """The providers in use and every option Reef applied: what the run record keeps."""
        providers = list(self._session.get_providers()) if self._session else []
        o = self._options
        options: dict[str, Any] = {
            "threads": o.threads,
            "graph_optimization": o.graph_optimization,
        }
        if o.inter_op_threads or o.threads:
            options["inter_op_threads"] = o.inter_op_threads or 1
        if o.execution_mode is not None:
            options["execution_mode"] = o.execution_mode
        if o.session_config:
            options["session_config"] = dict(o.session_config)
        if o.provider_options:
            options["provider_options"] = {k: dict(v) for k, v in o.provider_options.items()}
        return {"providers": providers, "options": options}


def _one_line(exc: BaseException) -> str:
    """ORT's message without its ``[ONNXRuntimeError] : 2 : INVALID_ARGUMENT :`` prefix, on
    one line."""
    text = " ".join(str(exc).split())
    if text.startswith("[ONNXRuntimeError]"):
        text = text.split(" : ", 3)[-1]
    return text or type(exc).__name__


def _open_error(
    model_path: Path, options: PredictorOptions, providers: list[str], exc: BaseException
) -> PredictorError:
    """Why the session did not open: an option ORT refused, named, when the model opens
    without Reef's session config and provider options; else the model itself."""
    import onnxruntime as ort

    named = [(f"session config {k}={v}", k) for k, v in options.session_config.items()]
    named += [
        (f"provider option {p}:{k}={v}", k)
        for p, values in options.provider_options.items()
        for k, v in values.items()
    ]
    if named:
        try:
            ort.InferenceSession(str(model_path), providers=providers)
        except Exception:
            named = []  # the model fails on its own
    if named:
        message = _one_line(exc)
        blamed = [label for label, key in named if key in message] or [label for label, _ in named]
        return PredictorError(
            f"{'; '.join(blamed)}: onnxruntime refused it: {message}",
            hint="see ONNX Runtime's documentation of its session config keys and provider options",
        )
    return PredictorError(f"{model_path}: onnxruntime could not load the model: {exc}".strip())
