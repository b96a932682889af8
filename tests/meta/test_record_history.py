"""A run record written by the first Reef (commit 9b72240, 2026-11-25: ``reef bench
model.onnx --duration 0.3 --json``), frozen, is read by today's Reef through the upgrade
chain: every field it had keeps its value, and every field added since takes its default."""

from __future__ import annotations

import json
from pathlib import Path

from reef.meta.run import FORMAT_VERSION, RunRecord, load_record

FROZEN = Path(__file__).parent / "fixtures" / "record-2026-11-25.json"


def test_the_oldest_record_loads_with_every_value_it_had() -> None:
    data = json.loads(FROZEN.read_text())
    record = load_record(json.loads(FROZEN.read_text()), str(FROZEN))
    assert isinstance(record, RunRecord)
    assert record.format_version == FORMAT_VERSION
    assert record.id == data["id"]
    assert record.status == "valid"
    assert record.target.kind == "onnx" and record.target.sha256 == data["target"]["sha256"]
    assert record.settings.scenario == "SingleStream"
    assert record.performance is not None
    assert record.performance.latency_ms.p50 == data["performance"]["latency_ms"]["p50"]
    assert record.loadgen is not None and record.loadgen.result == "VALID"
    assert record.environment == data["environment"]
    # Fields that came later take their defaults.
    assert record.trace is None
    assert record.lock is None


def test_the_oldest_record_written_back_is_read_again_unchanged() -> None:
    record = load_record(json.loads(FROZEN.read_text()), str(FROZEN))
    again = load_record(json.loads(record.model_dump_json()), "again")
    assert again == record
