"""Predictor options, Server-only options, and checks that report every problem at once."""

from __future__ import annotations

from pathlib import Path

import yaml
from e2e_support import (
    DIGITS_CLASSIFIER,
    SHORT,
    Reef,
    assert_json_error,
    assert_usage_error,
    tiny_manifest,
)


def test_graph_optimization_level_is_used_and_recorded(reef: Reef) -> None:
    result = reef(
        "bench",
        DIGITS_CLASSIFIER,
        *SHORT,
        "--mode",
        "performance",
        "--graph-optimization",
        "basic",
        "--json",
    )
    assert result.rc == 0, str(result)
    [record] = result.json()
    assert record["predictor"]["options"]["graph_optimization"] == "basic"
    assert record["predictor"]["providers"] == ["CPUExecutionProvider"]


def test_unknown_graph_optimization_level_is_refused(reef: Reef) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, "--graph-optimization", "max", "--json")
    assert_usage_error(result, "--graph-optimization", "max")
    assert_json_error(result, "max")
    reef.assert_nothing_written()


def test_unavailable_execution_provider_is_refused_before_measuring(reef: Reef) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, "--provider", "NoSuchExecutionProvider")
    assert_usage_error(result, "NoSuchExecutionProvider", "CPUExecutionProvider")
    reef.assert_nothing_written()


def test_latency_bound_is_for_server_only(reef: Reef) -> None:
    result = reef("bench", DIGITS_CLASSIFIER, "--latency-bound-ms", "5")
    assert_usage_error(result, "--latency-bound-ms", "Server scenario only")
    reef.assert_nothing_written()


def test_negative_runs_limit_is_a_usage_error(reef: Reef) -> None:
    result = reef("runs", "list", "--limit", "-1")
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr


def test_check_reports_version_and_signature_problems_together(
    reef: Reef, tiny_onnx: Path, tmp_path: Path
) -> None:
    manifest = tiny_manifest(tiny_onnx)
    manifest["framework"]["version"] = "<1.0"
    manifest["inputs"][0]["shape"] = [-1, 4, 8, 8]
    path = tiny_onnx.parent / "reef.yaml"
    path.write_text(yaml.safe_dump(manifest))

    result = reef("check", str(tiny_onnx.parent), "--json")
    assert_usage_error(result, "framework.version", "inputs[0].shape")
    data = assert_json_error(result)
    assert {p["location"] for p in data["problems"]} >= {"framework.version", "inputs[0].shape"}


def test_a_corrupt_dataset_file_is_bad_input(reef: Reef, tmp_path: Path) -> None:
    import shutil

    from reef.components.repository import builtin_root

    for name in ("digits-classifier", "digits"):
        shutil.copytree(builtin_root() / name, tmp_path / name)
    data = tmp_path / "digits" / "digits.npz"
    data.write_bytes(b"not a zip file")
    meta = yaml.safe_load((tmp_path / "digits" / "reef.yaml").read_text())
    import hashlib

    meta["sources"][0]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (tmp_path / "digits" / "reef.yaml").write_text(yaml.safe_dump(meta))
    model = yaml.safe_load((tmp_path / "digits-classifier" / "reef.yaml").read_text())
    model["dataset"] = "../digits"
    (tmp_path / "digits-classifier" / "reef.yaml").write_text(yaml.safe_dump(model))

    result = reef("bench", str(tmp_path / "digits-classifier"), *SHORT)
    assert_usage_error(result, "digits.npz", "not a readable npz archive")
    reef.assert_nothing_written()


def test_reef_db_url_points_the_store_elsewhere(reef: Reef, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "runs.db"
    env = {"REEF_DB_URL": f"sqlite:///{db}"}
    result = reef("bench", DIGITS_CLASSIFIER, *SHORT, "--mode", "performance", "--json", env=env)
    assert result.rc == 0, str(result)
    [record] = result.json()
    assert db.is_file()
    assert not (reef.home / "reef.db").exists()
    listed = reef("runs", "list", "--json", env=env).json()
    assert [r["id"] for r in listed] == [record["id"]]
    # LoadGen's logs still live under REEF_HOME
    assert (reef.home / "runs" / record["id"] / "performance" / "mlperf_log_detail.txt").is_file()
