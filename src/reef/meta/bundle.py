"""A run as it travels to a Reef server: its record, and the files that vouch for it.

``RunBundle`` is what ``POST /api/v1/runs`` carries (``{"runs": [bundle, ...]}``) and what
``REEF_HOME/outbox/`` keeps until a server takes it. ``reef.bench.bundle`` makes one from a
stored run and checks one (``verify_bundle``): the server accepts nothing it has not checked.

Format history
--------------
1  first format: ``record`` (the RunRecord as ``model_dump(mode="json")`` gives it, raw
   latencies included) and ``files`` (LoadGen's summary, detail and accuracy logs, each with
   its path inside the run's folder, its sha256 and its bytes in base64).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

BUNDLE_FORMAT_VERSION = 1

MiB = 1 << 20
# Caps, on the decoded bytes. LoadGen's summary and detail logs are tens of KiB whatever the
# run's length; an accuracy log grows with the dataset (about 400 bytes a sample for a
# classifier): one over the file cap is left out of the bundle, and the run's accuracy
# figure then goes unchecked.
MAX_FILE_BYTES = 16 * MiB
MAX_FILES = 64
# Every file of a bundle together.
MAX_FILES_BYTES = 24 * MiB
# The record's JSON: a million raw latencies take about 8 MiB.
MAX_RECORD_BYTES = 24 * MiB
# One request's body (JSON, base64 inflating files by 4/3): a bundle at both caps fits, as
# it fits the server's default body limit (``reef server``'s 64 MiB). A larger body is
# refused with 413; the client packs bundles into requests of about REQUEST_TARGET_BYTES (one
# bundle alone may exceed it) and at most REQUEST_MAX_RUNS runs.
MAX_REQUEST_BYTES = 64 * MiB
REQUEST_TARGET_BYTES = 8 * MiB
REQUEST_MAX_RUNS = 50


class BundleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="relative POSIX path inside the run's folder, e.g. "
        "performance/mlperf_log_detail.txt"
    )
    sha256: str = Field(description="sha256 of the decoded bytes, 64 lowercase hex digits")
    data: str = Field(description="the file's bytes, base64 (standard alphabet, padded)")


class RunBundle(BaseModel):
    """One run: ``record`` as ``RunRecord.model_dump(mode="json")`` gives it, and ``files``."""

    model_config = ConfigDict(extra="forbid")

    format: int = Field(BUNDLE_FORMAT_VERSION, description="the bundle format version")
    record: dict[str, Any]
    files: list[BundleFile] = Field(default_factory=list)
