"""Autotuning (reef-bench[tune]): Optuna drives the search over a space of settings; trials are
runs of Reef's benchmark; the frontier is noise-aware and pruning is Pareto-aware.

- ``reef.tune.space``: the search space, objectives, constraints and limits, parsed and
  checked before anything starts (``TuneSpec``);
- ``reef.tune.trials``: the trial runner seam (``TrialRequest`` in, stored ``RunRecord``s
  out), local by default; a cluster runner takes its place to run trials elsewhere;
- ``reef.tune.study``: the search itself (Optuna's ask and tell, probe and prune);
- ``reef.tune.report``: what a study found, read back from its storage and Reef's store.
"""

from __future__ import annotations

from reef.errors import ReefError


class TuneError(ReefError):
    """A tuning request that cannot be carried out as asked (exit 2): nothing was started."""
