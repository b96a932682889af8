"""Autotuning (reef-bench[tune]): Optuna drives the search over a space of settings; trials are
runs of Reef's benchmark; the frontier is noise-aware and pruning is Pareto-aware."""
