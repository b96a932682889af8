"""Push-button evaluation from the dashboard (``reef server --scheduler``), against a real
Dask ``LocalCluster`` with one Reef agent: the form offers the models, the agents' hardware
and backends; starting needs a submit token (a read token is refused, and so is a form from
another site); a bad pick is refused naming the field; a started sweep's cells show their
progress and its runs land on the server as submissions of the token that started it, in
the audit log too. A server without a scheduler says it starts none."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from distributed import LocalCluster
from server_support import bearer

from reef import api
from reef.cluster.connect import start_local

pytestmark = pytest.mark.slow  # a cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    started = start_local(1)
    yield started
    started.close()


@pytest.fixture
def client(make_client: Any, cluster: LocalCluster, tmp_path: Path) -> Any:
    return make_client(scheduler=cluster.scheduler_address, files_root=tmp_path / "files")


def form(model: str = "digits-classifier", **extra: str) -> dict[str, str]:
    return {"model": model, "scenario": "SingleStream", "duration_s": "0.2", **extra}


def test_a_server_without_a_scheduler_starts_none(make_client: Any) -> None:
    page = make_client().get("/evaluate")
    assert page.status_code == 200
    assert "This server starts no evaluations" in page.text


def test_the_form_offers_models_hardware_and_backends(client: Any) -> None:
    page = client.get("/evaluate")
    assert page.status_code == 200, page.text
    assert 'name="model" value="digits-classifier"' in page.text
    hardware = api.agent_profile()["hardware"]
    assert f'name="hardware" value="{hardware}"' in page.text.replace("&#x27;", "'")
    assert 'name="backend" value="onnxruntime"' in page.text


def test_starting_needs_a_submit_token(client: Any, tokens: dict[str, str]) -> None:
    anonymous = client.post("/evaluate", data=form())
    assert anonymous.status_code == 401 and '<form method="post" action="/login">' in anonymous.text
    reader = client.post("/evaluate", data=form(), headers=bearer(tokens["read"]))
    assert reader.status_code in (401, 403) and "submit" in reader.text
    elsewhere = client.post(
        "/evaluate",
        data=form(),
        headers={**bearer(tokens["submit"]), "Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403 and "another site" in elsewhere.text
    assert api.sweep_list() == []


def test_a_bad_pick_names_its_field(client: Any, tokens: dict[str, str]) -> None:
    answer = client.post(
        "/evaluate", data={"scenario": "SingleStream"}, headers=bearer(tokens["submit"])
    )
    assert answer.status_code == 422
    assert "targets: empty, so the sweep has no cell" in answer.text
    answer = client.post(
        "/evaluate", data=form(duration_s="soon"), headers=bearer(tokens["submit"])
    )
    assert answer.status_code == 422 and "settings.duration_s" in answer.text
    assert api.sweep_list() == []


def test_an_evaluation_lands_on_the_server(
    client: Any, tokens: dict[str, str], database: api.ServerDatabase
) -> None:
    started = client.post(
        "/evaluate", data=form(), headers=bearer(tokens["submit"]), follow_redirects=False
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert re.fullmatch(r"/evaluate/sw-[0-9a-f]{12}", location)
    end = time.monotonic() + 120
    page = client.get(location)
    while "1 done" not in page.text and time.monotonic() < end:
        assert " 0 failed" in page.text, page.text
        time.sleep(0.5)
        page = client.get(location)
    assert "1 done" in page.text, page.text
    assert 'http-equiv="refresh"' not in page.text  # finished: no more refreshing
    (run_id,) = re.findall(r'href="/runs/([0-9a-f]{32})"', page.text)
    got = client.get(f"/api/v1/runs/{run_id}").json()
    assert got["submission"]["submitted_by"] == "submit"
    actions = {(e.action, e.target) for e in api.audit_log(db=database)}
    assert ("sweep.start", location.rsplit("/", 1)[1]) in actions
    assert ("runs.submit", run_id) in actions
    assert location.rsplit("/", 1)[1] in client.get("/evaluate").text  # recent evaluations
