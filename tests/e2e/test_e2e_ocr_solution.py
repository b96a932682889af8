"""The PP-OCR solution through the real CLI: `reef init` provisions rapidocr-onnxruntime from
the solution's python requirements (from PyPI), then `reef run` measures both models inside
that environment, from files inside the installed wheel, and its checks pass."""

from __future__ import annotations

import pytest
from e2e_support import Reef

BUILD_TIMEOUT_S = 900


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 300)
def test_init_then_run_measures_the_models_the_wheel_carries(reef: Reef) -> None:
    init = reef("init", "ppocr-text-lines", "--json", timeout=BUILD_TIMEOUT_S)
    if init.rc != 0 and "network" in init.stderr.lower():
        pytest.skip(f"PyPI is not reachable: {init.stderr[-300:]}")
    assert init.rc == 0, str(init)
    env = init.json()["environment"]
    assert "rapidocr-onnxruntime" in env["packages"]

    run = reef("run", "ppocr-text-lines", "--json", timeout=BUILD_TIMEOUT_S)
    assert run.rc == 0, str(run)
    record = run.json()
    assert {s["name"]: s["status"] for s in record["steps"]} == {
        "fetch": "ok",
        "provision": "ok",
        "bench": "ok",
        "validate": "ok",
    }
    runs = {r["target"]["name"]: r for r in reef.runs()}
    assert set(runs) == {"ppocr-cls", "ppocr-rec"}
    for name, metric in (("ppocr-cls", "top1"), ("ppocr-rec", "cer")):
        measured = runs[name]
        assert measured["environment"]["provisioned"]["hash"] == env["hash"]
        assert measured["accuracy"]["metric"] == metric and measured["accuracy"]["passed"]
    # The recogniser's scores are logged as their argmax: the accuracy log stays small.
    logs = sum(p.stat().st_size for p in (reef.home / "runs").rglob("*") if p.is_file())
    assert logs < 20_000_000

    # The runs keep their lock with the environment's pins: reproducing one rebuilds it.
    import shutil

    shutil.rmtree(reef.home / "cache" / "envs")
    again = reef("reproduce", runs["ppocr-cls"]["id"], "--json", timeout=BUILD_TIMEOUT_S)
    # The latency verdict depends on the machine: reproduced (0), differs (1), or, on a busy
    # one, inconclusive (4). What this test checks is the rebuilt environment and components.
    assert again.rc in (0, 1, 4), str(again)
    report = again.json()
    assert report["environment_rebuilt"]["hash"] == env["hash"]
    assert report["environment_rebuilt"]["status"] == "created"
    assert all(c["identical"] for c in report["components"])
    assert report["accuracy"]["equal"]
