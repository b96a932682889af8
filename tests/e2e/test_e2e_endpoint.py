"""Certify what is served: ``reef serve digits-cnn`` in a process of its own on a free port of
127.0.0.1, and ``reef bench http://127.0.0.1:PORT/v2/models/digits-cnn`` measuring it over
HTTP with LoadGen. The records say it was a remote endpoint, with the served file's sha256
and the model's own dataset (accuracy); ``reef compare`` lays them beside an in-process run
of digits-cnn; ``reef runs show`` names the server. Its ``digits-cnn-pipeline`` (BYTES
outputs) is measured too. An unknown model or an unreachable server, or ``--like`` on a
pipeline, is exit 2 with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import SHORT, Reef, free_port, reef_serve

from reef import __version__

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

MODEL = "digits-cnn"
DIGITS_CNN_SHA = "d8b9b6ce8caf426d0fdf7af134ec915ebae7f96a238bab291ea5ac58fd97bac9"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The model's URL on a running ``reef serve``."""
    home = tmp_path_factory.mktemp("served-home")
    with reef_serve(home, MODEL) as url:
        yield f"{url}/v2/models/{MODEL}"


@pytest.mark.slow
def test_bench_measures_the_served_model_and_compare_lays_it_beside_in_process(
    reef: Reef, served: str
) -> None:
    result = reef.ok("bench", served, "-s", "SingleStream", "-s", "Offline", *SHORT, "--json")
    remote = result.json()
    assert [r["settings"]["scenario"] for r in remote] == ["SingleStream", "Offline"]
    for record in remote:
        assert record["status"] in ("valid", "invalid"), record["reasons"]
        target = record["target"]
        assert (target["kind"], target["name"], target["path"]) == ("endpoint", MODEL, served)
        assert target["sha256"] == DIGITS_CNN_SHA  # the served file's, as reef serve says
        endpoint = target["endpoint"]
        assert endpoint["server_name"] == "reef" and "binary_tensor_data" in endpoint["extensions"]
        assert endpoint["local_model"] == "digits-cnn@1.0.0"
        assert record["predictor"]["name"] == "oip"
        latency = record["performance"]["latency_ms"]
        assert 0 < latency["min"] <= latency["p50"] <= latency["max"]
        assert record["performance"]["throughput_qps"] > 0
        # The dataset is the model's own: the served model is as accurate as in process.
        accuracy = record["accuracy"]
        assert accuracy["metric"] == "top1" and accuracy["passed"] is True
        assert record["samples"]["synthetic"] is False

    local = reef.ok("bench", MODEL, "-s", "SingleStream", *SHORT, "--json").json()
    assert local[0]["target"]["sha256"] == DIGITS_CNN_SHA

    data = reef.ok("compare", local[0]["id"], remote[0]["id"], "--json").json()
    rows = {row["name"]: row for row in data["settings"]}
    assert rows["model"]["values"] == ["digits-cnn@1.0.0", "digits-cnn@1.0.0"]
    assert not rows["model sha256"]["differs"]
    assert rows["runs in"]["values"] == ["this process", f"endpoint {served} (reef {__version__})"]
    warnings = " ".join(data["warnings"])
    assert "runs differ in where the model ran (A in process, B endpoint)" in warnings
    assert "model file" not in warnings and "different models" not in warnings
    table = reef.ok("compare", local[0]["id"], remote[0]["id"]).stdout
    assert "runs in" in table and served[:30] in table

    shown = reef.ok("runs", "show", remote[0]["id"]).stdout
    assert f"target     endpoint {MODEL}@1.0.0  ({served})" in shown
    assert f"served by  reef {__version__} (remote: the latencies include HTTP)" in shown
    listed = reef.ok("runs", "list").stdout
    assert "oip" in listed and "onnxruntime" in listed


def test_a_pipeline_with_bytes_outputs_is_measured(reef: Reef, served: str) -> None:
    """digits-cnn-pipeline answers top-5 indices, scores and BYTES labels: measured with
    synthetic rows. TEST01 logs its answers (labels as bytes) in accuracy and performance mode
    and finds them equal, byte for byte."""
    import json

    import numpy as np

    from reef.bench.sut import decode_outputs

    pipeline = served + "-pipeline"
    result = reef("bench", pipeline, "-s", "Offline", *SHORT, "--audit", "TEST01", "--json")
    assert result.rc in (0, 1), str(result)  # 1: the audit's performance check, on a busy box
    [record] = result.json()
    assert record["target"]["name"] == "digits-cnn-pipeline"
    assert record["performance"]["throughput_qps"] > 0
    assert record["samples"]["synthetic"] is True
    checks = {c["name"]: c for c in record["audits"][0]["checks"]}
    assert checks["accuracy"]["passed"], checks
    assert all(r.startswith("audit TEST01 failed its performance") for r in record["reasons"])
    log = Path(record["artifacts"]["loadgen_accuracy"]) / "mlperf_log_accuracy.json"
    first = json.loads(log.read_text())[0]
    indices, scores, labels = decode_outputs(bytes.fromhex(first["data"]))
    assert indices.shape == scores.shape == labels.shape == (5,)
    assert labels.dtype.kind == "S" and all(label.isdigit() for label in labels)
    assert np.all(np.diff(scores) <= 0)  # best first


def test_like_on_a_pipeline_is_refused_naming_why(reef: Reef, served: str) -> None:
    result = reef("bench", served + "-pipeline", "--like", MODEL, *SHORT)
    assert result.rc == 2, str(result)
    assert result.says("is a Reef pipeline, which applies its model's input steps",
                       "bench the model it wraps")  # fmt: skip
    reef.assert_nothing_written()


def test_an_unknown_served_model_is_exit_2_and_nothing_is_written(reef: Reef, served: str) -> None:
    unknown = served.replace(MODEL, "nope")
    result = reef("bench", unknown, *SHORT)
    assert result.rc == 2, str(result)
    assert result.says(f"{unknown}: the server has no model 'nope'")
    reef.assert_nothing_written()


def test_an_unreachable_server_is_exit_2_and_nothing_is_written(reef: Reef) -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/models/{MODEL}"
    result = reef("bench", url, *SHORT)
    assert result.rc == 2, str(result)
    assert result.says("cannot reach http://127.0.0.1:", "connection refused")
    reef.assert_nothing_written()
    bad = reef("bench", "http://127.0.0.1:1/v2/health/ready", *SHORT)
    assert bad.rc == 2 and bad.says("not the address of a model"), str(bad)
    assert not Path(reef.home / "runs").exists()
