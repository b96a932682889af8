"""ONNX Runtime's own options, as a model manifest's ``framework.options`` and ``reef bench``'s
options give them: per execution provider its options, session config entries, inter-op
threads and the execution mode (docs/benchmarking.md).

ONNX Runtime takes every value as a string and checks few: an unknown session config key is
silently ignored, and ``session.intra_op.allow_spinning: 5`` is taken as "not 0". What can be
checked without it is checked here, so that a typo is refused before a worker starts.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from reef.meta.common import Strict

# ONNX Runtime refuses a longer session config key (and an empty one).
MAX_CONFIG_KEY_LENGTH = 1024
# Session config entries ONNX Runtime reads as "0" or "1" without checking the value.
SWITCH_KEYS = frozenset(
    {
        "session.intra_op.allow_spinning",
        "session.inter_op.allow_spinning",
        "session.disable_prepacking",
        "session.use_env_allocators",
        "session.set_denormal_as_zero",
        "session.disable_cpu_ep_fallback",
        "session.force_spinning_stop",
        "session.disable_quant_qdq",
        "session.use_ort_model_bytes_directly",
    }
)
EXECUTION_MODES = ("sequential", "parallel")
ExecutionMode = Literal["sequential", "parallel"]
PROVIDER_SUFFIX = "ExecutionProvider"


def config_text(value: object) -> object:
    """A YAML or JSON scalar as the string ONNX Runtime reads: true/false as 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, a number or true/false, got {type(value).__name__}")


def _key(key: str) -> str:
    if not key.strip() or key != key.strip():
        raise ValueError(f"{key!r} is not a key: empty, or with spaces around it")
    if len(key) > MAX_CONFIG_KEY_LENGTH:
        raise ValueError(f"a key of {len(key):,} characters: at most {MAX_CONFIG_KEY_LENGTH:,}")
    return key


def _provider(name: str) -> str:
    if not name.endswith(PROVIDER_SUFFIX) or name == PROVIDER_SUFFIX:
        raise ValueError(
            f"{name!r} is not an execution provider name (such as CPUExecutionProvider, "
            "CUDAExecutionProvider, TensorrtExecutionProvider)"
        )
    return name


def _switches(entries: dict[str, str]) -> dict[str, str]:
    for key, value in entries.items():
        if key in SWITCH_KEYS and value not in ("0", "1"):
            raise ValueError(f"{key}: expected 0 or 1, got {value!r}")
    return entries


ConfigKey = Annotated[str, AfterValidator(_key)]
ConfigValue = Annotated[str, BeforeValidator(config_text)]
ProviderName = Annotated[str, AfterValidator(_provider)]
SessionConfig = Annotated[dict[ConfigKey, ConfigValue], AfterValidator(_switches)]
ProviderOptions = dict[ProviderName, dict[ConfigKey, ConfigValue]]

# The fields every face names the same: a manifest's framework.options and PredictorSettings.
ORT_OPTION_FIELDS = ("provider_options", "session_config", "inter_op_threads", "execution_mode")


class OrtOptions(Strict):
    """A model manifest's ``framework.options``: ONNX Runtime options the model runs with
    (``reef bench`` options override them)."""

    provider_options: ProviderOptions = Field(
        default_factory=dict,
        description="per execution provider, its options: {CUDAExecutionProvider: {device_id: 0}}",
    )
    session_config: SessionConfig = Field(
        default_factory=dict,
        description="session config entries: {session.intra_op.allow_spinning: 0}",
    )
    inter_op_threads: int | None = Field(
        None, ge=1, description="threads that run independent nodes at once (parallel mode)"
    )
    execution_mode: ExecutionMode | None = Field(
        None, description="sequential or parallel; ONNX Runtime's default is sequential"
    )
