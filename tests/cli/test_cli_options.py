"""Predictor options, Server-only options, reef serve's body budget, checks that report
every problem at once, and an unusable MLflow store: the refusals, in-process (see ``cli_support``).
``tests/e2e/test_e2e_options.py`` runs the options that change a real benchmark."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import yaml
from cli_support import InProcessReef
from e2e_support import (
    DIGITS_CLASSIFIER,
    SHORT,
    assert_json_error,
    assert_usage_error,
    tiny_manifest,
)


def test_unknown_graph_optimization_level_is_refused(cli: InProcessReef) -> None:
    result = cli("bench", DIGITS_CLASSIFIER, "--graph-optimization", "max", "--json")
    assert_usage_error(result, "--graph-optimization", "max")
    assert_json_error(result, "max")
    cli.assert_nothing_written()


def test_unavailable_execution_provider_is_refused_before_measuring(cli: InProcessReef) -> None:
    result = cli("bench", DIGITS_CLASSIFIER, "--provider", "NoSuchExecutionProvider")
    assert_usage_error(result, "NoSuchExecutionProvider", "CPUExecutionProvider")
    cli.assert_nothing_written()


def test_latency_bound_is_for_server_only(cli: InProcessReef) -> None:
    result = cli("bench", DIGITS_CLASSIFIER, "--latency-bound-ms", "5")
    assert_usage_error(result, "--latency-bound-ms", "Server scenario only")
    cli.assert_nothing_written()


def test_serve_refuses_an_inflight_budget_below_the_largest_body(cli: InProcessReef) -> None:
    result = cli("serve", DIGITS_CLASSIFIER, "--max-body", "64", "--max-inflight-mb", "16")
    assert_usage_error(result, "--max-inflight-mb", "16 MiB is less than --max-body 64 MiB")
    cli.assert_nothing_written()


def test_check_reports_version_and_signature_problems_together(
    cli: InProcessReef, tiny_onnx: Path
) -> None:
    manifest = tiny_manifest(tiny_onnx)
    manifest["framework"]["version"] = "<1.0"
    manifest["inputs"][0]["shape"] = [-1, 4, 8, 8]
    path = tiny_onnx.parent / "reef.yaml"
    path.write_text(yaml.safe_dump(manifest))

    result = cli("check", str(tiny_onnx.parent), "--json")
    assert_usage_error(result, "framework.version", "inputs[0].shape")
    data = assert_json_error(result)
    assert {p["location"] for p in data["problems"]} >= {"framework.version", "inputs[0].shape"}


def test_a_corrupt_dataset_file_is_bad_input(cli: InProcessReef, tmp_path: Path) -> None:
    from reef.components.repository import builtin_root

    for name in ("digits-classifier", "digits"):
        shutil.copytree(builtin_root() / name, tmp_path / name)
    data = tmp_path / "digits" / "digits.npz"
    data.write_bytes(b"not a zip file")
    meta = yaml.safe_load((tmp_path / "digits" / "reef.yaml").read_text())
    meta["sources"][0]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (tmp_path / "digits" / "reef.yaml").write_text(yaml.safe_dump(meta))
    model = yaml.safe_load((tmp_path / "digits-classifier" / "reef.yaml").read_text())
    model["dataset"] = "../digits"
    (tmp_path / "digits-classifier" / "reef.yaml").write_text(yaml.safe_dump(model))

    result = cli("bench", str(tmp_path / "digits-classifier"), *SHORT)
    assert_usage_error(result, "digits.npz", "not a readable npz archive")
    cli.assert_nothing_written()


def test_an_unusable_mlflow_store_is_refused_before_anything_runs(
    cli: InProcessReef, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli("bench", "digits-classifier", *SHORT, "--mlflow", f"sqlite:///{blocker}/m.db")
    assert_usage_error(result, str(blocker))
    cli.assert_nothing_written()
