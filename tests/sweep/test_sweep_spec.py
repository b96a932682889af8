"""A sweep's spec and cells (reef.sweep.spec) and its state (reef.sweep.state): the Cartesian
product, each cell's resources and key, and every bad spec refused naming its field, with
nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reef import api
from reef.sweep.spec import SweepSpecError, cells, hardware_resource, parse_spec
from reef.sweep.state import SweepNotFound


def spec_file(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_the_product_and_each_cells_resources() -> None:
    spec = parse_spec(
        {
            "targets": ["a", "b"],
            "backends": ["onnxruntime", "openvino"],
            "scenarios": ["singlestream", "Offline"],
            "settings": {"threads": [1, 2], "duration_s": 2, "graph_optimization": ["basic"]},
            "hardware": ["Intel Xeon @ 3.00GHz"],
        }
    )
    found = cells(spec)
    assert len(found) == 2 * 2 * 2 * 2
    assert len({c.key for c in found}) == len(found)
    first = found[0]
    assert first.scenario == "SingleStream"  # any spelling reef bench takes, named as LoadGen does
    assert first.settings == {"threads": 1, "duration_s": 2, "graph_optimization": "basic"}
    assert first.resources == {
        "bench": 1.0,
        "hardware=Intel_Xeon_3.00GHz": 1.0,
        "backend=onnxruntime": 1.0,
    }
    # The same spec, the same keys: what a resumed sweep finds its cells by.
    assert [c.key for c in cells(spec)] == [c.key for c in found]
    assert hardware_resource(" AMD EPYC 7763 64-Core + 2x NVIDIA A100 ") == (
        "hardware=AMD_EPYC_7763_64-Core_2x_NVIDIA_A100"
    )


def test_defaults_are_one_cell_on_any_agent() -> None:
    (cell,) = cells(parse_spec({"targets": ["digits-classifier"]}))
    assert (cell.backend, cell.scenario, cell.settings, cell.hardware) == (
        None,
        "SingleStream",
        {},
        None,
    )
    assert cell.resources == {"bench": 1.0}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"targets": ["a"], "colour": "blue"}, "spec.yaml: colour: unknown field"),
        ({"targets": []}, "targets: empty, so the sweep has no cell"),
        ({"targets": ["a"], "scenarios": []}, "scenarios: empty, so the sweep has no cell"),
        ({"targets": ["a"], "settings": {"threads": []}}, "settings.threads: empty"),
        ({"targets": ["a"], "settings": {"threads": ["two"]}}, "settings.threads:"),
        ({"targets": ["a"], "settings": {"duration_s": -1}}, "settings.duration_s:"),
        ({"targets": ["a"], "settings": {"colour": [1]}}, "settings.colour: not a setting"),
        (
            {"targets": ["a"], "settings": {"graph_optimization": ["fast"]}},
            "settings.graph_optimization: 'fast' is not one of none, basic, extended, all",
        ),
        ({"targets": ["a"], "scenarios": ["Batch"]}, "scenarios[0]: unknown scenario 'Batch'"),
        ({"targets": "a"}, "targets: Input should be a valid list"),
        ("- just\n- a list\n", "a sweep spec is a mapping"),
        ("targets: [a\n", "not YAML"),
    ],
)
def test_a_bad_spec_names_its_field_and_writes_nothing(
    tmp_path: Path, reef_home: Path, data: Any, says: str
) -> None:
    with pytest.raises(SweepSpecError) as caught:
        api.sweep_start(spec_file(tmp_path, data))
    assert says in caught.value.message
    assert caught.value.exit_code == 2
    assert not (reef_home / "sweeps").exists()


def test_a_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SweepSpecError, match="file not found"):
        api.sweep_start(tmp_path / "nope.yaml")


def test_state_is_saved_and_resumed(tmp_path: Path, reef_home: Path) -> None:
    path = spec_file(tmp_path, {"targets": ["a"], "settings": {"threads": [1, 2]}})
    state = api.sweep_start(path)
    assert (reef_home / "sweeps" / f"{state.id}.json").is_file()
    first, _ = state.cells
    api.sweep_cell_failed(state, first, "no agent offers hardware=x")
    assert api.sweep_status(state.id).cells[first].status == "failed"
    # Resuming sets every cell that is not done pending again, and keeps the id.
    resumed = api.sweep_start(resume=state.id)
    assert resumed.id == state.id
    assert {c.status for c in resumed.cells.values()} == {"pending"}
    api.sweep_cancel(state.id)
    assert api.sweep_status(state.id).cancel_requested
    assert [s.id for s in api.sweep_list()] == [state.id]
    with pytest.raises(SweepNotFound, match="not a sweep id"):
        api.sweep_status("../../etc/passwd")
    with pytest.raises(SweepNotFound, match="no sweep has id sw-000000000000"):
        api.sweep_status("sw-000000000000")


def test_each_outcome_is_journaled_and_a_torn_line_left_out(
    tmp_path: Path, reef_home: Path
) -> None:
    """A cell's outcome is one line appended (not the whole state rewritten); reading the
    sweep replays the lines, a torn last one (a kill mid-write) left out; saving folds them."""
    path = spec_file(tmp_path, {"targets": ["a"], "settings": {"threads": [1, 2, 3]}})
    state = api.sweep_start(path)
    first, second, third = state.cells
    api.sweep_cell_failed(state, first, "no agent offers x")
    api.sweep_cell_done(state, second, {"agent": "box", "bundles": []})
    journal = reef_home / "sweeps" / f"{state.id}.cells.jsonl"
    assert len(journal.read_text().splitlines()) == 2
    with journal.open("a") as f:
        f.write('{"key": "' + third + '", "state": {"status": "do')
    read = api.sweep_status(state.id)
    assert [c.status for c in read.cells.values()] == ["failed", "done", "pending"]
    assert read.cells[second].agent == "box"
    api.sweep_save(read)
    assert not journal.exists()
    assert [c.status for c in api.sweep_status(state.id).cells.values()] == [
        "failed",
        "done",
        "pending",
    ]
