"""Portable workflows: init, run, bench, validate and reproduce; the steps' engine, cache,
tracker and checks."""
