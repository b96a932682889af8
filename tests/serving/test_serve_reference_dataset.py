"""``reef serve TARGET --reference dataset``: the drift reference is built at deploy time from
the model's own dataset component, each row through the manifest's steps first (what ``reef
bench`` feeds), kept as per-feature sketches only; traffic like the dataset raises no alarm,
the raw (unscaled) rows do; a target with no dataset is refused (exit 2)."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("scipy")

from fastapi.testclient import TestClient

from reef import api
from reef.bench.target import resolve
from reef.serving.app import ServeSettings, create_app

MODEL = "digits-classifier"


def _raw() -> np.ndarray:
    with np.load(resolve(MODEL).dataset_path) as data:
        return np.asarray(data["features"], dtype=np.float64)


def test_the_profile_is_the_datasets_rows_through_the_steps_as_sketches() -> None:
    raw = _raw()
    profile = api.drift_dataset_profile(MODEL)
    assert profile.rows == len(raw) and len(profile.features) == 64
    assert profile.source == f"dataset digits through {MODEL}'s steps"
    # the manifest's scale step (1/16) was applied before the sketches were taken
    means = np.array([f.mean for f in profile.features])
    assert np.allclose(means, (raw / 16).mean(axis=0), atol=1e-6)
    assert max(f.max for f in profile.features) <= 1.0 < raw.max()
    # no rows kept: every sketch has the same fixed size whatever the row count
    assert {len(f.quantiles) for f in profile.features} == {len(profile.features[0].quantiles)}
    assert [m.method for m in profile.reconstruction] == ["pca"]
    small = api.drift_dataset_profile(MODEL, limit=100, reconstruction=())
    assert small.rows == 100 and small.reconstruction == []


def test_a_dataset_over_the_limit_gives_rows_drawn_at_random_with_the_seed() -> None:
    # Not its first rows: a dataset stored class by class would give only its first classes.
    raw = _raw() / 16
    for seed in (0, 7):
        small = api.drift_dataset_profile(MODEL, limit=100, reconstruction=(), seed=seed)
        drawn = np.sort(np.random.default_rng(seed).choice(len(raw), size=100, replace=False))
        means = np.array([f.mean for f in small.features])
        assert np.allclose(means, raw[drawn].mean(axis=0), atol=1e-6)
        assert not np.allclose(means, raw[:100].mean(axis=0), atol=1e-3)
        assert small.source == (
            f"dataset digits through {MODEL}'s steps "
            f"(100 of its {len(raw):,} rows drawn at random, seed {seed})"
        )


def _state(client: TestClient, at_least: int) -> dict[str, Any]:
    end = time.monotonic() + 30
    while (state := client.get(f"/v2/models/{MODEL}/drift").json())["windows"] < at_least:
        assert time.monotonic() < end, state
        time.sleep(0.05)
    return state


def test_served_traffic_is_checked_against_the_dataset() -> None:
    raw = _raw()
    profile = api.drift_dataset_profile(MODEL)
    settings = ServeSettings(drift_window=150)
    with TestClient(
        create_app([api.open_served(MODEL)], settings, references={MODEL: profile})
    ) as client:

        def send(x: np.ndarray) -> None:
            body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                "data": x.reshape(-1).tolist()}]}  # fmt: skip
            assert client.post(f"/v2/models/{MODEL}/infer", json=body).status_code == 200

        rng = np.random.default_rng(0)
        calm = (raw[rng.permutation(len(raw))[:150]] / 16).astype(
            np.float32
        )  # as the model takes it
        for part in np.array_split(calm, 5):
            send(part)
        assert _state(client, 1)["latest"]["drifted"] is False
        for part in np.array_split(raw[:150].astype(np.float32), 5):  # unscaled: drift
            send(part)
        assert _state(client, 2)["latest"]["drifted"] is True


def test_a_target_without_a_dataset_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reef.cli import main

    bare = tmp_path / "model.onnx"
    shutil.copy(resolve(MODEL).model_path, bare)
    argv, sys.argv = sys.argv, ["reef", "serve", str(bare), "--reference", "dataset"]
    try:
        with pytest.raises(SystemExit) as info:
            main()
    finally:
        sys.argv = argv
    err = capsys.readouterr().err
    assert info.value.code == 2 and "no dataset to build a reference from" in err, err
