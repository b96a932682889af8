"""Writes the small MLPerf submission tree under ``inference_results_v5.1/`` that
``tests/mlperf_import`` replays: ``python tests/data/mlperf/generate.py``.

The tree has the layout MLCommons' submission checker reads (v5.x: ``measurements/``,
``compliance/`` and ``code/`` beside ``results/``), for two closed-division submitters:

- ``Acme``: an edge system (one CPU, no accelerator), resnet50 in SingleStream and Offline;
- ``Bolt``: a datacenter system (two CPUs, 8 GPUs), resnet50 in Offline and Server.

Detail logs are LoadGen's ``:::MLLOG {json}`` lines, cut down to the events a reader needs
(version, settings, verdict, figures) in the form LoadGen 6.0 writes them; the summaries are
its human-readable text. The figures are made up but consistent: the expected values in the
tests are the ones written here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent / "inference_results_v5.1"
# The official seeds of round v5.1 (MLCommons' submission checker, constants.py).
SEEDS = {
    "qsl_rng_seed": 1780908523862526354,
    "sample_index_rng_seed": 14771362308971278857,
    "schedule_rng_seed": 18209322760996052031,
}


def event(key: str, value: Any, time_ms: float, line_no: int, **meta: bool) -> str:
    metadata = {
        "is_error": meta.get("is_error", False),
        "is_warning": meta.get("is_warning", False),
        "file": "results.cc" if key.startswith("result") else "test_settings_internal.cc",
        "line_no": line_no,
        "pid": 4242,
        "tid": 4242,
    }
    body = {
        "key": key,
        "value": value,
        "time_ms": time_ms,
        "namespace": "mlperf::logging",
        "event_type": "POINT_IN_TIME",
        "metadata": metadata,
    }
    return ":::MLLOG " + json.dumps(body)


def detail_log(
    scenario: str,
    mode: str,
    figures: dict[str, Any],
    settings: dict[str, Any],
    when: str,
) -> str:
    lines = [
        event("loadgen_version", "5.1.0 @ 2b1f3a9c4d", 0.006, 53),
        event("test_datetime", when, 0.02, 1211),
        event("sut_name", "PySUT", 0.02, 1212),
        event("qsl_reported_total_count", 50000, 0.02, 1215),
        event("qsl_reported_performance_count", 1024, 0.02, 1216),
        event("requested_scenario", scenario, 0.03, 300),
        event("effective_scenario", scenario, 0.03, 430),
        event("effective_test_mode", mode, 0.03, 431),
    ]
    for n, (key, value) in enumerate({**settings, **SEEDS}.items()):
        lines.append(event(f"effective_{key}", value, 0.03, 432 + n))
    lines.append(event("generic_message", f"Starting {mode} mode", 0.04, 848))
    t = 600000.5
    for n, (key, value) in enumerate(figures.items()):
        lines.append(event(key, value, t, 674 + n))
    lines.append(event("num_errors", 0, t, 852))
    return "\n".join(lines) + "\n"


def summary_log(scenario: str, mode: str, figures: dict[str, Any], headline: str) -> str:
    ns = {k: v for k, v in figures.items() if k.endswith("_latency_ns")}
    names = {
        "result_min_latency_ns": "Min latency (ns)",
        "result_max_latency_ns": "Max latency (ns)",
        "result_mean_latency_ns": "Mean latency (ns)",
        "result_50.00_percentile_latency_ns": "50.00 percentile latency (ns)",
        "result_90.00_percentile_latency_ns": "90.00 percentile latency (ns)",
        "result_95.00_percentile_latency_ns": "95.00 percentile latency (ns)",
        "result_99.00_percentile_latency_ns": "99.00 percentile latency (ns)",
    }
    bar = "=" * 48
    lines = [
        bar,
        "MLPerf Results Summary",
        bar,
        "SUT name : PySUT",
        f"Scenario : {scenario}",
        f"Mode     : {mode}",
        headline,
        f"Result is : {figures.get('result_validity', 'VALID')}",
        "  Min duration satisfied : Yes",
        "  Min queries satisfied : Yes",
        "  Early stopping satisfied: Yes",
        "",
        bar,
        "Additional Stats",
        bar,
    ]
    lines += [f"{names[k]:<32}: {v}" for k, v in ns.items() if k in names]
    lines += ["", "No warnings encountered during test.", "", "No errors encountered during test."]
    return "\n".join(lines) + "\n"


def latencies(values: list[int]) -> dict[str, int]:
    keys = ("min", "max", "mean", "50.00", "90.00", "95.00", "99.00")
    out = {}
    for key, value in zip(keys, values, strict=True):
        name = f"result_{key}_latency_ns" if key in ("min", "max", "mean") else None
        out[name or f"result_{key}_percentile_latency_ns"] = value
    return out


def verdict(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "result_validity": "VALID",
        "result_min_duration_met": True,
        "result_min_queries_met": True,
        "early_stopping_met": True,
        **(extra or {}),
    }


RESULTS: dict[tuple[str, str, str], dict[str, Any]] = {
    # SingleStream: p90 1.234567 ms, p99 1.456789 ms, 811.67 queries/s.
    ("Acme", "acme_edge_e1", "SingleStream"): {
        "settings": {
            "samples_per_query": 1,
            "target_latency_percentile": 0.9,
            "min_duration_ms": 600000,
            "min_query_count": 1024,
            "performance_sample_count": 1024,
        },
        "figures": {
            **verdict(
                {
                    "early_stopping_result": " * Processed at least 64 queries (487000).  "
                    "* Would discard 4710 highest latency queries.  "
                    "* Early stopping 90.0th percentile estimate: 1236001",
                    "result_query_count": 487000,
                    "result_qps_with_loadgen_overhead": 811.67,
                    "result_qps_without_loadgen_overhead": 812.40,
                    "early_stopping_latency_ss": 1236001,
                }
            ),
            **latencies([998877, 3456789, 1203456, 1198765, 1234567, 1300123, 1456789]),
        },
        "headline": "90.00 percentile latency (ns) : 1234567",
        "when": "2025-07-14T09:12:44Z",
        "accuracy": "accuracy=76.014%, good=38007, total=50000\n",
    },
    # Offline: 2345.67 samples/s over one query of 1,407,402 samples.
    ("Acme", "acme_edge_e1", "Offline"): {
        "settings": {
            "samples_per_query": 1407402,
            "target_qps": 2345.0,
            "min_duration_ms": 600000,
            "min_query_count": 1,
            "performance_sample_count": 1024,
        },
        "figures": {
            **verdict(
                {
                    "result_query_count": 1,
                    "result_samples_per_second": 2345.67,
                }
            ),
            **latencies([812345, 600001234, 300123456, 300234567, 540123456, 570012345, 594012345]),
        },
        "generated_samples_per_query": 1407402,
        "headline": "Samples per second: 2345.67",
        "when": "2025-07-14T10:02:10Z",
        "accuracy": "accuracy=76.014%, good=38007, total=50000\n",
    },
    # Offline on 8 GPUs: 712345.6 samples/s.
    ("Bolt", "bolt_dc_8xh100", "Offline"): {
        "settings": {
            "samples_per_query": 427407360,
            "target_qps": 712000.0,
            "min_duration_ms": 600000,
            "min_query_count": 24576,
            "performance_sample_count": 1024,
        },
        "figures": {
            **verdict(
                {
                    "result_query_count": 1,
                    "result_samples_per_second": 712345.6,
                }
            ),
            **latencies([91234, 599876543, 299912345, 299987654, 539912345, 569912345, 593912345]),
        },
        "generated_samples_per_query": 427407360,
        "headline": "Samples per second: 712345.6",
        "when": "2025-07-20T22:40:00Z",
        "accuracy": "accuracy=76.078%, good=38039, total=50000\n",
    },
    # Server: 650021.3 completed samples/s at a 15 ms bound, p99 11.2 ms.
    ("Bolt", "bolt_dc_8xh100", "Server"): {
        "settings": {
            "samples_per_query": 1,
            "target_qps": 650000.0,
            "target_latency_ns": 15000000,
            "target_latency_percentile": 0.99,
            "min_duration_ms": 600000,
            "min_query_count": 100,
            "performance_sample_count": 1024,
        },
        "figures": {
            **verdict(
                {
                    "result_perf_constraints_met": True,
                    "early_stopping_result": " * Run successful.",
                    "result_query_count": 390012780,
                    "result_scheduled_samples_per_sec": 650001.2,
                    "result_completed_samples_per_sec": 650021.3,
                }
            ),
            **latencies([1012345, 45012345, 4512345, 3912345, 7812345, 9012345, 11212345]),
        },
        "headline": "Completed samples per second    : 650021.30",
        "when": "2025-07-21T03:15:00Z",
        "accuracy": "accuracy=76.078%, good=38039, total=50000\n",
    },
}

SYSTEMS = {
    ("Acme", "acme_edge_e1"): {
        "division": "closed",
        "submitter": "Acme",
        "status": "available",
        "system_name": "Acme Edge E1 (1x Xeon Gold 6448Y)",
        "system_type": "edge",
        "number_of_nodes": "1",
        "host_processor_model_name": "Intel(R) Xeon(R) Gold 6448Y",
        "host_processors_per_node": "1",
        "host_processor_core_count": "32",
        "host_memory_capacity": "256 GB",
        "host_storage_capacity": "1 TB",
        "host_storage_type": "NVMe SSD",
        "accelerators_per_node": "0",
        "accelerator_model_name": "N/A",
        "accelerator_memory_capacity": "N/A",
        "framework": "ONNX Runtime 1.20.1",
        "operating_system": "Ubuntu 22.04.4 LTS",
        "other_software_stack": "Python 3.11, GCC 11.4",
        "cooling": "air",
        "hw_notes": "",
        "sw_notes": "",
    },
    ("Bolt", "bolt_dc_8xh100"): {
        "division": "closed",
        "submitter": "Bolt",
        "status": "available",
        "system_name": "Bolt DC-8 (8x H100-SXM-80GB)",
        "system_type": "datacenter",
        "number_of_nodes": "1",
        "host_processor_model_name": "AMD EPYC 9654 96-Core Processor",
        "host_processors_per_node": "2",
        "host_processor_core_count": "96",
        "host_memory_capacity": "2 TB",
        "host_storage_capacity": "8 TB",
        "host_storage_type": "NVMe SSD",
        "accelerators_per_node": "8",
        "accelerator_model_name": "NVIDIA H100-SXM-80GB",
        "accelerator_memory_capacity": "80 GB",
        "framework": "TensorRT 10.2, CUDA 12.4",
        "operating_system": "Ubuntu 22.04.4 LTS",
        "other_software_stack": "Driver 550.54",
        "cooling": "air",
        "hw_notes": "",
        "sw_notes": "",
    },
}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    for (submitter, system), desc in SYSTEMS.items():
        write(
            ROOT / "closed" / submitter / "systems" / f"{system}.json", json.dumps(desc, indent=2)
        )
    for (submitter, system, scenario), spec in RESULTS.items():
        top = ROOT / "closed" / submitter
        folder = top / "results" / system / "resnet50" / scenario
        figures = dict(spec["figures"])
        if "generated_samples_per_query" in spec:
            # Logged before the results, as LoadGen does.
            figures = {
                "generated_samples_per_query": spec["generated_samples_per_query"],
                **figures,
            }
        perf = folder / "performance" / "run_1"
        write(
            perf / "mlperf_log_detail.txt",
            detail_log(scenario, "PerformanceOnly", figures, spec["settings"], spec["when"]),
        )
        write(
            perf / "mlperf_log_summary.txt",
            summary_log(scenario, "PerformanceOnly", figures, spec["headline"]),
        )
        acc = folder / "accuracy"
        acc_figures = {"result_validity": "VALID", "num_samples": 50000}
        write(
            acc / "mlperf_log_detail.txt",
            detail_log(scenario, "AccuracyOnly", acc_figures, spec["settings"], spec["when"]),
        )
        write(acc / "mlperf_log_summary.txt", summary_log(scenario, "AccuracyOnly", {}, ""))
        write(
            acc / "mlperf_log_accuracy.json",
            '[\n{ "seq_id" : 0, "qsl_idx" : 17, "data" : "E7030000" }\n]\n',
        )
        write(acc / "accuracy.txt", spec["accuracy"])
        measure = top / "measurements" / system / "resnet50" / scenario
        write(measure / "user.conf", f"resnet50.{scenario}.min_duration = 600000\n")
        write(measure / "README.md", f"# resnet50 {scenario} on {system}\n")
        write(
            measure / f"{system}_reference_{scenario}.json",
            json.dumps({"starting_weights_filename": "resnet50_v1.onnx"}),
        )
        audit = top / "compliance" / system / "resnet50" / scenario / "TEST01"
        write(audit / "verify_accuracy.txt", "TEST PASS\n")
        write(
            audit / "performance" / "run_1" / "mlperf_log_detail.txt",
            detail_log(scenario, "PerformanceOnly", figures, spec["settings"], spec["when"]),
        )
        write(top / "code" / "resnet50" / "README.md", "The reference implementation.\n")


if __name__ == "__main__":
    main()
