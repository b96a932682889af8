"""The drift verbs: a reference profile (``drift_profile``), a whole sample checked against
it offline (``drift_check``, what ``reef drift`` runs), and a detector over windows of live
traffic (``drift_detector``, what ``reef serve`` runs).

Everything that can be wrong with the request (a file that is not a numeric array, NaN or
infinite values, mismatched features, an empty array, an unknown test, an output path that
cannot be written) raises a ``DriftError`` (exit 2) before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from reef.drift.online import Calibration
from reef.drift.online import Detector as DriftDetector
from reef.drift.profile import Profile as DriftProfile
from reef.drift.result import DriftResult, FeatureResult, ReconstructionResult

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Calibration",
    "DriftDetector",
    "DriftProfile",
    "DriftReport",
    "DriftResult",
    "FeatureResult",
    "ReconstructionResult",
    "drift_check",
    "drift_dataset_profile",
    "drift_detector",
    "drift_profile",
    "drift_report_html",
]

RECONSTRUCTIONS = ("pca", "autoencoder")
DATASET_ROWS = 5000  # the model's dataset rows a reference profile reads, at most


class DriftReport(BaseModel):
    """What ``drift_check`` found: the current rows against the reference."""

    reference: str
    current: str
    reference_rows: int
    test: str
    result: DriftResult
    verdict: str = ""  # one sentence: drift detected or not, and why
    report: str | None = None  # the HTML report written
    notes: list[str] = Field(default_factory=list)


def drift_profile(
    source: str | np.ndarray,
    *,
    key: str | None = None,
    names: Sequence[str] | None = None,
    categorical: Sequence[int] | None = None,
    reconstruction: Sequence[str] = ("pca",),
    seed: int = 0,
) -> DriftProfile:
    """The reference profile of ``source``: an array (rows x features), an .npz (its first
    array, or ``key``), .npy or .csv file, or a dataset component's name (``"digits"``).
    ``reconstruction`` names the multivariate models to fit: "pca" (cheap), "autoencoder"
    (torch, a few seconds at most)."""
    from reef.drift.data import check, load
    from reef.drift.profile import build_profile

    _check_reconstruction(reconstruction)
    if isinstance(source, str):
        loaded = load(source, key=key)
        data, where, names = loaded.data, loaded.source, names or loaded.names
    else:
        data, where = check(source, "array"), "array"
    return build_profile(
        data,
        source=where,
        names=names,
        categorical=categorical,
        reconstruction=reconstruction,
        seed=seed,
    )


def drift_dataset_profile(
    target: str,
    *,
    limit: int | None = DATASET_ROWS,
    reconstruction: Sequence[str] = ("pca",),
    backend: str | None = None,
    seed: int = 0,
) -> DriftProfile:
    """The reference profile of ``target``'s own dataset as the model takes it (``reef serve
    --reference dataset``): the dataset component its manifest names, each row through the
    input's processing steps as ``reef bench`` feeds it, flattened to features. A dataset of
    more than ``limit`` rows gives ``limit`` of them drawn uniformly at random with ``seed``
    (a dataset stored by class would otherwise give only its first classes), in the
    dataset's order. Only the per-feature sketches and the reconstruction models are kept.
    A target without a dataset, or whose samples are not rows of a fixed size, is a
    ``DriftError`` (exit 2)."""
    import numpy as np

    from reef.bench.backends import default_backend
    from reef.bench.conformance import index_bounds_of
    from reef.bench.samples import dataset_input, load_dataset
    from reef.bench.target import check_backend_allowed, resolve
    from reef.drift import DriftError
    from reef.drift.data import check
    from reef.drift.profile import build_profile
    from reef.predictors import registry
    from reef.predictors.base import PredictorOptions

    _check_reconstruction(reconstruction)
    resolved = resolve(target)
    manifest = resolved.manifest
    name = resolved.target.name
    if manifest is None or resolved.dataset is None or not resolved.dataset_path:
        raise DriftError(
            f"{target}: no dataset to build a reference from (its manifest names none)",
            hint="give --reference FILE.npz: rows of the model's input",
        )
    framework = backend or default_backend(resolved)
    check_backend_allowed(resolved, framework)
    predictor = registry.create(framework)
    total = resolved.dataset.samples
    drawn = None
    if limit is not None and total > limit:
        drawn = np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))
    signature = predictor.open(Path(resolved.model_path), PredictorOptions(threads=1))
    try:
        file = str(resolved.manifest_path or resolved.model_path)
        samples = load_dataset(
            manifest,
            file,
            resolved.dataset,
            Path(resolved.dataset_path),
            signature,
            limit,
            sources_dir=next(
                (Path(c.path).parent for c in resolved.components
                 if c.kind == "dataset" and c.path),
                None,
            ),
            index_bounds=index_bounds_of(Path(resolved.model_path), signature),
            rows=None if drawn is None else drawn.tolist(),
        )  # fmt: skip
    finally:
        predictor.close()
    spec = dataset_input(manifest, file)
    rows = samples.inputs[spec.name]
    if not np.issubdtype(rows.dtype, np.number) or rows.ndim < 1:
        raise DriftError(f"{name}: its samples of {spec.name!r} are not numbers")
    flat = rows.reshape(rows.shape[0], -1).astype(np.float64)
    source = f"dataset {resolved.dataset.name} through {name}'s steps"
    if drawn is not None:
        source += f" ({limit:,} of its {total:,} rows drawn at random, seed {seed})"
    return build_profile(
        check(flat, source), source=source, reconstruction=reconstruction, seed=seed
    )


def drift_detector(
    profile: DriftProfile,
    *,
    window: int = 500,
    interval_s: float | None = None,
    min_rows: int = 30,
    arl: float = 1000.0,
    drift_share: float = 0.5,
    test: str = "auto",
    background: bool = True,
    on_result: Callable[[DriftResult], None] | None = None,
    univariate: bool = True,
    checker: str | None = None,
) -> DriftDetector:
    """A detector over windows of ``window`` rows (or ``interval_s`` seconds with at least
    ``min_rows``) of live traffic against ``profile``, calibrated to one false alarm per
    ``arl`` windows on average. Call ``observe(rows)`` per request (a lock and a copy),
    ``latest()`` for the newest window's ``DriftResult``, ``close()`` at shutdown;
    ``univariate=False`` leaves the verdict to the profile's reconstruction models;
    ``checker`` names a ``reef.drift`` checker (built-in or plugin) that decides each window
    instead, calibrated to the same false-alarm rate."""
    from reef.drift.checkers import new_checker

    return DriftDetector(
        profile,
        window=window,
        interval_s=interval_s,
        min_rows=min_rows,
        arl=arl,
        drift_share=drift_share,
        test=test,
        background=background,
        on_result=on_result,
        univariate=univariate,
        checker=None if checker is None else new_checker(checker, online=True),
    )


def drift_check(
    reference: str | DriftProfile,
    current: str,
    *,
    key: str | None = None,
    test: str = "auto",
    drift_share: float = 0.5,
    alpha: float = 0.05,
    reconstruction: Sequence[str] = ("pca",),
    output: str | Path | None = None,
    detector: str | None = None,
) -> DriftReport:
    """``current`` (a file) against ``reference`` (a file, a dataset component, or a
    profile): each feature's test at ``alpha`` (``test``: auto, ks, chi2, psi, wasserstein,
    js), the dataset drifting when at least ``drift_share`` of the features do, and each
    reconstruction model's error against the reference's held-out error. ``output`` gets the
    HTML report. ``result.drifted`` is the verdict (``reef drift`` exits 1 on it).
    ``detector`` names a ``reef.drift`` checker (built-in or plugin) that gives the verdict
    instead, calibrated so that it is a false alarm with probability ``alpha`` at most."""
    from reef.drift import DriftError
    from reef.drift.data import load
    from reef.drift.profile import build_profile
    from reef.drift.reconstruction import MIN_ROWS
    from reef.drift.tests import check_share, check_test, compare
    from reef.files import check_output, write_output

    check_test(test)
    check_share(drift_share)
    if not 0 < alpha < 1:
        raise DriftError(f"--alpha: {alpha} is not in (0, 1)")
    _check_reconstruction(reconstruction)
    checker = None
    if detector is not None:
        from reef.drift.checkers import new_checker

        if test != "auto":
            raise DriftError("--test and --detector: give one (--detector ks is --test ks)")
        checker = new_checker(detector)
        if detector in RECONSTRUCTIONS and detector not in reconstruction:
            reconstruction = [*reconstruction, detector]  # the profile needs its model
    target = Path(output) if output is not None else None
    if target is not None:
        check_output(target, "drift report")
    notes: list[str] = []
    cur = load(current, key=key, dataset=False)
    if isinstance(reference, DriftProfile):
        profile = reference
    else:
        ref = load(reference, key=key)
        _check_widths(cur.source, cur.data.shape[1], ref.source, ref.data.shape[1])
        rows, width = ref.data.shape
        wanted = list(reconstruction)
        if wanted and (rows < MIN_ROWS or width < 2):
            notes.append(
                f"no reconstruction check: it needs {MIN_ROWS} reference rows of 2 features "
                f"or more ({rows} of {width})"
            )
            wanted = []
        profile = build_profile(ref.data, source=ref.source, names=ref.names,
                                reconstruction=wanted)  # fmt: skip
    _check_widths(cur.source, cur.data.shape[1], profile.source, len(profile.features))
    if checker is None:
        result = compare(profile, cur.data, test=test, drift_share=drift_share, alpha=alpha)
    else:
        checker.fit(profile)
        checker.calibrate(alpha, drift_share)
        result = checker.score(cur.data)
        if not isinstance(result, DriftResult):
            raise DriftError(
                f"drift detector {detector!r} gave {type(result).__name__}, not a DriftResult"
            )
    report = DriftReport(
        reference=profile.source,
        current=cur.source,
        reference_rows=profile.rows,
        test=test if checker is None else f"detector {checker.name}",
        result=result,
        notes=notes,
    )
    report.verdict = _verdict(report)
    if target is not None:
        written = write_output(target, drift_report_html(report), "drift report")
        report.report = str(written)
    return report


def drift_report_html(report: DriftReport) -> str:
    """The report as one offline HTML page in Reef's report style, every value escaped."""
    from reef.report.builder import generator
    from reef.report.document import Column, Document, Paragraph, Section, Table
    from reef.report.html import render_html

    r = report.result
    verdict = _verdict(report)
    features = Table(
        columns=[
            Column("feature"),
            Column("kind"),
            Column("test"),
            Column("statistic", numeric=True),
            Column("p-value", numeric=True),
            Column("threshold", numeric=True),
            Column("drift"),
        ],
        rows=[
            [
                f.name,
                f.kind,
                f.test,
                f.statistic,
                f.p_value,
                f.threshold,
                "yes" if f.drift else "no",
            ]
            for f in r.features
        ],
        caption=f"{r.drifted_features} of {len(r.features)} features drift",
        collapsed=True,
    )
    sections = [
        Section(
            "Verdict",
            "verdict",
            [
                Paragraph(verdict, "warning" if r.drifted else "plain"),
                *(Paragraph(n, "note") for n in report.notes),
            ],
        ),
        Section("Features", "features", [features]),
    ]
    if r.reconstruction:
        table = Table(
            columns=[
                Column("method"),
                Column("mean error", numeric=True),
                Column("reference error", numeric=True),
                Column("threshold", numeric=True),
                Column("p-value", numeric=True),
                Column("drift"),
                Column("model"),
            ],
            rows=[
                [
                    x.method,
                    x.error,
                    x.reference_error,
                    x.threshold,
                    x.p_value,
                    "yes" if x.drift else "no",
                    x.note,
                ]
                for x in r.reconstruction
            ],
            caption="mean reconstruction error of the current rows against the reference's "
            "held-out rows",
        )
        sections.append(Section("Reconstruction", "reconstruction", [table]))
    document = Document(
        title=f"Drift: {report.current} against {report.reference}",
        facts=[
            ("reference", f"{report.reference} ({report.reference_rows:,} rows)"),
            ("current", f"{report.current} ({r.rows:,} rows)"),
            ("test", report.test),
            ("alpha", f"{r.alpha:g}"),
            ("drift share", f"{r.drift_share:g}"),
        ],
        sections=sections,
    )
    return render_html(document, generator=generator())


def _verdict(report: DriftReport) -> str:
    r = report.result
    head = "drift detected" if r.drifted else "no drift detected"
    parts = [
        f"{r.drifted_features} of {len(r.features)} features drift ({r.share:.0%}; the "
        f"dataset drifts from {r.drift_share:.0%})"
    ]
    parts += [f"{x.method} reconstruction {'drifts' if x.drift else 'does not drift'}"
              for x in r.reconstruction]  # fmt: skip
    return f"{head}: " + "; ".join(parts)


def _check_widths(current: str, width: int, reference: str, wanted: int) -> None:
    from reef.drift import DriftError

    if width != wanted:
        raise DriftError(
            f"{current}: {width} features; the reference ({reference}) has {wanted}",
            hint="both must have the same columns, in the same order",
        )


def _check_reconstruction(methods: Sequence[str]) -> None:
    from reef.drift import DriftError

    for method in methods:
        if method not in RECONSTRUCTIONS:
            raise DriftError(
                f"--reconstruction: unknown method {method!r}",
                hint="pca, autoencoder, or none",
            )
