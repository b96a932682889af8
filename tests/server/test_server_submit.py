"""POST /api/v1/runs: a real run of the built-in classifier, bundled by
``reef.bench.bundle.build_bundle``, submitted with a submit token, stored with its files,
audited, and listed back; the same run again is ``created: false``; every refusal (a read
token, no token, an edited figure, other content under the run's id, a body over the limit)
writes nothing."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error, bearer, snapshot

from reef import api
from reef.meta.run import RunRecord, load_record


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> RunRecord:
    """One short real SingleStream run of the built-in classifier, in a REEF_HOME of its own."""
    home = tmp_path_factory.mktemp("submitted-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-m", "reef", "bench", "digits-classifier", "--duration", "0.3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode in (0, 1), out.stderr[-3000:]
    (path,) = (home / "runs").glob("*/record.json")
    return load_record(json.loads(path.read_text(encoding="utf-8")), str(path))


@pytest.fixture
def bundle(record: RunRecord) -> dict[str, Any]:
    from reef.bench.bundle import build_bundle

    return dict(json.loads(build_bundle(record).model_dump_json()))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path / "server-files"


@pytest.fixture
def server(make_client: Any, files: Path) -> TestClient:
    return make_client(files_root=files)


def file_tree(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_real_run_is_submitted_stored_and_listed_back(
    server: TestClient,
    tokens: dict[str, str],
    database: api.ServerDatabase,
    bundle: dict[str, Any],
    record: RunRecord,
    files: Path,
) -> None:
    response = server.post(
        "/api/v1/runs", json={"runs": [bundle]}, headers=bearer(tokens["submit"])
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": [{"id": record.id, "created": True}]}
    listed = server.get("/api/v1/runs").json()
    assert [run["id"] for run in listed["runs"]] == [record.id]
    assert listed["runs"][0]["model"] == "digits-classifier"
    got = server.get(f"/api/v1/runs/{record.id}").json()
    assert got["id"] == record.id and got["status"] == record.status
    # Its files are kept, with what was received and from whom.
    kept = file_tree(files / record.id)
    assert "record.json" in kept and "bundle.json" in kept
    submit_id = tokens["submit"].split("_")[1]
    assert f"token {submit_id}" in kept["bundle.json"].decode()
    (entry,) = [e for e in api.audit_log(db=database) if e.action == "runs.submit"]
    assert entry.target == record.id and entry.actor == f"token {submit_id} (submit)"
    assert entry.client == "testclient"
    # The same run again: accepted, not created, nothing more written.
    before = snapshot(database), file_tree(files)
    again = server.post("/api/v1/runs", json={"runs": [bundle]}, headers=bearer(tokens["admin"]))
    assert again.json() == {"accepted": [{"id": record.id, "created": False}]}
    assert (snapshot(database), file_tree(files)) == before


def test_a_read_token_submitting_is_403_and_writes_nothing(
    server: TestClient,
    tokens: dict[str, str],
    database: api.ServerDatabase,
    bundle: Any,
    files: Path,
) -> None:
    before = snapshot(database)
    response = server.post("/api/v1/runs", json={"runs": [bundle]}, headers=bearer(tokens["read"]))
    assert_error(response, 403, "Forbidden", "scope read; this needs submit")
    assert snapshot(database) == before and file_tree(files) == {}


def test_submitting_without_a_token_is_401_and_writes_nothing(
    server: TestClient, database: api.ServerDatabase, bundle: Any, files: Path
) -> None:
    before = snapshot(database)
    assert_error(server.post("/api/v1/runs", json={"runs": [bundle]}), 401, "AuthError")
    assert snapshot(database) == before and file_tree(files) == {}


def test_an_edited_figure_is_422_and_writes_nothing(
    server: TestClient,
    tokens: dict[str, str],
    database: api.ServerDatabase,
    bundle: Any,
    files: Path,
) -> None:
    edited = copy.deepcopy(bundle)
    edited["record"]["performance"]["latency_ms"]["p99"] /= 2
    before = snapshot(database)
    response = server.post(
        "/api/v1/runs", json={"runs": [bundle, edited]}, headers=bearer(tokens["submit"])
    )
    assert_error(response, 422, "FiguresMismatch", "p99")
    assert snapshot(database) == before and file_tree(files) == {}
    alone = server.post("/api/v1/runs", json={"runs": [edited]}, headers=bearer(tokens["submit"]))
    error = assert_error(alone, 422, "FiguresMismatch")
    assert "p99" in error["message"]
    assert snapshot(database) == before and file_tree(files) == {}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "JSON"),
        (b'{"runs": 3}', "runs"),
        (b'{"bundles": []}', "runs"),
        (b'{"runs": [3]}', "runs"),
    ],
)
def test_a_malformed_submission_is_422_and_writes_nothing(
    server: TestClient,
    tokens: dict[str, str],
    database: api.ServerDatabase,
    files: Path,
    body: bytes,
    fragment: str,
) -> None:
    before = snapshot(database)
    headers = bearer(tokens["submit"]) | {"content-type": "application/json"}
    response = server.post("/api/v1/runs", content=body, headers=headers)
    assert_error(response, 422, "BadRequest", fragment)
    assert snapshot(database) == before and file_tree(files) == {}


def test_other_content_under_a_stored_id_is_409(
    server: TestClient, tokens: dict[str, str], database: api.ServerDatabase, bundle: Any
) -> None:
    assert (
        server.post(
            "/api/v1/runs", json={"runs": [bundle]}, headers=bearer(tokens["submit"])
        ).status_code
        == 200
    )
    other = copy.deepcopy(bundle)
    other["record"]["reasons"] = ["edited after the fact"]
    before = snapshot(database)
    response = server.post("/api/v1/runs", json={"runs": [other]}, headers=bearer(tokens["submit"]))
    error = assert_error(response, 409, "RunConflict", "other content")
    assert error["details"] == {"run_id": bundle["record"]["id"]}
    assert snapshot(database) == before


def test_a_submission_over_the_body_limit_is_413_and_writes_nothing(
    make_client: Any, tokens: dict[str, str], database: api.ServerDatabase, bundle: Any, files: Path
) -> None:
    small = make_client(files_root=files, max_body=4096)
    before = snapshot(database)
    response = small.post("/api/v1/runs", json={"runs": [bundle]}, headers=bearer(tokens["submit"]))
    assert_error(response, 413, "TooLarge")
    assert snapshot(database) == before and file_tree(files) == {}
