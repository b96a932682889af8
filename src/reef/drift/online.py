"""Drift over windows of live traffic: ``Detector.observe`` is called with each request's
rows and only copies them into a bounded window buffer (a lock, a copy: about 3 us for a
request of one row of 12 or 64 features, benchmarks/drift.py); when the window
holds ``window`` rows, or ``interval_s`` has passed since its first row (with at least
``min_rows``), it is checked, on a background thread by default, and ``latest()`` returns
the newest check.

Calibration: a false alarm is a window declared drifted when nothing drifted. With ``arl``
the wanted expected run length, in windows, between false alarms, a window may alarm with
probability alpha = 1/arl; that alpha is split evenly (Bonferroni) among the detectors (the
univariate features' verdict, and each reconstruction model). The univariate verdict alarms
when at least k = ceil(drift_share x F) of the F features drift; by Markov's inequality
P(at least k features flag) <= F·a/k whatever the dependence between features, so each
feature's test runs at a = alpha_univariate·k/F. Every test decides by its p-value online
(``reef.drift.tests``); p-values that are conservative (ties, discrete features) make the
real false-alarm rate lower than the bound, never higher, up to the tests' approximations.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from reef.drift import DriftError, need_scipy
from reef.drift.profile import Profile
from reef.drift.result import DriftResult
from reef.drift.tests import check_share, check_test

if TYPE_CHECKING:
    import numpy as np

    from reef.drift.checkers import DriftChecker

DEFAULT_WINDOW = 500
DEFAULT_ARL = 1000.0
MIN_ROWS = 30
HISTORY = 100
_PENDING = 2  # windows waiting for the background check before new ones are dropped


class Calibration(BaseModel):
    """The thresholds that keep false alarms to one per ``arl`` windows on average."""

    arl: float
    alpha_window: float  # 1 / arl
    detectors: int  # the univariate verdict (unless left out) + one per reconstruction model
    features: int
    features_needed: int  # k = ceil(drift_share x features)
    alpha_feature: float  # each feature's p-value threshold
    alpha_reconstruction: float  # each reconstruction model's


def calibrate(
    features: int, reconstructions: int, arl: float, drift_share: float, univariate: bool = True
) -> Calibration:
    if not arl >= 1 or math.isinf(arl):
        raise DriftError(f"arl: {arl} windows; it must be at least 1 and finite")
    check_share(drift_share)
    alpha = 1.0 / arl
    detectors = int(univariate) + reconstructions
    each = alpha / detectors
    needed = max(1, math.ceil(drift_share * features - 1e-9))
    return Calibration(
        arl=arl,
        alpha_window=alpha,
        detectors=detectors,
        features=features,
        features_needed=needed,
        alpha_feature=each * needed / features,
        alpha_reconstruction=each,
    )


class Detector:
    """Windows of live rows against ``profile``; thread-safe. Its cost per ``observe`` is a
    lock and a copy; the tests run per window (on a background thread unless
    ``background=False``, when the call that fills a window runs them); ``univariate=False``
    leaves the verdict to the reconstruction models alone. ``on_result`` is
    called with each window's ``DriftResult`` (for gauges and alerts); what it raises is
    counted in ``callback_errors`` and otherwise ignored."""

    def __init__(
        self,
        profile: Profile,
        *,
        window: int = DEFAULT_WINDOW,
        interval_s: float | None = None,
        min_rows: int = MIN_ROWS,
        arl: float = DEFAULT_ARL,
        drift_share: float = 0.5,
        test: str = "auto",
        background: bool = True,
        on_result: Callable[[DriftResult], None] | None = None,
        history: int = HISTORY,
        univariate: bool = True,
        checker: DriftChecker | None = None,
    ) -> None:
        import numpy as np

        need_scipy()
        check_test(test)
        if test == "wasserstein":
            raise DriftError(
                "--test wasserstein has no p-value, so no calibrated threshold online",
                hint="use ks, chi2, psi, js or auto",
            )
        if window < 2 or min_rows < 2 or min_rows > window:
            raise DriftError(f"window {window}, min_rows {min_rows}: need 2 <= min_rows <= window")
        if interval_s is not None and not interval_s > 0:
            raise DriftError(f"interval_s: {interval_s}; it must be positive")
        self.profile = profile
        self.window = window
        self.interval_s = interval_s
        self.min_rows = min_rows
        self.test = test
        self.drift_share = drift_share
        self.features = len(profile.features)
        if not univariate and not profile.reconstruction:
            raise DriftError("univariate=False needs a profile with a reconstruction model")
        self.univariate = univariate
        self.calibration = calibrate(
            self.features, len(profile.reconstruction), arl, drift_share, univariate
        )
        self.checker = checker  # a reef.drift checker deciding each window instead
        if checker is not None:
            checker.fit(profile)
            checker.calibrate(self.calibration.alpha_window, drift_share)
        self.check_errors = 0  # windows the checker failed on
        self.on_result = on_result
        self.windows_dropped = 0  # checks that could not keep up with the traffic
        self.callback_errors = 0
        self.rows_seen = 0
        self._np = np
        self._lock = threading.Lock()
        self._buffer = np.empty((window, self.features), dtype=np.float64)
        self._count = 0
        self._opened = 0.0  # monotonic time of the window's first row
        self._first = 0.0  # wall time of the window's first row
        self._number = 0
        self._results: deque[DriftResult] = deque(maxlen=history)
        self._results_lock = threading.Lock()
        self._background = background
        self._queue: queue.Queue[tuple[np.ndarray, int, float, float] | None] = queue.Queue(
            _PENDING
        )
        self._worker: threading.Thread | None = None
        self._closed = False

    # --- per request ---------------------------------------------------------------------

    def observe(self, rows: np.ndarray) -> None:
        """Add a request's rows (features, or rows x features) to the current window."""
        a = self._np.asarray(rows, dtype=self._np.float64)
        if a.ndim == 1:
            a = a.reshape(1, -1)
        if a.ndim != 2 or a.shape[1] != self.features:
            raise DriftError(
                f"drift: rows of {a.shape[-1] if a.ndim else 0} features; the reference "
                f"has {self.features}"
            )
        full: list[tuple[np.ndarray, int, float, float]] = []
        with self._lock:
            self.rows_seen += len(a)
            start = 0
            while start < len(a):
                if self._count == 0:
                    self._opened = time.monotonic()
                    self._first = time.time()
                take = min(len(a) - start, self.window - self._count)
                self._buffer[self._count : self._count + take] = a[start : start + take]
                self._count += take
                start += take
                if self._count == self.window or self._due():
                    full.append(self._close())
        for item in full:
            self._submit(item)

    def tick(self) -> None:
        """Close the window if ``interval_s`` has passed since its first row (with at least
        ``min_rows``): for a timer, so that quiet traffic still gets checked."""
        with self._lock:
            item = self._close() if self._count and self._due() else None
        if item is not None:
            self._submit(item)

    def _due(self) -> bool:
        return (
            self.interval_s is not None
            and self._count >= self.min_rows
            and time.monotonic() - self._opened >= self.interval_s
        )

    def _close(self) -> tuple[np.ndarray, int, float, float]:
        rows = self._buffer[: self._count]
        self._buffer = self._np.empty((self.window, self.features), dtype=self._np.float64)
        self._count = 0
        self._number += 1
        return rows, self._number, self._first, time.time()

    def _submit(self, item: tuple[np.ndarray, int, float, float]) -> None:
        if not self._background:
            self._check(*item)
            return
        if self._worker is None:
            with self._lock:
                if self._worker is None and not self._closed:
                    self._worker = threading.Thread(
                        target=self._run, name="reef-drift", daemon=True
                    )
                    self._worker.start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.windows_dropped += 1

    # --- per window ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._check(*item)
            finally:
                self._queue.task_done()

    def _check(self, rows: np.ndarray, number: int, started: float, ended: float) -> None:
        from reef.drift.tests import compare

        c = self.calibration
        if self.checker is not None:
            try:
                result = self.checker.score(rows)
            except Exception:  # a plugin's failure must not stop the checks
                self.check_errors += 1
                return
            self._keep(result, number, started, ended)
            return
        result = compare(
            self.profile,
            rows,
            test=self.test,
            drift_share=self.drift_share,
            alpha=c.alpha_feature,
            reconstruction_alpha=c.alpha_reconstruction,
            p_values=True,
        )
        if not self.univariate:  # the features are shown, the verdict is the models'
            result.dataset_drift = False
            result.drifted = any(r.drift for r in result.reconstruction)
        self._keep(result, number, started, ended)

    def _keep(self, result: DriftResult, number: int, started: float, ended: float) -> None:
        result.window, result.started, result.ended = number, started, ended
        with self._results_lock:
            self._results.append(result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                self.callback_errors += 1

    # --- reading -------------------------------------------------------------------------

    def latest(self) -> DriftResult | None:
        """The newest window's check, or None before the first window closed."""
        with self._results_lock:
            return self._results[-1] if self._results else None

    def history(self) -> list[DriftResult]:
        """The last ``history`` windows' checks, oldest first."""
        with self._results_lock:
            return list(self._results)

    def pending_rows(self) -> int:
        with self._lock:
            return self._count

    def flush(self) -> None:
        """Wait for the windows already closed to be checked."""
        if self._worker is not None:
            self._queue.join()

    def close(self) -> None:
        """Stop the background thread after the windows already closed are checked."""
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._queue.put(None)
            worker.join()
