"""Drift checkers as the ``reef.drift`` entry-point group: a plugin installed from a
temporary dist-info is picked by name by ``reef drift --detector``, ``reef.api.drift_detector``
(online, calibrated to 1/arl) and ``reef serve --drift-detector``; the built-ins are in the
same group; an unknown name is exit 2 with nothing written, a broken plugin exit 3."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy")

from plugin_support import FakeSite, plugin_site
from reef import api
from reef.drift import DriftError
from reef.drift.checkers import DRIFT_CHECKERS, DriftPluginError, new_checker

__all__ = ["plugin_site"]  # a fixture

# A third-party checker: the largest shift of a feature's mean, in the reference's stds,
# against a threshold its calibration hook derives from alpha. It records what it was given.
MEAN_SHIFT = """
    from reef.api import DriftResult

    CALLS = []

    class MeanShift:
        name = "mean-shift"

        def fit(self, profile):
            self.means = [f.mean for f in profile.features]
            self.stds = [f.std or 1.0 for f in profile.features]
            CALLS.append(("fit", len(self.means)))

        def calibrate(self, alpha, drift_share):
            self.threshold = 0.5 if alpha >= 0.01 else 1.0
            self.alpha, self.share = alpha, drift_share
            CALLS.append(("calibrate", alpha, drift_share))

        def score(self, rows):
            shift = max(
                abs(float(rows[:, i].mean()) - m) / s
                for i, (m, s) in enumerate(zip(self.means, self.stds))
            )
            drifted = shift > self.threshold
            return DriftResult(
                rows=len(rows), features=[], drifted_features=0, share=0.0,
                drift_share=self.share, dataset_drift=drifted, drifted=drifted,
                alpha=self.alpha,
            )

    def no_score():
        class Half:
            def fit(self, profile): ...
            def calibrate(self, alpha, drift_share): ...
        return Half()
"""


@pytest.fixture
def mean_shift(plugin_site: FakeSite) -> Any:
    plugin_site.add(
        "reef-mean-shift",
        "0.3",
        entry_points={
            "reef.drift": {"mean-shift": "reef_test_mean_shift:MeanShift",
                           "half": "reef_test_mean_shift:no_score",
                           "ks": "reef_test_mean_shift:MeanShift"}  # shadowed by the built-in
        },
        modules={"reef_test_mean_shift": MEAN_SHIFT},
    )  # fmt: skip
    return plugin_site


def _files(tmp_path: Path, shift: float) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    ref, cur = tmp_path / "ref.npz", tmp_path / f"cur-{shift}.npz"
    np.savez(ref, x=rng.normal(size=(600, 4)))
    np.savez(cur, x=rng.normal(size=(300, 4)) + np.array([0.0, shift, 0.0, 0.0]))
    return str(ref), str(cur)


def reef(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from reef.cli import main

    capsys.readouterr()
    argv, sys.argv = sys.argv, ["reef", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_builtins_are_in_the_group_and_a_plugin_joins_them(mean_shift: FakeSite) -> None:
    assert {"auto", "ks", "chi2", "psi", "js", "wasserstein", "pca", "autoencoder"} <= set(
        DRIFT_CHECKERS.names()
    )
    assert DRIFT_CHECKERS.get("mean-shift").source == "reef-mean-shift 0.3"  # type: ignore[union-attr]
    assert DRIFT_CHECKERS.get("ks").source == "built-in"  # type: ignore[union-attr]
    (hidden,) = DRIFT_CHECKERS.shadowed()
    assert (hidden.name, hidden.shadowed_by) == ("ks", "built-in")
    assert type(new_checker("mean-shift")).__name__ == "MeanShift"


def test_reef_drift_detector_picks_the_plugin_and_calibrates_it(
    mean_shift: FakeSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, calm = _files(tmp_path, 0.0)
    _, shifted = _files(tmp_path, 0.8)
    code, out, err = reef(capsys, "drift", ref, calm, "--detector", "mean-shift", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["test"] == "detector mean-shift" and report["result"]["drifted"] is False
    code, out, _ = reef(capsys, "drift", ref, shifted, "--detector", "mean-shift", "--json",
                        "--alpha", "0.05", "--drift-share", "0.25")  # fmt: skip
    assert code == 1 and json.loads(out)["result"]["drifted"] is True
    calls = sys.modules["reef_test_mean_shift"].CALLS
    assert ("fit", 4) in calls and ("calibrate", 0.05, 0.25) in calls


def test_a_builtin_detector_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref, calm = _files(tmp_path, 0.0)
    _, shifted = _files(tmp_path, 3.0)
    for name in ("ks", "pca"):
        assert api.drift_check(ref, calm, detector=name).result.drifted is False, name
    found = api.drift_check(ref, shifted, detector="ks", drift_share=0.25).result
    assert found.drifted is True and {f.test for f in found.features} == {"ks"}
    assert [f.name for f in found.features if f.drift] == ["f1"]
    assert found.alpha == pytest.approx(0.05 / 4)  # the verdict's alpha over 4 features
    one_of_four = api.drift_check(ref, shifted, detector="ks").result  # 2 must drift
    assert one_of_four.drifted_features == 1 and one_of_four.drifted is False


def test_online_windows_are_decided_by_the_plugin(mean_shift: FakeSite, tmp_path: Path) -> None:
    ref, _ = _files(tmp_path, 0.0)
    profile = api.drift_profile(ref)
    rng = np.random.default_rng(3)
    detector = api.drift_detector(
        profile, window=50, arl=200, checker="mean-shift", background=False
    )
    detector.observe(rng.normal(size=(50, 4)))
    assert detector.latest().drifted is False  # type: ignore[union-attr]
    detector.observe(rng.normal(size=(50, 4)) + 2.0)
    latest = detector.latest()
    assert latest is not None and latest.drifted is True and latest.window == 2
    assert ("calibrate", 1 / 200, 0.5) in sys.modules["reef_test_mean_shift"].CALLS
    detector.close()


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--detector", "nope"], "unknown drift detector 'nope'", 2),
        (["--detector", "ks", "--test", "chi2"], "--test and --detector: give one", 2),
        (["--detector", "half"], "has no score", 3),
    ],
)
def test_a_bad_detector_is_refused_with_nothing_written(
    mean_shift: FakeSite,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    code: int,
) -> None:
    ref, cur = _files(tmp_path, 0.0)
    report = tmp_path / "report.html"
    got, _, err = reef(capsys, "drift", ref, cur, "-o", str(report), *args)
    assert got == code and message in err, err
    assert not report.exists()


def test_online_refuses_a_detector_without_a_calibrated_threshold(tmp_path: Path) -> None:
    profile = api.drift_profile(_files(tmp_path, 0.0)[0])
    with pytest.raises(DriftError, match="'wasserstein' has no calibrated threshold"):
        api.drift_detector(profile, checker="wasserstein")
    with pytest.raises(DriftError, match="no autoencoder model"):
        api.drift_detector(profile, checker="autoencoder")


def test_a_broken_plugin_is_one_line(mean_shift: FakeSite) -> None:
    with pytest.raises(DriftPluginError) as info:
        new_checker("half")
    assert info.value.exit_code == 3 and "reef-mean-shift" in info.value.message


def test_reef_serve_checks_windows_with_the_plugin(mean_shift: FakeSite, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from reef.serving.app import ServeSettings, create_app

    rng = np.random.default_rng(0)
    reference = rng.random((500, 64)).astype(np.float32) * 16
    profile = api.drift_profile(reference)
    settings = ServeSettings(drift_window=20, drift_detector="mean-shift")
    model = "digits-classifier"
    with TestClient(
        create_app([api.open_served(model)], settings, references={model: profile})
    ) as client:
        x = (rng.random((20, 64)) * 16 + 8).astype(np.float32)
        body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                            "data": x.reshape(-1).tolist()}]}  # fmt: skip
        assert client.post(f"/v2/models/{model}/infer", json=body).status_code == 200
        end = time.monotonic() + 20
        while (state := client.get(f"/v2/models/{model}/drift").json())["windows"] < 1:
            assert time.monotonic() < end, state
            time.sleep(0.05)
    assert state["detector"] == "mean-shift" and state["latest"]["drifted"] is True


def test_reef_serve_drift_detector_needs_a_reference_and_a_known_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = reef(capsys, "serve", "digits-classifier", "--drift-detector", "ks")
    assert code == 2 and "--reference" in err
    reference = tmp_path / "reference.npz"
    np.savez(reference, x=np.random.default_rng(0).random((300, 64)).astype(np.float32))
    code, _, err = reef(capsys, "serve", "digits-classifier", "--reference", str(reference),
                        "--drift-detector", "nope")  # fmt: skip
    assert code == 2 and "unknown drift detector 'nope'" in err
