"""Online drift checks in ``reef serve`` (``--reference``): live requests like the reference
raise no alarm; shifted ones are reported at ``/v2/models/{m}/drift``, in the Prometheus
gauges and to the alert webhook; a model without a reference answers 404 there; a reference
whose features are not the model's input is refused before anything is served."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("scipy")

from fastapi.testclient import TestClient

from reef import api
from reef.errors import SettingsError
from reef.serving.app import ServeSettings, create_app
from reef.serving.drift import check_reference

MODEL = "digits-classifier"


class Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 (the test server's mailbox)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alert"
    server.shutdown()
    server.server_close()


def reference_file(tmp_path: Path, features: int = 64) -> Path:
    path = tmp_path / "reference.npz"
    np.savez(path, x=np.random.default_rng(0).random((2000, features)).astype(np.float32))
    return path


def send(client: TestClient, x: np.ndarray) -> None:
    body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.reshape(-1).tolist()}]}  # fmt: skip
    assert client.post(f"/v2/models/{MODEL}/infer", json=body).status_code == 200


def windows(client: TestClient, at_least: int) -> dict[str, Any]:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        state: dict[str, Any] = client.get(f"/v2/models/{MODEL}/drift").json()
        if state["windows"] >= at_least:
            return state
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} drift windows closed: {state}")


def test_drift_is_reported_served_counted_and_alerted(tmp_path: Path, webhook: str) -> None:
    profile = api.drift_profile(str(reference_file(tmp_path)))
    settings = ServeSettings(drift_window=100, alert_webhook=webhook)
    rng = np.random.default_rng(1)
    with TestClient(
        create_app([api.open_served(MODEL)], settings, references={MODEL: profile})
    ) as client:
        for _ in range(10):
            send(client, rng.random((10, 64)).astype(np.float32))
        calm = windows(client, 1)["latest"]
        assert calm["drifted"] is False and calm["rows"] == 100
        for _ in range(10):
            send(client, (rng.random((10, 64)) * 0.5 + 0.5).astype(np.float32))
        shifted = windows(client, 2)["latest"]
        assert shifted["drifted"] is True and shifted["share"] > 0.5
        text = client.get("/metrics").text
        assert f'reef_drift_detected{{model="{MODEL}"}} 1.0' in text
        assert "reef_drift_share" in text
        end = time.monotonic() + 10
        while not Hook.received and time.monotonic() < end:
            time.sleep(0.05)
        (alert,) = Hook.received
        assert alert["model"] == MODEL and alert["drift"]["drifted"] is True


def test_without_a_reference_there_is_no_drift_to_show() -> None:
    with TestClient(create_app([api.open_served(MODEL)])) as client:
        answer = client.get(f"/v2/models/{MODEL}/drift")
        assert answer.status_code == 404 and "--reference" in answer.json()["error"]


def test_a_reference_of_other_features_is_refused(tmp_path: Path) -> None:
    profile = api.drift_profile(str(reference_file(tmp_path, features=10)))
    with pytest.raises(SettingsError, match="10 features, but digits-classifier's input"):
        check_reference(api.open_served(MODEL), profile)


def test_windows_a_checker_raised_on_are_counted_in_the_drift_state(tmp_path: Path) -> None:
    """A plugin checker that raises skips its windows; /v2/models/{m}/drift says how many, so
    that a broken checker is not mistaken for a calm one."""
    from reef.serving.drift import Watch
    from reef.serving.metrics import Metrics

    profile = api.drift_profile(str(reference_file(tmp_path)))
    model = api.open_served(MODEL)
    watch = Watch(model, profile, Metrics(), 20, None, detector="ks")
    try:

        def broken(rows: np.ndarray) -> Any:
            raise RuntimeError("a plugin's bug")

        watch.detector.checker.score = broken  # type: ignore[method-assign,union-attr]
        watch.observe({"input": np.random.default_rng(0).random((40, 64)).astype(np.float32)})
        watch.detector.flush()
        state = watch.state()
        assert state["windows"] == 0 and state["latest"] is None
        assert state["check_errors"] == 2
    finally:
        watch.close()
        model.close()
