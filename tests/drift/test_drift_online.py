"""The online detector: windows by rows and by time, several threads observing, the
calibration's false-alarm rate on a long stream without drift, latest()."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from reef.drift import DriftError
from reef.drift.online import Detector, calibrate
from reef.drift.profile import Profile, build_profile


@pytest.fixture(scope="module")
def profile() -> Profile:
    return build_profile(np.random.default_rng(0).normal(size=(20000, 3)))


def test_windows_close_every_n_rows(profile: Profile) -> None:
    detector = Detector(profile, window=100, background=False)
    assert detector.latest() is None
    rng = np.random.default_rng(1)
    for _ in range(250):
        detector.observe(rng.normal(size=3))
    assert [r.window for r in detector.history()] == [1, 2]
    assert detector.pending_rows() == 50
    latest = detector.latest()
    assert latest is not None and latest.window == 2 and latest.rows == 100
    assert latest.started is not None and latest.ended is not None
    assert latest.started <= latest.ended
    # a request of many rows fills several windows at once
    detector.observe(rng.normal(size=(260, 3)))
    assert [r.window for r in detector.history()] == [1, 2, 3, 4, 5]
    assert detector.pending_rows() == 10


def test_a_shift_is_flagged_and_latest_says_so(profile: Profile) -> None:
    detector = Detector(profile, window=200, arl=100, background=False)
    rng = np.random.default_rng(2)
    detector.observe(rng.normal(size=(200, 3)))
    first = detector.latest()
    assert first is not None and not first.drifted
    detector.observe(rng.normal(loc=0.6, size=(200, 3)))
    second = detector.latest()
    assert second is not None and second.drifted
    assert second.drifted_features == 3
    assert all(f.test == "ks" and f.threshold == detector.calibration.alpha_feature
               for f in second.features)  # fmt: skip


def test_windows_close_after_interval_s(profile: Profile) -> None:
    detector = Detector(profile, window=10_000, interval_s=0.05, min_rows=5, background=False)
    rng = np.random.default_rng(3)
    detector.observe(rng.normal(size=(4, 3)))
    time.sleep(0.06)
    detector.tick()  # under min_rows: the window stays open
    assert detector.latest() is None
    detector.observe(rng.normal(size=(2, 3)))  # 6 rows, past the interval: checked
    latest = detector.latest()
    assert latest is not None and latest.rows == 6
    detector.observe(rng.normal(size=(7, 3)))
    time.sleep(0.06)
    detector.tick()
    latest = detector.latest()
    assert latest is not None and latest.window == 2 and latest.rows == 7


def test_several_threads_observing(profile: Profile) -> None:
    results = []
    detector = Detector(profile, window=500, on_result=results.append)
    rows = np.random.default_rng(4).normal(size=(8, 1000, 3))

    def feed(block: np.ndarray) -> None:
        for row in block:
            detector.observe(row)

    threads = [threading.Thread(target=feed, args=(rows[i],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    detector.flush()
    detector.close()
    assert detector.rows_seen == 8000
    checked = sum(r.rows for r in detector.history()) + 500 * detector.windows_dropped
    assert checked == 8000 and detector.pending_rows() == 0
    assert len(results) == 16 - detector.windows_dropped
    assert sorted(r.window for r in results) == [r.window for r in results]


def test_the_calibration_keeps_false_alarms_near_the_configured_rate() -> None:
    """One feature, drift_share 1: each window's test runs at alpha = 1/arl exactly, so a
    stream without drift alarms in about one window of ``arl``."""
    rng = np.random.default_rng(5)
    profile = build_profile(rng.normal(size=(50_000, 1)))
    detector = Detector(profile, window=100, arl=10, drift_share=1.0, background=False)
    alarms = 0
    windows = 400
    for _ in range(windows):
        detector.observe(rng.normal(size=(100, 1)))
        latest = detector.latest()
        assert latest is not None
        alarms += latest.drifted
    assert 0.05 * windows <= alarms <= 0.15 * windows  # expected 0.1, binomial sd 0.015


def test_the_calibration_splits_alpha() -> None:
    c = calibrate(features=64, reconstructions=1, arl=1000, drift_share=0.5)
    assert c.alpha_window == pytest.approx(1e-3)
    assert c.detectors == 2
    assert c.alpha_reconstruction == pytest.approx(5e-4)
    assert c.features_needed == 32
    assert c.alpha_feature == pytest.approx(5e-4 * 32 / 64)


def test_bad_settings_and_rows_are_refused(profile: Profile) -> None:
    with pytest.raises(DriftError, match="no p-value"):
        Detector(profile, test="wasserstein")
    with pytest.raises(DriftError, match="arl"):
        Detector(profile, arl=0.5)
    with pytest.raises(DriftError, match="min_rows"):
        Detector(profile, window=10, min_rows=20)
    detector = Detector(profile, background=False)
    with pytest.raises(DriftError, match="rows of 4 features; the reference has 3"):
        detector.observe(np.zeros((1, 4)))


def test_reconstruction_alone_decides_when_univariate_is_off() -> None:
    rng = np.random.default_rng(6)
    a = rng.normal(size=3000)
    reference = np.column_stack([a, a + rng.normal(scale=0.2, size=3000)])
    profile = build_profile(reference, reconstruction=("pca",))
    detector = Detector(profile, window=200, arl=100, univariate=False, background=False)
    assert detector.calibration.detectors == 1
    assert detector.calibration.alpha_reconstruction == pytest.approx(0.01)
    b = rng.normal(size=200)
    detector.observe(np.column_stack([b, -b + rng.normal(scale=0.2, size=200)]))
    latest = detector.latest()
    assert latest is not None and latest.drifted and not latest.dataset_drift
    with pytest.raises(DriftError, match="univariate=False"):
        Detector(build_profile(reference), univariate=False)
