"""The payload log (``reef serve --log-payloads RATE``): the sampled requests' inputs and
outputs, in .npz chunks under the folder given, written at shutdown too, readable by ``reef
drift``; the oldest chunks removed past the size cap; a rate of 0 keeps none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from reef import api
from reef.serving.app import ServeSettings, create_app
from reef.serving.payloads import PayloadLog

MODEL = "digits-classifier"


def send(client: TestClient, x: np.ndarray, rid: str) -> None:
    body = {"id": rid, "inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                   "data": x.reshape(-1).tolist()}]}  # fmt: skip
    assert client.post(f"/v2/models/{MODEL}/infer", json=body).status_code == 200


def test_every_request_logged_at_rate_1(tmp_path: Path) -> None:
    settings = ServeSettings(payload_rate=1.0, payload_dir=tmp_path)
    rng = np.random.default_rng(0)
    sent = [rng.random((n, 64)).astype(np.float32) for n in (1, 3, 2)]
    with TestClient(create_app([api.open_served(MODEL)], settings)) as client:
        for i, x in enumerate(sent):
            send(client, x, f"r{i}")
        assert "reef_payloads_logged_total" in client.get("/metrics").text
    (chunk,) = sorted((tmp_path / MODEL).glob("payloads-*.npz"))  # written at shutdown
    with np.load(chunk) as data:
        assert np.array_equal(data["inputs"], np.concatenate(sent))
        assert list(data["ids"]) == ["r0", "r1", "r1", "r1", "r2", "r2"]
        assert data["output_probabilities"].shape == (6, 10)
        assert len(data["times"]) == 6
    report = api.drift_check(str(chunk), str(chunk))  # reef drift reads it as it is
    assert report is not None


def test_rate_0_keeps_none_and_the_cap_removes_the_oldest(tmp_path: Path) -> None:
    with TestClient(create_app([api.open_served(MODEL)], ServeSettings())) as client:
        send(client, np.zeros((1, 64), dtype=np.float32), "x")
    assert not (tmp_path / MODEL).exists()
    log = PayloadLog("m", tmp_path / "m", rate=1.0, max_bytes=6000, chunk_rows=10, seed=0)
    for i in range(50):
        x = np.random.default_rng(i).random((5, 64)).astype(np.float32)
        log.offer(str(i), {"x": x}, {"y": x[:, :1]})
    log.close()
    files = sorted((tmp_path / "m").glob("payloads-*.npz"))
    assert files and sum(f.stat().st_size for f in files) <= 6000
    with np.load(files[-1]) as data:
        assert data["ids"][-1] == "49"  # the newest kept, the oldest removed


def test_a_disk_that_refuses_a_chunk_loses_its_rows_not_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails (a full disk) drops that chunk's rows; the writer goes on, later
    chunks are written, and shutdown does not hang on a dead writer's full queue."""
    import time

    calls = {"n": 0}
    real = np.savez_compressed

    def flaky(file: object, **arrays: np.ndarray) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        real(file, **arrays)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "savez_compressed", flaky)
    log = PayloadLog("m", tmp_path / "m", rate=1.0, max_bytes=1 << 30, chunk_rows=5, seed=0)
    for i in range(4):
        x = np.full((5, 2), i, dtype=np.float32)
        log.offer(str(i), {"x": x}, {"y": x})
    started = time.monotonic()
    log.close()
    assert time.monotonic() - started < 10
    assert log.write_errors == 1
    files = sorted((tmp_path / "m").glob("payloads-*.npz"))
    assert len(files) == 3
    ids = sorted(str(np.load(f)["ids"][0]) for f in files)
    assert ids == ["1", "2", "3"]  # the first chunk's rows are lost, the rest kept


def test_a_chunk_another_worker_removed_meanwhile_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "m"
    log = PayloadLog("m", folder, rate=1.0, max_bytes=1, chunk_rows=1, seed=0)
    real_glob = Path.glob

    def with_a_ghost(self: Path, pattern: str) -> list[Path]:
        return [*real_glob(self, pattern), self / "payloads-gone-by-now.npz"]

    monkeypatch.setattr(Path, "glob", with_a_ghost)
    for i in range(3):
        x = np.full((1, 2), i, dtype=np.float32)
        log.offer(str(i), {"x": x}, {"y": x})
    log.close()
    assert log.write_errors == 0
    assert list(real_glob(folder, "payloads-*.npz")) == []  # each trimmed past 1 byte
