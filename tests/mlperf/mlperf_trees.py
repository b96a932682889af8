"""Helpers for the MLPerf tests: a system description, export of the session's runs, and
edits of a tree's logs (what a compliant run, or a broken one, would have written)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reef.meta.run import RunRecord
from reef.mlperf import export, rules
from reef.mlperf.layout import DETAIL, SUMMARY, Layout, ScenarioKey
from reef.mlperf.logs import MARKER

# What the fingerprint cannot know about the test machine.
SYSTEM_DESC: dict[str, Any] = {
    "status": "available",
    "system_type": "edge",
    "host_processors_per_node": 1,
    "host_storage_capacity": "1 TB",
    "host_storage_type": "SSD",
    "host_networking": "none",
    "host_network_card_count": 0,
    "host_networking_topology": "N/A",
    "host_memory_configuration": "unknown",
    "cooling": "air",
}


def export_open(
    records: list[RunRecord], out: Path, round_: str | None = None, **kw: Any
) -> export.MlperfExport:
    options: dict[str, Any] = {
        "division": "open",
        "submitter": "Reef",
        "system": "box",
        "benchmark": "resnet",
        "system_desc": SYSTEM_DESC,
        "round_": round_,
    }
    options.update(kw)
    return export.export(records, out, **options)


def key(scenario: str, division: str = "open") -> ScenarioKey:
    return ScenarioKey(division, "Reef", "box", "resnet", scenario)


def edit_detail(path: Path, change: Callable[[str, Any], Any]) -> None:
    """Rewrite each event's value as ``change(key, value)`` says (unchanged: return it)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(MARKER):
            event = json.loads(line[len(MARKER) :])
            event["value"] = change(event["key"], event["value"])
            line = f"{MARKER} {json.dumps(event)}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_values(path: Path, **values: Any) -> None:
    edit_detail(path, lambda k, v: values.get(k, v))


def officialise(root: Path, round_: str = "v6.0") -> None:
    """Give every performance log of the tree the round's seeds and the 600 s minimum
    duration: what a compliant run logs (the runs here are 0.3 s long)."""
    seeds = rules.ROUND_FACTS[round_].seeds
    official = {f"effective_{k}": v for k, v in seeds.items()}
    official["effective_min_duration_ms"] = rules.MIN_DURATION_MS
    for detail in root.rglob(f"performance/run_1/{DETAIL}"):
        set_values(detail, **official)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def perf(root: Path, scenario: str, name: str = DETAIL, division: str = "open") -> Path:
    return Layout(root).performance_dir(key(scenario, division)) / name


def acc(root: Path, scenario: str, name: str, division: str = "open") -> Path:
    return Layout(root).accuracy_dir(key(scenario, division)) / name


__all__ = ["SUMMARY", "SYSTEM_DESC", "export_open", "officialise", "set_values"]
