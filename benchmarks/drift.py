"""Drift detectors on streams of single-row requests (issue 19): detection delay, false alarms,
and what ``Detector.observe`` adds to a request.

Two sources: a Gaussian mixture Reef generates (12 features, 3 components, each component's
features driven by 2 shared factors, so that they are strongly correlated) and the built-in
``digits`` dataset (64 pixels, 450 rows; the reference is the dataset itself, the stream rows
drawn from it). Four streams each:

- ``none``: no shift;
- ``covariate``: mixture: 6 of the 12 features move by 0.5 std; digits: every image moved one
  pixel to the right;
- ``prior``: the label mix changes: mixture weights 0.5/0.3/0.2 become 0.2/0.3/0.5; digits:
  only the digits 0-4;
- ``correlation``: each feature keeps its distribution, how features move together changes:
  mixture: half the features mirrored around their component's mean; digits: each pixel of an
  image taken from another image of the same digit.

Each stream is ``--before`` unshifted requests, then shifted ones, one row a request, fed to
four detectors, each calibrated on its own to one false alarm per ``--arl`` windows of
``--window`` rows: ``auto`` (KS for numeric, chi-square for categorical features; digits'
pixels are categorical), ``psi``, ``pca`` and ``autoencoder`` (reconstruction alone). The
detection delay is the requests from the shift's start to the end of the first window that
alarmed (median and range over ``--seeds``; "missed" past ``--after`` requests); the false
alarms per 10,000 requests are counted on the ``none`` streams (``--none-requests`` each).

The cost of ``observe``: single-row requests through a detector (window 500, background
checks on) against a bare loop over the same rows doing nothing, alternating, in us per
request and per feature.

    python benchmarks/drift.py [--window 200] [--arl 100] [--seeds 3] [--before 2100]
        [--after 10000] [--none-requests 100000] [--cost-requests 200000] [--drift-share 0.5]
        [--sources mixture digits]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from reef import api

DETECTORS = ("auto", "psi", "pca", "autoencoder")
SHIFTS = ("none", "covariate", "prior", "correlation")


# --- sources -------------------------------------------------------------------------------


class Mixture:
    features = 12
    weights = np.array([0.5, 0.3, 0.2])

    def __init__(self) -> None:
        rng = np.random.default_rng(1234)
        self.means = rng.normal(scale=2.0, size=(3, self.features))
        self.loadings = rng.normal(size=(3, self.features, 2))

    def sample(self, rng: np.random.Generator, n: int, shift: str = "none") -> np.ndarray:
        weights = np.array([0.2, 0.3, 0.5]) if shift == "prior" else self.weights
        labels = rng.choice(3, p=weights, size=n)
        z = rng.normal(size=(n, 2))
        dev = np.einsum("nfk,nk->nf", self.loadings[labels], z)
        dev += rng.normal(scale=0.3, size=dev.shape)
        if shift == "correlation":
            dev[:, : self.features // 2] *= -1
        rows = self.means[labels] + dev
        if shift == "covariate":
            rows[:, :6] += 0.5 * self.reference_std[:6]
        return rows

    def reference(self) -> np.ndarray:
        rows = self.sample(np.random.default_rng(0), 5000)
        self.reference_std = rows.std(axis=0)
        return rows


class Digits:
    features = 64

    def __init__(self) -> None:
        found = np.load(_digits_file())
        self.rows = found["features"].astype(np.float64)
        self.labels = found["labels"]

    def reference(self) -> np.ndarray:
        return self.rows

    def sample(self, rng: np.random.Generator, n: int, shift: str = "none") -> np.ndarray:
        pool = np.flatnonzero(self.labels <= 4) if shift == "prior" else np.arange(len(self.rows))
        picked = rng.choice(pool, size=n)
        rows = self.rows[picked].copy()
        if shift == "covariate":
            images = rows.reshape(n, 8, 8)
            images[:, :, 1:] = images[:, :, :-1].copy()
            images[:, :, 0] = 0
            rows = images.reshape(n, 64)
        elif shift == "correlation":
            for i in range(n):
                same = np.flatnonzero(self.labels == self.labels[picked[i]])
                donors = rng.choice(same, size=64)
                rows[i] = self.rows[donors, np.arange(64)]
        return rows


def _digits_file() -> str:
    from pathlib import Path

    import reef

    return str(Path(reef.__file__).parent / "builtin" / "digits" / "digits.npz")


# --- detectors -----------------------------------------------------------------------------


def profiles(reference: np.ndarray) -> dict[str, api.DriftProfile]:
    plain = api.drift_profile(reference, reconstruction=())
    started = time.perf_counter()
    pca = api.drift_profile(reference, reconstruction=("pca",))
    pca_s = time.perf_counter() - started
    started = time.perf_counter()
    auto = api.drift_profile(reference, reconstruction=("autoencoder",))
    auto_s = time.perf_counter() - started
    print(f"  profile with PCA in {pca_s:.2f} s ({pca.reconstruction[0].note}); with the "
          f"autoencoder in {auto_s:.2f} s ({auto.reconstruction[0].note})")  # fmt: skip
    return {"auto": plain, "psi": plain, "pca": pca, "autoencoder": auto}


def detectors(
    found: dict[str, api.DriftProfile], window: int, arl: float, share: float
) -> dict[str, Any]:
    made = {}
    for name in DETECTORS:
        made[name] = api.drift_detector(
            found[name],
            window=window,
            arl=arl,
            drift_share=share,
            test="psi" if name == "psi" else "auto",
            background=False,
            univariate=name in ("auto", "psi"),
        )
    return made


def stream(dets: dict[str, Any], rows: np.ndarray, on_alarm: Callable[[str, int], None]) -> None:
    seen = {name: 0 for name in dets}
    for i, row in enumerate(rows):
        for name, det in dets.items():
            det.observe(row)
            latest = det.latest()
            if latest is not None and latest.window != seen[name]:
                seen[name] = latest.window
                if latest.drifted:
                    on_alarm(name, i + 1)


def delays(source: Any, found: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, dict[str, list[int | None]]] = {}
    for shift in SHIFTS[1:]:
        out[shift] = {name: [] for name in DETECTORS}
        for seed in range(args.seeds):
            rng = np.random.default_rng(100 + seed)
            rows = np.vstack(
                [source.sample(rng, args.before), source.sample(rng, args.after, shift)]
            )
            first: dict[str, int] = {}

            def alarm(name: str, request: int, first: dict[str, int] = first) -> None:
                if request > args.before and name not in first:
                    first[name] = request - args.before

            stream(detectors(found, args.window, args.arl, args.drift_share), rows, alarm)
            for name in DETECTORS:
                out[shift][name].append(first.get(name))
    return out


def false_alarms(source: Any, found: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    counts = {name: 0 for name in DETECTORS}
    total = 0
    for seed in range(args.seeds):
        rows = source.sample(np.random.default_rng(900 + seed), args.none_requests)
        total += len(rows)

        def alarm(name: str, request: int) -> None:
            counts[name] += 1

        stream(detectors(found, args.window, args.arl, args.drift_share), rows, alarm)
    return {name: (counts[name], total) for name in DETECTORS}


def cost(reference: np.ndarray, requests: int, rounds: int) -> tuple[float, float]:
    """us per request: observe through a detector (background checks), a bare loop."""
    profile = api.drift_profile(reference, reconstruction=("pca",))
    rows = reference[np.random.default_rng(5).integers(0, len(reference), requests)]
    rows = rows.reshape(requests, 1, -1)
    bare, observed = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for _row in rows:
            pass
        bare.append((time.perf_counter() - started) / requests * 1e6)
        det = api.drift_detector(profile, window=500, arl=1000)
        started = time.perf_counter()
        for row in rows:
            det.observe(row)
        observed.append((time.perf_counter() - started) / requests * 1e6)
        det.close()
    return statistics.median(observed), statistics.median(bare)


def _delay(values: list[int | None], after: int) -> str:
    hits = [v for v in values if v is not None]
    missed = len(values) - len(hits)
    if not hits:
        return f"missed ({after:,})"
    text = f"{statistics.median(hits):,.0f} ({min(hits):,}-{max(hits):,})"
    return text + (f", {missed} missed" if missed else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--arl", type=float, default=100.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--before", type=int, default=2100)
    parser.add_argument("--after", type=int, default=10000)
    parser.add_argument("--none-requests", type=int, default=100_000)
    parser.add_argument("--cost-requests", type=int, default=200_000)
    parser.add_argument("--cost-rounds", type=int, default=5)
    parser.add_argument("--drift-share", type=float, default=0.5)
    parser.add_argument("--sources", nargs="+", default=["mixture", "digits"])
    args = parser.parse_args()
    print(f"drift_share {args.drift_share:g}; window {args.window} rows, ARL {args.arl:g} "
          "windows: at most one false alarm per "
          f"{args.window * args.arl:,.0f} requests "
          f"({10_000 / (args.window * args.arl):.2g} per 10,000) by construction")  # fmt: skip
    sources = {"mixture": Mixture, "digits": Digits}
    for label in args.sources:
        source: Any = sources[label]()
        reference = source.reference()
        print(f"\n{label}: reference {reference.shape[0]:,} rows x {reference.shape[1]} features")
        found = profiles(reference)
        measured = delays(source, found, args)
        fa = false_alarms(source, found, args)
        print(f"  | shift | {' | '.join(DETECTORS)} |")
        print(f"  | --- | {' | '.join('---' for _ in DETECTORS)} |")
        for shift, per in measured.items():
            cells = " | ".join(_delay(per[name], args.after) for name in DETECTORS)
            print(f"  | {shift}: delay in requests, median (range) | {cells} |")
        cells = " | ".join(
            f"{n / total * 10_000:.2g} ({n} in {total:,})" for n, total in fa.values()
        )
        print(f"  | none: false alarms per 10,000 requests | {cells} |")
        per_request, bare = cost(reference, args.cost_requests, args.cost_rounds)
        added = per_request - bare
        per_feature = added / reference.shape[1]
        print(f"  observe: {per_request:.2f} us a request, bare loop {bare:.3f} us: adds "
              f"{added:.2f} us a request, {per_feature:.3f} us a feature")  # fmt: skip


if __name__ == "__main__":
    main()
