"""reef reproduce through the real CLI: a run of a component is run again from its record and
lock and judged; a run that kept no lock, and one whose components are gone, are exit 2 with
nothing measured. An unknown run is checked in-process in ``tests/cli/test_cli_solutions.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from e2e_support import SHORT, Benched, Reef, assert_usage_error

import reef as reef_package

BUILTIN = Path(reef_package.__file__).parent / "builtin"


def test_a_component_run_is_reproduced_and_judged(reef: Reef, benched: Benched) -> None:
    # The shared benchmark's home, copied: its SingleStream run of the built-in classifier kept
    # its lock and raw latencies, as `reef bench digits-classifier --raw-latencies` does.
    shutil.copytree(benched.reef.home, reef.home)
    copied = reef.runs()
    [single] = [r["id"] for r in benched.records if r["settings"]["scenario"] == "SingleStream"]
    (original,) = [r for r in copied if r["id"] == single]
    result = reef("reproduce", original["id"][:10], "--repeat", "3", "--json")
    # The verdict on latency depends on how quiet the machine is; the rest does not.
    assert result.rc in (0, 1, 4), str(result)
    data = result.json()
    assert data["original"] == original["id"]
    assert data["verdict"] == {0: "reproduced", 1: "differs", 4: "inconclusive"}[result.rc]
    if data["verdict"] == "inconclusive":
        assert data["causes"] and data["advice"]
    assert all(c["identical"] for c in data["components"])
    assert {c["name"] for c in data["components"]} >= {"digits@1.0.0", "digits-classifier@1.0.0"}
    assert data["accuracy"]["equal"] and data["accuracy"]["metric"] == "top1"
    latency = data["latency"]
    assert latency["unit"] == "process" and latency["processes_b"] == 3
    assert (
        latency["processes_a"] == 1 and latency["ci_low"] <= latency["ratio"] <= latency["ci_high"]
    )
    assert data["environment_rebuilt"] is None  # the run was made on the host
    runs = {r["id"]: r for r in reef.runs()}
    assert set(runs) == {r["id"] for r in copied} | {data["reproduction"]}  # one run more
    again = runs[data["reproduction"]]
    assert again["reproduces"] == original["id"]
    assert again["settings"] == original["settings"] | {"repeat": 3}
    assert [p["index"] for p in again["processes"]] == [1, 2, 3]
    human = reef("reproduce", original["id"], "--repeat", "2")
    assert "components: 3 of 3 identical" in human.stdout, str(human)
    assert "verdict:" in human.stdout


def test_a_run_without_a_lock_cannot_be_reproduced(reef: Reef, tiny_onnx: Path) -> None:
    reef.ok("bench", str(tiny_onnx), *SHORT)
    (run,) = reef.runs()
    result = reef("reproduce", run["id"])
    assert_usage_error(result, "kept no lock", str(tiny_onnx))
    assert len(reef.runs()) == 1


def test_a_run_whose_components_are_gone_says_which_and_where(reef: Reef, tmp_path: Path) -> None:
    repo = tmp_path / "lab"
    for name in ("digits", "digits-classifier"):
        shutil.copytree(BUILTIN / name, repo / name)
    manifest = repo / "digits-classifier" / "reef.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.5.0"))
    reef.ok("repo", "add", str(repo), "--name", "lab")
    reef.ok("bench", "digits-classifier", *SHORT)
    (run,) = reef.runs()
    assert run["target"]["version"] == "1.5.0"
    reef.ok("repo", "remove", "lab")
    result = reef("reproduce", run["id"])
    assert_usage_error(result, "digits-classifier@1.5.0", "lab", "is in no repository")
    assert len(reef.runs()) == 1


def test_a_run_is_reproduced_with_its_backend_options(reef: Reef) -> None:
    # The recorded graph optimisation level and ONNX Runtime session options are run again,
    # not the defaults.
    reef.ok(
        "bench", "digits-classifier", *SHORT, "--mode", "performance",
        "--graph-optimization", "basic", "--session-config",
        "session.intra_op.allow_spinning=0", "--execution-mode", "sequential",
    )  # fmt: skip
    (original,) = reef.runs()
    result = reef("reproduce", original["id"], "--in-process", "--json")
    assert result.rc in (0, 1, 4), str(result)
    again = next(r for r in reef.runs() if r["id"] == result.json()["reproduction"])
    assert again["predictor"]["name"] == "onnxruntime"
    options = again["predictor"]["options"]
    assert options["graph_optimization"] == "basic"
    assert options["session_config"] == {"session.intra_op.allow_spinning": "0"}
    assert options["execution_mode"] == "sequential"
    assert again["predictor"]["providers"] == original["predictor"]["providers"]


def test_a_run_is_reproduced_with_the_user_conf_it_kept(reef: Reef, tmp_path: Path) -> None:
    # The user.conf a run read is kept in its folder; the file at the path it was given may
    # have changed or be gone, and the reproduction reads the kept text.
    user = tmp_path / "user.conf"
    user.write_text("digits-classifier.SingleStream.target_latency_percentile = 99\n")
    reef.ok("bench", "digits-classifier", *SHORT, "--mode", "performance", "--user-conf", str(user))
    (original,) = reef.runs()
    kept = original["artifacts"]["user_conf"]
    assert Path(kept).read_text() == user.read_text()
    user.unlink()
    result = reef("reproduce", original["id"], "--in-process", "--json")
    assert result.rc in (0, 1, 4), str(result)
    assert f"--user-conf: the copy the run kept, {kept}" in result.stderr
    again = next(r for r in reef.runs() if r["id"] == result.json()["reproduction"])
    assert again["settings"]["user_conf"] == kept
    setting = again["loadgen"]["config"]["target_latency_percentile"]
    assert setting == {"value": 99.0, "source": kept}
