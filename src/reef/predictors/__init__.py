"""Framework backends (predictors) and the processing steps around them."""
