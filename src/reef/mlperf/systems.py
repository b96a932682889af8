"""The system description JSON (``systems/<system>.json``) from a run's environment
fingerprint, plus what the fingerprint cannot know.

The fingerprint (``reef detect``) knows the CPU, the memory, the GPUs, the OS and the
software; it cannot know whether the system is available, whether it is a datacenter or an
edge system, its storage, network, cooling and how its memory is populated. Those come from
flags or a small YAML (``--system-desc``), whose keys are the system description's own; a
required field left unknown is refused by name before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reef.mlperf.rules import SYSTEM_MEANINGFUL_FIELDS, SYSTEM_REQUIRED_FIELDS

# Required fields that may be left empty (the checker wants them present, not filled).
OPTIONAL_TEXT = tuple(f for f in SYSTEM_REQUIRED_FIELDS if f not in SYSTEM_MEANINGFUL_FIELDS)


def _gib(n: Any) -> str | None:
    if isinstance(n, int | float) and n > 0:
        return f"{n / 2**30:.1f} GB"
    return None


def _get(data: Mapping[str, Any], *path: str) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def from_environment(
    environment: Mapping[str, Any],
    *,
    framework: str | None = None,
    loadgen_version: str | None = None,
    reef_version: str | None = None,
) -> dict[str, Any]:
    """The fields a fingerprint can fill (absent facts are left out)."""
    desc: dict[str, Any] = {"number_of_nodes": 1}
    cpu = _get(environment, "hardware", "cpu") or {}
    if cpu.get("model"):
        desc["host_processor_model_name"] = str(cpu["model"])
    cores = cpu.get("physical_cores") or cpu.get("logical_cores")
    if cores:
        desc["host_processor_core_count"] = int(cores)
    if cpu.get("max_frequency_mhz"):
        desc["host_processor_frequency"] = f"{cpu['max_frequency_mhz']:.0f} MHz"
    memory = _gib(_get(environment, "hardware", "memory", "total_bytes"))
    if memory:
        desc["host_memory_capacity"] = memory
    gpu = _get(environment, "hardware", "gpu") or {}
    devices = [d for d in gpu.get("devices") or [] if isinstance(d, Mapping)]
    if devices:
        desc["accelerators_per_node"] = len(devices)
        desc["accelerator_model_name"] = str(devices[0].get("name") or "")
        mem = _gib(devices[0].get("memory_bytes"))
        if mem:
            desc["accelerator_memory_capacity"] = mem
    elif gpu.get("status") == "none" or "devices" in gpu:
        # The fingerprint saw no accelerator: MLPerf's convention for a CPU-only system.
        desc.update(
            accelerators_per_node=0,
            accelerator_model_name="N/A",
            accelerator_memory_capacity="N/A",
            accelerator_host_interconnect="N/A",
            accelerator_memory_configuration="N/A",
            accelerator_interconnect="N/A",
            accelerator_interconnect_topology="",
            accelerator_frequency="",
            **{"accelerator_on-chip_memories": ""},
        )
    system = _get(environment, "os", "system") or {}
    os_name = _get(system, "distribution", "name") or system.get("name")
    if os_name:
        kernel = system.get("kernel")
        desc["operating_system"] = f"{os_name}" + (f" (kernel {kernel})" if kernel else "")
    if framework:
        desc["framework"] = framework
    stack = []
    python = _get(environment, "software", "python", "version")
    if python:
        stack.append(f"Python {python}")
    if loadgen_version:
        stack.append(f"MLPerf LoadGen {loadgen_version}")
    if reef_version:
        stack.append(f"Reef {reef_version}")
    if stack:
        desc["other_software_stack"] = ", ".join(stack)
    desc["sw_notes"] = "Measured with Reef (reef bench); see the code folder's README"
    return desc


def build(
    environment: Mapping[str, Any],
    *,
    division: str,
    submitter: str,
    system_name: str,
    overrides: Mapping[str, Any] | None = None,
    framework: str | None = None,
    loadgen_version: str | None = None,
    reef_version: str | None = None,
) -> dict[str, Any]:
    """The system description: the fingerprint's facts, then ``overrides`` (flags and the
    YAML) over them; division, submitter and system_name are the export's own."""
    desc = from_environment(
        environment,
        framework=framework,
        loadgen_version=loadgen_version,
        reef_version=reef_version,
    )
    desc.update(dict(overrides or {}))
    desc.update(division=division, submitter=submitter, system_name=system_name)
    for name in OPTIONAL_TEXT:
        desc.setdefault(name, "")
    return {k: desc[k] for k in sorted(desc)}


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_fields(desc: Mapping[str, Any]) -> list[str]:
    """Required fields absent, and those that must say something but are empty."""
    missing = [f for f in SYSTEM_REQUIRED_FIELDS if f not in desc]
    missing += [f for f in SYSTEM_MEANINGFUL_FIELDS if f in desc and empty(desc[f])]
    return sorted(set(missing), key=list(SYSTEM_REQUIRED_FIELDS).index)
