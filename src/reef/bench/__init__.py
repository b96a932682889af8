"""Benchmarks: MLPerf LoadGen scenarios, accuracy, and the runner that records a run."""
