"""Drift: a reference profile of a model's inputs, univariate and multivariate tests against
it, and detectors over windows of live traffic; reef drift compares two datasets offline."""
