"""Drift checkers: the ``reef.drift`` entry-point group (``DRIFT_CHECKERS``, its group in
``reef.plugins``), chosen by name with ``reef drift --detector NAME`` and ``reef serve
--drift-detector NAME``.

A checker is what a plugin's entry point names: a class (or any factory) called with no
arguments, whose objects follow ``DriftChecker``:

- ``name``: what it is called in results and messages;
- ``fit(profile)``: learn from the reference profile (per-feature sketches, and the
  reconstruction models it was built with; no raw rows are kept);
- ``calibrate(alpha, drift_share)``: the threshold hook. ``alpha`` is the probability that one
  verdict (a window of live traffic: 1/arl; offline, ``--alpha``) is a false alarm when
  nothing drifted; ``drift_share`` is the share of features that must drift;
- ``score(rows)``: the verdict on ``rows`` (rows x features), a ``DriftResult``;
- ``calibrated`` (optional, True by default): False when ``calibrate`` cannot bound the false
  alarms (a fixed threshold); such a checker is refused online.

The built-ins are registered through the same group (Reef's own package metadata):

| name | checks |
| --- | --- |
| ``auto`` | each feature's test chosen by type and sample size, and the profile's reconstruction models (``reef serve``'s default) |
| ``ks``, ``chi2``, ``psi``, ``js`` | that test on every feature, decided by its p-value |
| ``wasserstein`` | Wasserstein distance on every feature, a fixed threshold (offline only) |
| ``pca``, ``autoencoder`` | that reconstruction model of the profile alone |

A built-in wins a name clash, a plugin that cannot be loaded is a ``DriftPluginError``
(exit 3), and an unknown name is a ``DriftError`` (exit 2): ``reef.plugins``' rules.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from reef.drift import DriftError
from reef.errors import PluginError
from reef.plugins import PluginGroup

if TYPE_CHECKING:
    import numpy as np

    from reef.drift.profile import Profile
    from reef.drift.result import DriftResult

GROUP = "reef.drift"
METHODS = ("fit", "calibrate", "score")


@runtime_checkable
class DriftChecker(Protocol):
    """What a ``reef.drift`` plugin's factory returns (see the module's docstring)."""

    name: str

    def fit(self, profile: Profile) -> None: ...

    def calibrate(self, alpha: float, drift_share: float) -> None: ...

    def score(self, rows: np.ndarray) -> DriftResult: ...


class DriftPluginError(PluginError, DriftError):
    """A drift checker plugin could not be loaded, or is not a checker (exit 3)."""


class TestChecker:
    """One univariate test on every feature (``auto``: chosen per feature), with the
    profile's reconstruction models too where ``reconstruction``; the window's ``alpha`` is
    split as ``reef.drift.online.calibrate`` does."""

    __test__ = False  # not a pytest class

    def __init__(self, test: str, *, reconstruction: bool = False) -> None:
        from reef.drift.tests import check_test

        self.name = test
        self.test = check_test(test)
        self.reconstruction = reconstruction
        self.calibrated = test != "wasserstein"  # no p-value: a fixed threshold
        self._profile: Profile | None = None
        self._alpha, self._alpha_reconstruction, self._share = 0.05, 0.05, 0.5

    def fit(self, profile: Profile) -> None:
        self._profile = profile if self.reconstruction else profile.model_copy(
            update={"reconstruction": []}
        )  # fmt: skip

    def calibrate(self, alpha: float, drift_share: float) -> None:
        from reef.drift.online import calibrate

        profile = self._fitted()
        found = calibrate(
            len(profile.features), len(profile.reconstruction), 1.0 / alpha, drift_share
        )
        self._alpha, self._alpha_reconstruction = found.alpha_feature, found.alpha_reconstruction
        self._share = drift_share

    def score(self, rows: np.ndarray) -> DriftResult:
        from reef.drift.tests import compare

        return compare(
            self._fitted(),
            rows,
            test=self.test,
            drift_share=self._share,
            alpha=self._alpha,
            reconstruction_alpha=self._alpha_reconstruction,
            p_values=self.calibrated,
        )

    def _fitted(self) -> Profile:
        if self._profile is None:
            raise DriftError(f"drift checker {self.name!r}: score or calibrate before fit")
        return self._profile


class ReconstructionChecker:
    """The profile's ``method`` reconstruction model alone: its mean error on the rows
    against the reference's held-out error, drift when p < alpha."""

    def __init__(self, method: str) -> None:
        self.name = method
        self.calibrated = True
        self._models: list[Any] = []
        self._alpha, self._share = 0.05, 0.5

    def fit(self, profile: Profile) -> None:
        self._models = [m for m in profile.reconstruction if m.method == self.name]
        if not self._models:
            raise DriftError(
                f"drift detector {self.name!r}: the reference profile has no {self.name} model",
                hint=f"build the reference with --reconstruction {self.name}",
            )

    def calibrate(self, alpha: float, drift_share: float) -> None:
        self._alpha, self._share = alpha, drift_share

    def score(self, rows: np.ndarray) -> DriftResult:
        from reef.drift.reconstruction import score
        from reef.drift.result import DriftResult

        found = [score(model, rows, self._alpha) for model in self._models]
        return DriftResult(
            rows=int(rows.shape[0]),
            features=[],
            drifted_features=0,
            share=0.0,
            drift_share=self._share,
            dataset_drift=False,
            reconstruction=found,
            drifted=any(r.drift for r in found),
            alpha=self._alpha,
        )


def auto() -> TestChecker:
    return TestChecker("auto", reconstruction=True)


def ks() -> TestChecker:
    return TestChecker("ks")


def chi2() -> TestChecker:
    return TestChecker("chi2")


def psi() -> TestChecker:
    return TestChecker("psi")


def js() -> TestChecker:
    return TestChecker("js")


def wasserstein() -> TestChecker:
    return TestChecker("wasserstein")


def pca() -> ReconstructionChecker:
    return ReconstructionChecker("pca")


def autoencoder() -> ReconstructionChecker:
    return ReconstructionChecker("autoencoder")


_BUILTINS = {
    name: f"reef.drift.checkers:{name}"
    for name in ("auto", "ks", "chi2", "psi", "js", "wasserstein", "pca", "autoencoder")
}


def _factory(name: str, obj: Any) -> Callable[[], Any]:
    if not callable(obj):
        raise TypeError(f"it provides {type(obj).__name__}, not a drift checker class or factory")
    if isinstance(obj, type):
        missing = [m for m in METHODS if not callable(getattr(obj, m, None))]
        if missing:
            raise TypeError(f"its class {obj.__name__} has no {', '.join(missing)}")
    return obj  # type: ignore[no-any-return]


DRIFT_CHECKERS: PluginGroup[Callable[[], Any]] = PluginGroup(
    GROUP, kind="drift checker", builtins=_BUILTINS, error=DriftPluginError, accept=_factory
)


def names() -> list[str]:
    return DRIFT_CHECKERS.names()


def new_checker(name: str, *, online: bool = False) -> DriftChecker:
    """A new checker ``name`` (built-in or plugin): an unknown name is a ``DriftError``
    (exit 2), a plugin that cannot be loaded or made a ``DriftPluginError`` (exit 3);
    ``online`` refuses one that cannot be calibrated."""
    if name not in DRIFT_CHECKERS:
        raise DriftError(
            f"unknown drift detector {name!r}",
            hint=f"one of {', '.join(names())} (`reef plugins` lists the {GROUP} group)",
        )
    factory = DRIFT_CHECKERS.load(name)
    entry = DRIFT_CHECKERS.get(name)
    assert entry is not None
    try:
        checker = factory()
    except DriftError:
        raise
    except Exception as exc:
        raise _broken(entry, f"making it failed: {type(exc).__name__}: {exc}") from exc
    missing = [m for m in METHODS if not callable(getattr(checker, m, None))]
    if missing:
        raise _broken(entry, f"what it made ({type(checker).__name__}) has no {', '.join(missing)}")
    if not isinstance(getattr(checker, "name", None), str):
        checker.name = name
    if online and not getattr(checker, "calibrated", True):
        raise DriftError(
            f"drift detector {name!r} has no calibrated threshold, so it cannot check live "
            "traffic (false alarms would not be bounded)",
            hint="choose one with p-values: " + ", ".join(n for n in names() if n != name),
        )
    return checker  # type: ignore[no-any-return]


def _broken(entry: Any, reason: str) -> DriftPluginError:
    return DriftPluginError(
        group=GROUP,
        name=entry.name,
        kind=DRIFT_CHECKERS.kind,
        source=entry.source,
        package=entry.package,
        reason=reason,
    )
