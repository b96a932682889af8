"""What ``reef export`` may be asked for, each value checked before anything is resolved or
written: a bad one is a ``SettingsError`` (exit 2) naming its option."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from reef.errors import SettingsError

Kind = Literal["compose", "k8s", "kserve"]
KINDS: tuple[Kind, ...] = ("compose", "k8s", "kserve")
DEFAULT_BASE_IMAGE = "python:3.11-slim"
DEFAULT_PORT = 8080
MAX_WORKERS = 64  # reef serve --workers' own limit
SERVE_MAX_BODY_MB = 64.0  # reef serve --max-body's default, which an export does not change

# Kubernetes quantities: CPU in cores or millicores, memory in bytes with a binary or decimal
# suffix. The API server accepts more spellings (exponents); these are the ones people write.
_CPU = re.compile(r"^(\d+(\.\d{1,3})?|\d+m)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_SUFFIX = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
# A DNS-1123 label: what a Kubernetes object's name, a compose service or a port name may be.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# An image reference: [registry[:port]/]path[:tag][@sha256:digest], lower-case path.
_IMAGE = re.compile(
    r"^([a-zA-Z0-9.-]+(:\d+)?/)?[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?"
    r"(@sha256:[0-9a-f]{64})?$"
)


@dataclass(frozen=True)
class ExportOptions:
    """The options of ``reef export compose|k8s|kserve`` (docs/deploy.md)."""

    kind: Kind
    image: str | None = None
    base_image: str = DEFAULT_BASE_IMAGE
    port: int = DEFAULT_PORT
    gpu: int = 0
    max_batch_size: int | None = None
    max_delay_ms: float | None = None
    slo_p99_ms: float | None = None
    max_queue: int | None = None
    max_inflight_mb: float | None = None
    threads: int | None = None
    workers: int = 1  # reef serve --workers: processes in one container, each with the model
    with_server: bool = False
    cpu_request: str | None = None
    cpu_limit: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    replicas: int = 1
    max_replicas: int = 4
    target_inflight: float = 8.0
    name: str | None = None
    wheel: str | None = None
    force: bool = False

    def check(self) -> None:
        """Refuse a value no deployment file could carry, naming its option."""
        if self.kind not in KINDS:
            raise SettingsError(f"{self.kind!r}: not one of {', '.join(KINDS)}")
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"--port {self.port}: expected 1 to 65535")
        if self.gpu < 0:
            raise SettingsError(f"--gpu {self.gpu}: expected a number of GPUs, 0 or more")
        _positive("--max-batch-size", self.max_batch_size)
        if self.max_delay_ms is not None and not self.max_delay_ms >= 0:
            raise SettingsError(f"--max-delay-ms {self.max_delay_ms:g}: expected 0 or more")
        _positive("--slo-p99-ms", self.slo_p99_ms)
        _positive("--max-queue", self.max_queue)
        if self.max_inflight_mb is not None and not self.max_inflight_mb >= SERVE_MAX_BODY_MB:
            raise SettingsError(
                f"--max-inflight-mb {self.max_inflight_mb:g}: below reef serve's --max-body "
                f"{SERVE_MAX_BODY_MB:g} MiB, which the server would refuse to start with"
            )
        _positive("--threads", self.threads)
        if not 1 <= self.workers <= MAX_WORKERS:
            raise SettingsError(f"--workers {self.workers}: expected 1 to {MAX_WORKERS}")
        _positive("--target-inflight", self.target_inflight)
        if self.replicas < 1:
            raise SettingsError(f"--replicas {self.replicas}: expected 1 or more")
        if self.max_replicas < self.replicas:
            raise SettingsError(
                f"--max-replicas {self.max_replicas}: below --replicas {self.replicas}"
            )
        for option, value in (("--image", self.image), ("--base-image", self.base_image)):
            if value is not None and not _IMAGE.match(value):
                raise SettingsError(f"{option} {value!r}: not an image reference (name[:tag])")
        if self.name is not None and not _LABEL.match(self.name):
            raise SettingsError(
                f"--name {self.name!r}: expected lower-case letters, digits and '-' "
                "(a DNS label, at most 63 characters)"
            )
        cpu = [quantity("--cpu-request", self.cpu_request, _CPU),
               quantity("--cpu-limit", self.cpu_limit, _CPU)]  # fmt: skip
        memory = [
            quantity("--memory-request", self.memory_request, _MEMORY),
            quantity("--memory-limit", self.memory_limit, _MEMORY),
        ]
        for (request, limit), what in ((cpu, "cpu"), (memory, "memory")):
            if request is not None and limit is not None and request > limit:
                raise SettingsError(f"--{what}-request is above --{what}-limit")

    def cpu_request_or_default(self) -> str | None:
        """--cpu-request, or with several workers and none given, a core a worker (no more
        than --cpu-limit): each worker runs the model on its own, and a pod asking for less
        would be packed where its workers starve."""
        if self.cpu_request is not None or self.workers <= 1:
            return self.cpu_request
        limit = quantity("--cpu-limit", self.cpu_limit, _CPU)
        if limit is not None and limit < self.workers:
            return self.cpu_limit
        return str(self.workers)

    def serve_args(self, target: str) -> list[str]:
        """The ``reef serve`` command line the container runs."""
        args = ["serve", target, "--host", "0.0.0.0", "--port", str(self.port)]
        for option, value in self.serve_settings().items():
            args += [option, value]
        return args

    def serve_settings(self) -> dict[str, str]:
        """``reef serve``'s tuning options that were given, as its command line spells them."""
        out: dict[str, str] = {}
        for option, value in (
            ("--max-batch-size", self.max_batch_size),
            ("--max-delay-ms", self.max_delay_ms),
            ("--slo-p99-ms", self.slo_p99_ms),
            ("--max-queue", self.max_queue),
            ("--max-inflight-mb", self.max_inflight_mb),
            ("--threads", self.threads),
            ("--workers", self.workers if self.workers > 1 else None),
        ):
            if value is not None:
                out[option] = f"{value:g}" if isinstance(value, float) else str(value)
        return out


def _positive(option: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise SettingsError(f"{option} {value:g}: expected a number above 0")


def quantity(option: str, value: str | None, pattern: re.Pattern[str]) -> Decimal | None:
    """A Kubernetes quantity's value (cores or bytes), or None when not given."""
    if value is None:
        return None
    if not pattern.match(value):
        example = "500m or 2" if pattern is _CPU else "512Mi or 2Gi"
        raise SettingsError(f"{option} {value!r}: not a Kubernetes quantity (e.g. {example})")
    try:
        if value.endswith("m") and pattern is _CPU:
            amount = Decimal(value[:-1]) / 1000
        else:
            number = re.match(r"^[\d.]+", value)
            assert number is not None
            amount = Decimal(number.group()) * _SUFFIX[value[number.end() :]]
    except InvalidOperation as exc:
        raise SettingsError(f"{option} {value!r}: not a number") from exc
    if amount <= 0:
        raise SettingsError(f"{option} {value!r}: expected a quantity above 0")
    return amount
