"""Sweeps: a spec's Cartesian product of targets, backends, scenarios, settings and hardware
labels as cells, each keyed for resuming, and a sweep's state."""
