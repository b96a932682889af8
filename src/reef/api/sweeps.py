"""Sweeps: the verbs behind ``reef sweep``, and what a cluster agent runs for a cell.

``sweep_start`` reads a spec (``reef.sweep.spec``), checks every cell and makes (or, with
``resume``, reads back) the sweep's state (``reef.sweep.state``). The cluster face
(``reef.cluster``) runs each pending cell on an agent with ``sweep_cell_run``, which
benchmarks the cell there and returns its runs as bundles (``reef.bench.bundle``): the record
with LoadGen's logs, so a run made on another machine arrives whole. ``sweep_cell_done``
takes them in on this machine: every bundle checked as a server checks one, each new run
stored in the results database with its logs under ``REEF_HOME/runs/<id>/``, and the cell
marked done; a cell done already (a result that came twice, its agent lost after it
answered) is left as it was, so no run is recorded twice.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.errors import RunConflict

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.sweep.spec import Cell
    from reef.sweep.state import SweepState
    from reef.tune.trials import TrialRequest, TrialRunner


def sweep_start(spec: str | Path | None = None, *, resume: str | None = None) -> SweepState:
    """A new sweep of the spec file ``spec`` (every cell checked first: a bad spec raises
    ``SweepSpecError`` and writes nothing), or the sweep ``resume`` with its cells that are not
    done set pending again. Saved before it returns."""
    from reef.sweep import state as states
    from reef.sweep.spec import SweepSpecError, cells, load_spec

    if resume is not None:
        found = states.load(resume)
        for cell_state in found.cells.values():
            if cell_state.status != "done":
                cell_state.status, cell_state.error = "pending", None
        found.cancel_requested = False
        found.finished_at = None
        states.clear_cancel(found.id)
        states.save(found)
        return found
    if spec is None:
        raise SweepSpecError("give a spec file, or --resume ID")
    path = Path(spec)
    loaded = load_spec(path)
    made = states.new_state(loaded, cells(loaded, str(path)), str(path))
    states.save(made)
    return made


def sweep_start_spec(data: dict[str, Any], *, source: str = "spec") -> SweepState:
    """A new sweep of a spec given as data (what a YAML spec holds; the dashboard's form
    makes one), checked as ``sweep_start`` checks a file's. Saved before it returns."""
    from reef.sweep import state as states
    from reef.sweep.spec import cells, parse_spec

    loaded = parse_spec(data, source)
    made = states.new_state(loaded, cells(loaded, source), source)
    states.save(made)
    return made


def sweep_status(sweep_id: str) -> SweepState:
    """The sweep with this id, as its state file says."""
    from reef.sweep import state as states

    return states.load(sweep_id)


def sweep_list() -> list[SweepState]:
    """Every sweep of this REEF_HOME, newest first."""
    from reef.sweep import state as states

    return states.all_states()


def sweep_cancel(sweep_id: str) -> SweepState:
    """Ask the process running the sweep to stop: its pending cells are cancelled (a sweep
    no process runs is marked so, and its pending cells cancelled, at once)."""
    from reef.sweep import state as states

    return states.request_cancel(sweep_id)


def sweep_save(state: SweepState) -> None:
    """Write the sweep's whole state, keeping a cancel ``reef sweep cancel`` asked for."""
    from reef.sweep import state as states

    state.cancel_requested = state.cancel_requested or states.cancel_requested(state.id)
    states.save(state)


def sweep_cancel_requested(state: SweepState) -> bool:
    """Whether ``reef sweep cancel`` asked for the sweep to stop."""
    from reef.sweep import state as states

    return state.cancel_requested or states.cancel_requested(state.id)


def sweep_cell_run(cell: dict[str, Any]) -> dict[str, Any]:
    """Benchmark one cell on this machine (what a cluster agent runs): ``{"agent": host,
    "bundles": [bundle, ...]}``, one bundle a run. The runs are not stored here: they are the
    sweep's, stored where it runs."""
    from reef.api.runs import bench
    from reef.bench.bundle import build_bundle
    from reef.bench.job import PredictorSettings
    from reef.sweep.spec import PREDICTOR_SETTINGS, Cell

    chosen = Cell.model_validate(cell)
    options = {k: v for k, v in chosen.settings.items() if k not in PREDICTOR_SETTINGS}
    predictor_options = {k: v for k, v in chosen.settings.items() if k in PREDICTOR_SETTINGS}
    records = bench(
        chosen.target,
        scenarios=[chosen.scenario],
        backends=[chosen.backend] if chosen.backend else None,
        predictor=PredictorSettings(**predictor_options) if predictor_options else None,
        store=False,
        **options,
    )
    bundles = [build_bundle(r).model_dump(mode="json") for r in records]
    return {"agent": platform.node(), "bundles": bundles}


# What takes a cell's runs in: bundles in, each run's id and whether it was stored now.
Receiver = Callable[[list[dict[str, Any]]], list[tuple[str, bool]]]


def sweep_cell_done(
    state: SweepState, key: str, result: dict[str, Any], *, receive: Receiver | None = None
) -> list[str]:
    """Take in what an agent returned for the cell ``key``: its runs stored (by ``receive``;
    by default ``runs_receive``, into this machine's results database), the cell marked done
    with them, its outcome journaled. The ids of the runs stored now: none for a cell done
    already."""
    cell_state = state.cells[key]
    if cell_state.status == "done":
        return []
    bundles = result.get("bundles") if isinstance(result, dict) else None
    if not isinstance(bundles, list):
        raise RunConflict(f"cell {key}: the agent's answer holds no runs")
    stored = (receive or runs_receive)(bundles)
    cell_state.status = "done"
    cell_state.run_ids = [run_id for run_id, _ in stored]
    cell_state.agent = str(result.get("agent") or "") or None
    cell_state.error = None
    from reef.sweep import state as states

    states.record(state, key)
    return [run_id for run_id, created in stored if created]


def sweep_cell_failed(state: SweepState, key: str, why: str, *, cancelled: bool = False) -> None:
    """Mark the cell ``key`` failed (or cancelled) saying ``why``, unless it is done; saved."""
    cell_state = state.cells[key]
    if cell_state.status == "done":
        return
    cell_state.status = "cancelled" if cancelled else "failed"
    cell_state.error = why
    from reef.sweep import state as states

    states.record(state, key)


def runs_receive(bundles: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Store runs that arrive as bundles (from an agent): each checked as a server checks
    one (``verify_bundle``: its logs' sha256 and its figures against them); a run stored
    already is left as it is. A run's logs go to ``REEF_HOME/runs/<id>/`` unless that folder
    exists (an agent on this machine wrote them there). Each run's id, and whether it was
    stored now."""
    from reef import config
    from reef.api.submissions import _remove_tree, _stage
    from reef.bench.bundle import verify_bundle
    from reef.bench.session import open_store

    runs = [verify_bundle(bundle) for bundle in bundles]
    out: list[tuple[str, bool]] = []
    with open_store() as db:
        assert db is not None
        present = db.stored(run.record.id for run in runs)
        for run in runs:
            run_id = run.record.id
            if run_id in present:
                out.append((run_id, False))
                continue
            folder = config.runs_dir() / run_id
            if not folder.exists():
                # As a server keeps a submitted run: its logs, record.json and bundle.json
                # (what arrived, when), written aside and renamed into place.
                folder.parent.mkdir(parents=True, exist_ok=True)
                staged = _stage(folder.parent, run, None)
                try:
                    staged.rename(folder)
                except OSError:
                    _remove_tree(staged)
                    raise
            db.add(run.record)
            present.add(run_id)
            out.append((run_id, True))
    return out


def sweep_cells_pending(state: SweepState) -> list[Cell]:
    """The cells still to run, in the spec's order."""
    return [c.cell for c in state.cells.values() if c.status == "pending"]


def agent_profile(*, components: bool = False) -> dict[str, Any]:
    """What a cluster agent on this machine advertises: its hardware label, GPUs, installed
    backends, and the Dask worker resources they make (``bench`` 1: one measurement at a
    time; ``hardware=<label>``, ``backend=<name>`` and ``gpu`` where there are GPUs)."""
    import copy

    from reef.bench.fingerprint import run_fingerprint
    from reef.predictors.registry import available
    from reef.results.query import run_hardware
    from reef.sweep.spec import BACKEND_PREFIX, BENCH_RESOURCE, hardware_resource

    fingerprint = copy.deepcopy(run_fingerprint(components=components))
    label = run_hardware(fingerprint)
    gpu = (fingerprint.get("hardware") or {}).get("gpu") or {}
    devices = gpu.get("devices") if isinstance(gpu, dict) else None
    gpus = len(devices) if isinstance(devices, list) else 0
    backends = sorted(available())
    resources: dict[str, float] = {BENCH_RESOURCE: 1.0, hardware_resource(label): 1.0}
    resources.update({BACKEND_PREFIX + name: 1.0 for name in backends})
    if gpus:
        resources["gpu"] = float(gpus)
    return {
        "hardware": label,
        "gpus": gpus,
        "backends": backends,
        "resources": resources,
        "host": platform.node(),
        "python": platform.python_version(),
    }


def evaluation_choices(*, registry_root: Path | None = None) -> dict[str, list[str]]:
    """What the dashboard's evaluation form offers: the models this server's machine knows
    (its repositories, the built-in one included, and the models published to its registry)
    and the four scenarios."""
    from reef.api.components import search
    from reef.api.registry import registry_search
    from reef.meta import choices

    models = {hit.name for hit in search(None, kind="model")}
    models |= {entry.name for entry in registry_search(kind="model", root=registry_root)}
    return {"models": sorted(models), "scenarios": list(choices.SCENARIO.values)}


# --- tuning trials on a cluster ----------------------------------------------------------------


def trial_cell_run(request: dict[str, Any]) -> dict[str, Any]:
    """Measure one tuning trial on this machine (what a cluster agent runs for ``reef tune
    --scheduler``): the request as ``trial_request_json`` makes it; ``{"agent": host,
    "bundles": [...]}`` as ``sweep_cell_run`` answers, the runs tagged as the trial asks."""
    from reef.api.runs import bench
    from reef.bench.bundle import build_bundle
    from reef.bench.job import PredictorSettings
    from reef.meta.settings import BenchSettings
    from reef.tune.trials import tag_records

    settings = BenchSettings.model_validate(request["settings"])
    predictor = PredictorSettings.model_validate(request["predictor"])
    records = bench(request["target"], settings, predictor=predictor, store=False)
    annotate = tag_records(tuple(request.get("tags") or ()))
    for record in records:
        annotate(record)
    bundles = [build_bundle(r).model_dump(mode="json") for r in records]
    return {"agent": platform.node(), "bundles": bundles}


def cluster_trial_runner(send: Callable[[dict[str, Any]], dict[str, Any]]) -> TrialRunner:
    """A trial runner for ``tune_study`` whose trials an agent measures: ``send`` runs
    ``trial_cell_run`` on one with a request and returns its answer (the cluster face makes
    it); the runs come back as bundles, checked and stored here as a sweep's are."""
    from reef.bench.bundle import verify_bundle

    def run(request: TrialRequest) -> list[RunRecord]:
        payload = {
            "target": request.target,
            "settings": request.settings.model_dump(mode="json"),
            "predictor": request.predictor.model_dump(mode="json"),
            "tags": list(request.tags),
        }
        answer = send(payload)
        bundles = answer.get("bundles") if isinstance(answer, dict) else None
        if not isinstance(bundles, list):
            raise RunConflict("the agent's answer holds no runs")
        runs_receive(bundles)
        return [verify_bundle(b).record for b in bundles]

    return run
