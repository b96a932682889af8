"""Issue 14, item 6: `reef.api.export` honours MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME
and shows URIs redacted."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reef.api.export import mlflow_target
from reef.errors import ReefError


@pytest.fixture(autouse=True)
def no_mlflow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


@pytest.fixture
def server() -> Iterator[int]:
    """Something that answers HTTP (a 404 for /health still counts as a server)."""
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()


def test_the_target_is_shown_redacted(server: int) -> None:
    target = mlflow_target(f"http://me:s3cret@127.0.0.1:{server}")
    assert target.uri == f"http://me:***@127.0.0.1:{server}"
    assert target.experiment == "reef"


def test_the_environment_gives_the_uri_and_experiment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ReefError, match="no MLflow tracking URI"):
        mlflow_target()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "nightly")
    target = mlflow_target()
    assert target.uri == f"sqlite:///{tmp_path / 'env.db'}" and target.experiment == "nightly"
    given = mlflow_target(f"sqlite:///{tmp_path / 'given.db'}", experiment="mine")
    assert given.uri.endswith("given.db") and given.experiment == "mine"
    assert list(tmp_path.iterdir()) == []  # checked, nothing created


def test_an_empty_uri_is_refused_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///never.db")
    with pytest.raises(ReefError, match="empty tracking URI"):
        mlflow_target("")
